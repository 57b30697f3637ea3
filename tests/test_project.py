"""The project file: its rules and messages, overrides, and the patches of the tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import lmcache_gitops as lg
from lmcache_gitops.gitops import smp
from lmcache_gitops.gitops.environments import merge_patch
from lmcache_gitops.k8s.kinds import merge_keys

from .helpers import resource, write_project

ENGINE = resource("LMCacheEngine", name="cache", namespace=None)
COORDINATOR = resource("LMCacheCoordinator", name="coord", namespace=None)


def problems_of(
    tmp_path: Path, environments: Any, documents: list[dict[str, Any]] | None = None, **settings: Any
) -> list[str]:
    project = write_project(tmp_path, documents or [ENGINE, COORDINATOR], environments, **settings)
    with pytest.raises(lg.InvalidInput) as err:
        lg.load_project(project)
    return [str(p).replace(f"{tmp_path}/", "") for p in err.value.problems]


@pytest.mark.parametrize(
    ("environments", "settings", "expected"),
    [
        (
            {"Dev": {"namespace": "x"}},
            {},
            "lmcache-gitops.yaml:2: environments.Dev: environment name must be a lowercase RFC 1123 label",
        ),
        (
            {"dev": {"namespace": "X_1"}},
            {},
            "lmcache-gitops.yaml:3: environments.dev.namespace: must be a lowercase RFC 1123 label",
        ),
        ({"dev": {}}, {}, "lmcache-gitops.yaml:2: environments.dev.namespace: Required value"),
        (
            {"dev": {"namespace": "x", "replicas": 2}},
            {},
            "lmcache-gitops.yaml:4: environments.dev.replicas: unknown field",
        ),
        (
            {"dev": {"namespace": "x", "include": ["nope"]}},
            {},
            'lmcache-gitops.yaml:4: environments.dev.include[0]: no resource or workload named "nope" among the inputs (they are "cache", "coord")',
        ),
        (
            {"dev": {"namespace": "x", "overrides": {"nope": {}}}},
            {},
            'lmcache-gitops.yaml:5: environments.dev.overrides.nope: no resource or workload named "nope"',
        ),
        (
            {"dev": {"namespace": "x", "include": ["coord"], "overrides": {"cache": {}}}},
            {},
            'environments.dev.overrides.cache: "cache" is not in this environment\'s include list',
        ),
        (
            {"dev": {"namespace": "x", "labels": {"app.kubernetes.io/name": "x"}}},
            {},
            "environments.dev.labels[app.kubernetes.io/name]: app.kubernetes.io/name is a label that selectors use",
        ),
        (
            {"dev": {"namespace": "x", "labels": {"bad key!": "x"}}},
            {},
            'environments.dev.labels[bad key!]: key "bad key!" is invalid',
        ),
        (
            {"dev": {"namespace": "x", "overrides": {"cache": {"annotations": {"a/b/c": "x"}}}}},
            {},
            "environments.dev.overrides.cache.annotations[a/b/c]: key prefix",
        ),
        (
            {"dev": {"namespace": "x"}},
            {"specs": ["nowhere/*.yaml"]},
            "lmcache-gitops.yaml:5: specs[0]: matches no file in",
        ),
        ({"dev": {"namespace": "x"}}, {"specs": []}, "lmcache-gitops.yaml:4: specs: must list at least one glob"),
        (
            {"dev": {"namespace": "x"}},
            {"output": "/srv/tree"},
            "lmcache-gitops.yaml:4: output: must be a relative path (the same on every machine)",
        ),
        ({}, {}, "lmcache-gitops.yaml:1: environments: must declare at least one environment"),
        (
            {"dev": {"namespace": "x", "overrides": {"cache": {"spec": {"l1": {"sizeGB": -1}}}}}},
            {},
            "lmcache-gitops.yaml:8: environments.dev.overrides.cache.spec.l1.sizeGB: must be greater than 0",
        ),
        (
            {"dev": {"namespace": "x", "overrides": {"cache": {"spec": {"l1": None}}}}},
            {},
            "lmcache-gitops.yaml:7: environments.dev.overrides.cache.spec.l1: Required value",
        ),
        (
            {
                "dev": {
                    "namespace": "x",
                    "overrides": {"cache": {"spec": {"tolerations": [{"tolerationSeconds": "x"}]}}},
                }
            },
            {},
            "environments.dev.overrides.cache.spec.tolerations[0].tolerationSeconds",
        ),
        (
            {"dev": {"namespace": "x", "overrides": {"cache": {"spec": "big"}}}},
            {},
            "environments.dev.overrides.cache.spec: must be a mapping",
        ),
    ],
)
def test_project_rules(tmp_path: Path, environments: Any, settings: dict[str, Any], expected: str) -> None:
    found = problems_of(tmp_path, environments, **settings)
    assert any(expected in p for p in found), found


def test_a_reference_an_include_breaks_is_reported_at_the_include(tmp_path: Path) -> None:
    engine = resource("LMCacheEngine", name="cache", namespace=None, **{"coordinator.ref.name": "coord"})
    found = problems_of(tmp_path, {"dev": {"namespace": "x", "include": ["cache"]}}, [engine, COORDINATOR])
    assert found == [
        'lmcache-gitops.yaml:3: environments.dev.include: leaves out LMCacheCoordinator "coord", which '
        'LMCacheEngine "cache" needs: add "coord" to this include'
    ]


def test_a_spec_problem_that_only_an_environment_has_names_the_environment(tmp_path: Path) -> None:
    engine = resource("LMCacheEngine", name="cache", namespace=None, **{"coordinator.ref.name": "coord"})
    environments = {
        "dev": {"namespace": "x", "overrides": {"cache": {"spec": {"coordinator": {"ref": {"name": "c"}}}}}}
    }
    found = problems_of(tmp_path, environments, [engine, COORDINATOR])
    assert found == [
        'lmcache-gitops.yaml:9: environments.dev.overrides.cache.spec.coordinator.ref.name: no LMCacheCoordinator "c" '
        'in namespace "x" among the input files'
    ]


def test_a_problem_of_the_spec_itself_is_reported_once(tmp_path: Path) -> None:
    bad = resource("LMCacheEngine", name="cache", namespace=None, **{"l1.sizeGB": 0})
    found = problems_of(tmp_path, {"a": {"namespace": "a"}, "b": {"namespace": "b"}}, [bad])
    assert found == ["specs/specs.yaml:7: spec.l1.sizeGB: must be greater than 0"]


def test_names_are_unique_across_namespaces(tmp_path: Path) -> None:
    twins = [
        resource("LMCacheEngine", name="cache", namespace="a"),
        resource("LMCacheEngine", name="cache", namespace="b"),
    ]
    found = problems_of(tmp_path, {"a": {"namespace": "a"}}, twins)
    assert len(found) >= 1 and "resource names must be unique in a project" in found[0], found


def test_every_problem_at_once(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        {
            "Bad": {"namespace": "x"},
            "dev": {"namespace": "x", "overrides": {"nope": {}, "cache": {"spec": {"l1": {"sizeGB": 0}}}}},
        },
    )
    assert len(found) == 3, found


def test_overrides_reach_only_their_environment(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        [ENGINE],
        {
            "dev": {
                "namespace": "dev",
                "overrides": {"cache": {"spec": {"l1": {"sizeGB": 2}}, "labels": {"tier": "low"}}},
            },
            "prod": {"namespace": "prod", "annotations": {"owner": "me"}},
        },
    )
    loaded = lg.load_project(project)
    dev = {o["kind"]: o for o in loaded.build.environment("dev").objects()}
    prod = {o["kind"]: o for o in loaded.build.environment("prod").objects()}
    assert "2.0" in dev["DaemonSet"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "10.0" in prod["DaemonSet"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert all(o["metadata"]["labels"]["tier"] == "low" for o in loaded.build.environment("dev").objects())
    assert prod["DaemonSet"]["spec"]["template"]["metadata"]["annotations"] == {"owner": "me"}
    assert prod["ConfigMap"]["metadata"]["annotations"] == {"owner": "me"}
    assert "tcp://cache.prod.svc.cluster.local" in prod["ConfigMap"]["data"]["kv-transfer-config.json"]


# RFC 7386 appendix A, the merge patch test vectors.
@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7386(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def _pod(env: list[dict[str, Any]], ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "env": env}
    if ports is not None:
        container["ports"] = ports
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "x", "namespace": "n"},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


def _env(*pairs: str) -> list[dict[str, str]]:
    return [{"name": p.split("=")[0], "value": p.split("=")[1]} for p in pairs]


def _patched_env(base: list[dict[str, str]], target: list[dict[str, str]]) -> Any:
    patch = smp.patch(_pod(base), _pod(target))
    assert patch is not None
    return patch["spec"]["template"]["spec"]["containers"]


@pytest.mark.parametrize(
    ("base", "target", "containers"),
    [
        # The first item changes: the patch names it alone.
        (_env("A=1", "B=2"), _env("A=9", "B=2"), [{"name": "c", "env": [{"name": "A", "value": "9"}]}]),
        # The last item changes: kustomize would move it first, so the items before it are named too.
        (_env("A=1", "B=2"), _env("A=1", "B=9"), [{"name": "c", "env": [{"name": "A"}, {"name": "B", "value": "9"}]}]),
        # An item goes away: a delete directive.
        (_env("A=1", "B=2"), _env("A=1"), [{"name": "c", "env": [{"name": "B", "$patch": "delete"}]}]),
        # A new item at the end: everything before it is named, in order.
        (_env("A=1"), _env("A=1", "C=3"), [{"name": "c", "env": [{"name": "A"}, {"name": "C", "value": "3"}]}]),
    ],
)
def test_keyed_lists_are_patched_item_by_item_in_order(base: Any, target: Any, containers: Any) -> None:
    assert _patched_env(base, target) == containers


def test_lists_keyed_on_two_fields_are_replaced_whole() -> None:
    base = _pod([], [{"containerPort": 1, "protocol": "TCP"}])
    target = _pod([], [{"containerPort": 2, "protocol": "TCP"}])
    patch = smp.patch(base, target)
    assert patch is not None
    assert patch["spec"]["template"]["spec"]["containers"] == [
        {"name": "c", "ports": [{"$patch": "replace"}, {"containerPort": 2, "protocol": "TCP"}]}
    ]


def test_lists_without_a_key_are_carried_whole_and_removed_fields_are_null() -> None:
    base = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "x", "namespace": "n"}, "spec": {"a": [1, 2], "b": 1}}
    target = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "x", "namespace": "n"}, "spec": {"a": [2]}}
    assert smp.patch(base, target) == {
        "apiVersion": "v1",
        "kind": "X",
        "metadata": {"name": "x", "namespace": "n"},
        "spec": {"a": [2], "b": None},
    }
    assert smp.patch(base, base) is None


def test_a_keyed_list_with_a_repeated_key_is_an_error_naming_the_resource(tmp_path: Path) -> None:
    engine = resource(
        "LMCacheEngine", name="cache", namespace=None, env=[{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]
    )
    changed = {"cache": {"spec": {"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "3"}]}}}
    project = write_project(tmp_path, [engine], {"dev": {"namespace": "dev", "overrides": changed}})
    with pytest.raises(lg.InvalidInput) as err:
        lg.compile_project(project)
    [problem] = err.value.problems
    assert problem.path == "metadata.name"
    assert (
        'DaemonSet "cache" cannot be patched: spec.template.spec.containers.env: every item needs its own name'
        in problem.message
    )
    assert problem.message.endswith('(in environment "dev")')
    assert not (tmp_path / "bases").exists()


@pytest.mark.parametrize(
    ("kind", "path", "keys"),
    [
        ("Deployment", ("spec", "template", "spec", "containers"), ("name",)),
        ("DaemonSet", ("spec", "template", "spec", "volumes"), ("name",)),
        ("StatefulSet", ("spec", "template", "spec", "initContainers", "env"), ("name",)),
        ("Job", ("spec", "template", "spec", "containers", "volumeMounts"), ("mountPath",)),
        ("CronJob", ("spec", "jobTemplate", "spec", "template", "spec", "imagePullSecrets"), ("name",)),
        ("Pod", ("spec", "containers", "ports"), ("containerPort", "protocol")),
        ("Service", ("spec", "ports"), ("port", "protocol")),
        ("Deployment", ("spec", "template", "spec", "containers", "args"), None),
        ("Deployment", ("spec", "template", "spec", "tolerations"), None),
        ("Deployment", ("spec", "template", "metadata", "labels"), None),
        ("ConfigMap", ("data",), None),
    ],
)
def test_merge_keys_come_from_the_schemas_list_metadata(kind: str, path: tuple[str, ...], keys: Any) -> None:
    assert merge_keys(kind, path) == keys
