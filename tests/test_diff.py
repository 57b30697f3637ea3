"""`diff`: what a change deploys per environment, against a git revision, field by field."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import lmcache_gitops as lg
from lmcache_gitops.gitops.diff import field_diffs, object_diffs

from .helpers import resource, run, workload, write_project


def _deployment(args: list[str], env: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "vllm"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "sidecar", "image": "envoy"},
                        {"name": "vllm", "args": args, "env": env},
                    ]
                }
            }
        },
    }


def _lines(old: Any, new: Any) -> list[str]:
    return [str(d) for d in field_diffs(old, new)]


def test_an_inserted_flag_is_one_insertion_in_place() -> None:
    old = _deployment(["--model", "m", "--port", "8000"], [])
    new = _deployment(["--model", "m", "--max-model-len", "8192", "--port", "8000"], [])
    assert _lines(old, new) == [
        'spec.template.spec.containers[vllm].args: inserted "--max-model-len 8192" after "--model m"'
    ]


def test_removed_and_replaced_runs_and_the_start_of_a_list() -> None:
    old = _deployment(["--model", "m", "--enforce-eager", "--port", "8000"], [])
    new = _deployment(["-v", "--model", "m", "--port", "9000"], [])
    assert _lines(old, new) == [
        'spec.template.spec.containers[vllm].args: deleted "--enforce-eager" after "--model m"',
        'spec.template.spec.containers[vllm].args: inserted "-v" at the start',
        'spec.template.spec.containers[vllm].args: replaced "8000" with "9000" after "--port"',
    ]


def test_named_items_are_named_and_moves_are_moves() -> None:
    old = _deployment([], [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    new = _deployment([], [{"name": "B", "value": "3"}, {"name": "C", "value": "1"}])
    new["spec"]["template"]["spec"]["containers"].reverse()
    assert _lines(old, new) == [
        "spec.template.spec.containers[sidecar]: moved from position 1 to 2",
        "spec.template.spec.containers[vllm]: moved from position 2 to 1",
        'spec.template.spec.containers[vllm].env[A]: removed (was {"name": "A", "value": "1"})',
        "spec.template.spec.containers[vllm].env[B].value: 2 -> 3",
        'spec.template.spec.containers[vllm].env[C]: added {"name": "C", "value": "1"}',
    ]


def test_a_multi_line_string_shows_its_changed_lines() -> None:
    old = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x.json": '{\n  "host": "a",\n  "port": 1\n}'}}
    new = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x.json": '{\n  "host": "b",\n  "port": 1\n}'}}
    assert _lines(old, new) == ['data[x.json] (line 2): "host": "a", -> "host": "b",']


def test_objects_added_removed_and_moved_to_another_namespace() -> None:
    moved = {"kind": "Service", "metadata": {"name": "s", "namespace": "a"}}
    diffs = object_diffs(
        [moved, {"kind": "Service", "metadata": {"name": "gone"}}],
        [{**moved, "metadata": {"name": "s", "namespace": "b"}}, {"kind": "Service", "metadata": {"name": "new"}}],
    )
    assert [line for d in diffs for line in d.lines()] == [
        "Service/gone  removed",
        "Service/new  added",
        "Service/s  metadata.namespace: a -> b",
    ]


LEAVES = st.recursive(
    st.integers(0, 3) | st.sampled_from(["a", "b"]),
    lambda children: st.dictionaries(st.sampled_from(["k", "l", "m"]), children, min_size=1, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _paths(item, (*path, key))]
    return [path]


@given(LEAVES.filter(lambda v: isinstance(v, dict)), st.data())
def test_a_changed_leaf_is_exactly_one_change_at_its_path(tree: dict[str, Any], data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(_paths(tree)))
    changed = json.loads(json.dumps(tree))
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "new-value"
    [diff] = field_diffs(tree, changed)
    assert (diff.path, diff.change, diff.new) == (".".join(path), "changed", "new-value")
    assert field_diffs(tree, json.loads(json.dumps(tree))) == []


# ---- the command, on a git repository ----


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=folder, check=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    vllm = workload(engine="kv-cache")
    del vllm["metadata"]["namespace"]
    write_project(
        tmp_path,
        [resource("LMCacheEngine", name="kv-cache", namespace=None), vllm],
        {
            "dev": {"namespace": "llm-dev"},
            "prod": {"namespace": "llm", "overrides": {"kv-cache": {"spec": {"l1": {"sizeGB": 120}}}}},
        },
    )
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def test_a_reviewer_sees_what_the_change_deploys_per_environment(repo: Path) -> None:
    project = repo / "lmcache-gitops.yaml"
    assert run("diff", "--exit-code", cwd=repo).returncode == 0
    project.write_text(project.read_text().replace("sizeGB: 120", "sizeGB: 160"))
    result = run("diff", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        'prod  DaemonSet/kv-cache  spec.template.spec.containers[lmcache].args: replaced "120.0" with "160.0" after "--l1-size-gb"',
        "prod  DaemonSet/kv-cache  spec.template.spec.containers[lmcache].resources.limits.memory: 188Gi -> 248Gi",
        "prod  DaemonSet/kv-cache  spec.template.spec.containers[lmcache].resources.requests.memory: 125Gi -> 165Gi",
        "prod  DaemonSet/kv-cache  spec.template.spec.containers[lmcache].startupProbe.failureThreshold: 30 -> 32",
    ]
    assert run("diff", "--exit-code", "--quiet", cwd=repo).returncode == 1
    assert run("diff", "--env", "dev", "--exit-code", cwd=repo).returncode == 0
    data = json.loads(run("diff", "--format", "json", "--env", "prod", cwd=repo).stdout)
    assert data["base"] == "HEAD" and data["differs"] is True
    [engine] = data["environments"]["prod"]
    assert engine["object"] == "DaemonSet/kv-cache" and engine["change"] == "changed"
    assert {
        "path": "spec.template.spec.containers[lmcache].resources.requests.memory",
        "change": "changed",
        "old": "125Gi",
        "new": "165Gi",
    } in engine["fields"]


def test_a_new_environment_deploys_everything_and_a_removed_one_nothing(repo: Path) -> None:
    project = repo / "lmcache-gitops.yaml"
    project.write_text(project.read_text().replace("dev:", "qa:"))
    lines = run("diff", cwd=repo).stdout.splitlines()
    assert "dev  DaemonSet/kv-cache  removed" in lines and "qa   DaemonSet/kv-cache  added" in lines
    unknown = run("diff", "--env", "nope", cwd=repo)
    assert unknown.returncode == 1 and 'no environment "nope" (there are "dev", "prod", "qa")' in unknown.stderr


def test_the_base_is_any_revision_and_its_problems_are_named_by_it(repo: Path) -> None:
    project = repo / "lmcache-gitops.yaml"
    project.write_text(project.read_text().replace("sizeGB: 120", "sizeGB: -1"))
    _git(repo, "commit", "-q", "-am", "broken")
    project.write_text(project.read_text().replace("sizeGB: -1", "sizeGB: 120"))
    broken = run("diff", cwd=repo)
    assert broken.returncode == 1
    assert broken.stderr.startswith("HEAD:lmcache-gitops.yaml:"), broken.stderr
    assert "must be greater than 0" in broken.stderr
    assert run("diff", "--base", "HEAD~1", "--exit-code", cwd=repo).returncode == 0
    for revision, reason in (("no-such-rev", "git archive"), ("--output=/tmp/x", "is not a git revision")):
        result = run("diff", "--base", revision, cwd=repo)
        assert result.returncode == 1 and reason in result.stderr, result.stderr


def test_the_library_gives_the_same(repo: Path) -> None:
    result = lg.diff_project(repo / "lmcache-gitops.yaml")
    assert not result.differs and result.text().startswith("lmcache-gitops: no environment deploys")
