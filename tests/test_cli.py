"""The command line end to end, as a separate process: exit codes, stdout, stderr format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .helpers import ROOT, run


def write(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text)
    return name


ENGINE = """\
apiVersion: lmcache.lmcache.ai/v1alpha1
kind: LMCacheEngine
metadata:
  name: cache
spec:
  l1:
    sizeGB: 60
"""


def test_render_example_succeeds_and_is_stable() -> None:
    first = run("render", "specs/")
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    kinds = [doc["kind"] for doc in yaml.safe_load_all(first.stdout)]
    assert kinds[:3] == ["ConfigMap", "ConfigMap", "ConfigMap"]
    assert set(kinds) == {"ConfigMap", "Service", "Deployment", "DaemonSet", "ServiceMonitor"}
    reordered = run("render", "specs/inprocess.yaml", "specs/coordinator.yaml", "specs/engines.yaml")
    assert reordered.stdout == first.stdout


def test_namespace_option_places_resources_without_one(tmp_path: Path) -> None:
    write(tmp_path, "e.yaml", ENGINE)
    out = run("render", "--namespace", "team-a", "e.yaml", cwd=tmp_path)
    assert out.returncode == 0
    assert {doc["metadata"]["namespace"] for doc in yaml.safe_load_all(out.stdout)} == {"team-a"}
    assert "tcp://cache.team-a.svc.cluster.local" in out.stdout
    default = run("render", "e.yaml", cwd=tmp_path)
    assert {doc["metadata"]["namespace"] for doc in yaml.safe_load_all(default.stdout)} == {"default"}


def test_invalid_input_exit_1_with_one_line_per_problem(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ENGINE.replace("sizeGB: 60", "sizeGB: 0\n  server:\n    port: 80"))
    write(tmp_path, "b.yaml", "kind: LMCacheEngine\n")
    out = run("render", "a.yaml", "b.yaml", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.splitlines() == [
        "a.yaml:7: spec.l1.sizeGB: must be greater than 0",
        "a.yaml:9: spec.server.port: must be in [1024, 65535]",
        "b.yaml:1: apiVersion: Required value",
        "lmcache-gitops: 3 problems found; nothing was written",
    ]


def test_validate_is_silent_on_success_and_fails_like_render(tmp_path: Path) -> None:
    write(tmp_path, "ok.yaml", ENGINE)
    ok = run("validate", "ok.yaml", cwd=tmp_path)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "", "")
    write(tmp_path, "dup.yaml", ENGINE + "---\n" + ENGINE)
    bad = run("validate", "dup.yaml", cwd=tmp_path)
    assert bad.returncode == 1
    assert (
        bad.stderr.splitlines()[0]
        == 'dup.yaml:12: metadata.name: LMCacheEngine "cache" is already defined in namespace "default" at dup.yaml:4'
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("", "f.yaml:1: no YAML document in the file (it is empty)"),
        ("# only a comment\n", "f.yaml:1: no YAML document in the file (it is empty)"),
        ("a: 1\na: 2\n", "f.yaml:2: a: duplicate key (first set at line 1)"),
        (
            "a: !!python/object:os.system x\n",
            "f.yaml:1: a: unsupported YAML tag tag:yaml.org,2002:python/object:os.system",
        ),
    ],
)
def test_yaml_problems(tmp_path: Path, text: str, line: str) -> None:
    write(tmp_path, "f.yaml", text)
    out = run("validate", "f.yaml", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.splitlines()[0] == line


def test_yaml_syntax_error(tmp_path: Path) -> None:
    write(tmp_path, "f.yaml", "a: [1, 2\nb: 3\n")
    out = run("validate", "f.yaml", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.startswith("f.yaml:2: invalid YAML: "), out.stderr


def test_missing_file_is_invalid_input(tmp_path: Path) -> None:
    out = run("render", "nope.yaml", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.splitlines()[0] == "nope.yaml:1: cannot read the file: No such file or directory"


def test_usage_errors_exit_2() -> None:
    assert run("render", "specs", "--env", "dev").returncode == 2
    assert run("schema", "LMCacheRouter").returncode == 2


def test_schema_per_kind_and_for_all() -> None:
    one = json.loads(run("schema", "LMCacheCoordinator").stdout)
    assert one["properties"]["kind"]["const"] == "LMCacheCoordinator"
    every = json.loads(run("schema").stdout)
    assert len(every["oneOf"]) == 6
    assert "io.k8s.api.core.v1.Toleration" in every["$defs"]


def test_committed_schemas_are_current() -> None:
    assert (ROOT / "lmcache.schema.json").read_text() == run("schema").stdout
    assert (ROOT / "lmcache-gitops.schema.json").read_text() == run("schema", "project").stdout


def test_help_has_an_example_for_every_command() -> None:
    for command in ("render", "validate", "schema", "compile", "diff", "verify", "init"):
        out = run(command, "--help")
        assert out.returncode == 0
        assert "lmcache-gitops" in out.stdout and "xample" in out.stdout, command


def test_internal_error_exits_3(tmp_path: Path) -> None:
    # A bug is simulated by breaking the renderer; the contract is exit 3 and no traceback.
    code = (
        "import sys, lmcache_gitops.inject.deploy as d\n"
        "d.build_resources = lambda *args, **kwargs: 1 / 0\n"
        "from lmcache_gitops.cli import main\n"
        "sys.exit(main(['render', 'e.yaml']))\n"
    )
    write(tmp_path, "e.yaml", ENGINE)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 3
    assert "internal error: ZeroDivisionError" in out.stderr
    assert "Traceback" not in out.stderr


def test_validate_and_render_work_on_the_project_in_this_folder(tmp_path: Path) -> None:
    assert run("validate", cwd=ROOT).returncode == 0
    every = yaml.safe_load_all(run("render", cwd=ROOT).stdout)
    namespaces = {obj["metadata"]["namespace"] for obj in every if obj["kind"] != "Namespace"}
    assert namespaces == {"llm-dev", "llm-staging", "llm"}  # every environment in turn
    prod = json.loads(run("render", "--env", "prod", "--format", "json", cwd=ROOT).stdout)
    assert prod == list(yaml.safe_load_all(run("render", "--env", "prod", cwd=ROOT).stdout))
    missing = run("validate", cwd=tmp_path)
    assert missing.returncode == 1 and missing.stderr.startswith("lmcache-gitops.yaml:1: cannot read the file")


def test_every_command_speaks_json(tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", ENGINE.replace("sizeGB: 60", "sizeGB: 0"))
    for argv in (("validate", "bad.yaml"), ("render", "bad.yaml")):
        out = run(*argv, "--format", "json", cwd=tmp_path)
        assert out.returncode == 1
        [problem] = json.loads(out.stdout)["problems"]
        assert problem["path"] == "spec.l1.sizeGB" and problem["file"] == "bad.yaml"
    assert json.loads(run("validate", "--format", "json", cwd=ROOT).stdout) == {"problems": []}
    verified = json.loads(run("verify", "--format", "json", cwd=ROOT).stdout)
    assert "overlays/prod/cache" in verified["folders"] and verified["kustomize"]


def test_quiet_prints_only_problems(tmp_path: Path) -> None:
    assert run("init", "--quiet", str(tmp_path / "p")).stdout == ""
    assert run("compile", "--check", "--quiet", cwd=tmp_path / "p").stdout == ""
    assert run("verify", "--quiet", cwd=tmp_path / "p").stdout == ""


def test_colour_only_where_wanted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lmcache_gitops.cli import cli

    write(tmp_path, "bad.yaml", ENGINE.replace("sizeGB: 60", "sizeGB: 0"))
    monkeypatch.chdir(tmp_path)
    coloured = CliRunner().invoke(cli, ["validate", "bad.yaml"], color=True)
    assert "\x1b[31m" in coloured.stderr  # a terminal: problems in red
    monkeypatch.setenv("NO_COLOR", "1")
    plain = CliRunner().invoke(cli, ["validate", "bad.yaml"], color=True)
    assert "\x1b[" not in plain.stderr and "spec.l1.sizeGB: must be greater than 0" in plain.stderr
    assert "\x1b[" not in run("validate", "bad.yaml", cwd=tmp_path).stderr  # not a terminal
