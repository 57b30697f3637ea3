"""Environments shape the user's workloads: overrides merged as strategic-merge patches before
wiring, `include` choosing which to deploy, and every problem at its line in the project file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import lmcache_gitops as lg

from .helpers import find, kustomize_build, resource, workload, write_project


def _vllm() -> dict[str, Any]:
    deployment = workload()
    deployment["metadata"] = {"name": "vllm"}
    deployment["spec"]["replicas"] = 1
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    return deployment


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "vllm"},
    "spec": {"selector": {"app": "vllm"}, "ports": [{"port": 8000}]},
}


def _project(folder: Path, environments: dict[str, Any], *extra: dict[str, Any]) -> Path:
    return write_project(
        folder, [resource("LMCacheEngine", name="test", namespace=None), _vllm(), *extra], environments
    )


def _problems(project: Path) -> list[str]:
    with pytest.raises(lg.InvalidInput) as err:
        lg.load_project(project)
    return [f"{p.source.rpartition('/')[2]}:{p.line}: {p.path}: {p.message}" for p in err.value.problems]


CONTAINER_OVERRIDE = {"name": "vllm", "args": ["Qwen/Qwen3-32B"], "env": [{"name": "B", "value": "20"}]}
OVERRIDE = {"spec": {"replicas": 3, "template": {"spec": {"containers": [CONTAINER_OVERRIDE]}}}}


def test_an_override_is_merged_by_kubernetes_merge_keys_and_wired_after(tmp_path: Path) -> None:
    project = _project(tmp_path, {"prod": {"namespace": "llm", "overrides": {"vllm": OVERRIDE}}})
    lg.compile_project(project)
    env = lg.load_project(project).build.environment("prod")
    deployment = find(env.objects(), "Deployment", "vllm")
    assert deployment["spec"]["replicas"] == 3
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "vllm/vllm-openai"  # kept: containers merge by name
    assert (
        container["args"][0] == "Qwen/Qwen3-32B" and "--kv-transfer-config" in container["args"]
    )  # replaced, then wired
    env_vars = {e["name"]: e.get("value") for e in container["env"]}
    assert env_vars["A"] == "1" and env_vars["B"] == "20"  # env merges by name
    assert kustomize_build(tmp_path / "overlays" / "prod") == env.objects()


def test_include_chooses_the_workloads_too(tmp_path: Path) -> None:
    environments = {"dev": {"namespace": "dev", "include": ["test", "Service/vllm"]}, "prod": {"namespace": "prod"}}
    project = _project(tmp_path, environments, SERVICE)
    lg.compile_project(project)
    build = lg.load_project(project).build
    assert [o["kind"] for o in build.environment("dev").tiers()["workloads"]] == ["Service"]
    assert {o["kind"] for o in build.environment("prod").tiers()["workloads"]} == {"Service", "Deployment"}
    assert kustomize_build(tmp_path / "overlays" / "dev") == build.environment("dev").objects()


def test_an_override_that_breaks_the_wiring_is_the_skip_it_causes_at_its_line(tmp_path: Path) -> None:
    breaking = {"spec": {"template": {"spec": {"containers": [{"name": "vllm", "command": ["sh", "-c"]}]}}}}
    project = _project(tmp_path, {"prod": {"namespace": "llm", "overrides": {"vllm": breaking}}})
    [problem] = _problems(project)
    assert problem.startswith(
        "lmcache-gitops.yaml:10: environments.prod.overrides.vllm.spec.template.spec.containers[0].command: "
        "the LMCache webhook would skip this pod (command-override)"
    ), problem


def test_an_override_with_a_field_the_kind_does_not_have_is_an_error_at_its_line(tmp_path: Path) -> None:
    project = _project(tmp_path, {"prod": {"namespace": "llm", "overrides": {"vllm": {"spec": {"replicass": 2}}}}})
    assert _problems(project) == [
        "lmcache-gitops.yaml:7: environments.prod.overrides.vllm.spec.replicass: unknown field; did you mean replicas?"
    ]


def test_a_name_two_objects_share_must_say_which(tmp_path: Path) -> None:
    project = _project(tmp_path, {"prod": {"namespace": "llm", "overrides": {"vllm": {"labels": {"a": "b"}}}}}, SERVICE)
    assert _problems(project) == [
        'lmcache-gitops.yaml:5: environments.prod.overrides.vllm: names "Deployment/vllm" and "Service/vllm": '
        "write <kind>/<name> for one of your objects"
    ]
    project = _project(
        tmp_path, {"prod": {"namespace": "llm", "overrides": {"Service/vllm": {"labels": {"a": "b"}}}}}, SERVICE
    )
    service = find(lg.load_project(project).build.environment("prod").objects(), "Service", "vllm")
    assert service["metadata"]["labels"]["a"] == "b"


def _router(folder: Path, **settings: Any) -> Path:
    router = _vllm()
    del router["spec"]["template"]["metadata"]["annotations"]  # a plain router, not wired
    router["spec"]["template"]["metadata"]["labels"] = {"app": "vllm"}
    router["spec"]["template"]["spec"]["containers"][0]["args"] = [
        "--prefill",
        "http://test.default.svc.cluster.local:8001",
    ]
    documents = [resource("LMCacheEngine", name="test", namespace=None), router]
    return write_project(folder, documents, {"dev": {"namespace": "default"}, "prod": {"namespace": "llm"}}, **settings)


def test_a_service_address_with_another_namespace_is_an_error_or_rewritten(tmp_path: Path) -> None:
    assert _problems(_router(tmp_path / "a")) == [
        'specs.yaml:26: spec.template.spec.containers[0].args[1]: addresses Service "test" in namespace "default", '
        'but environment "prod" deploys it in "llm" (kustomize does not rewrite strings): write the short name '
        '"test", or set rewriteServiceAddresses: true in the project file (in environment "prod")'
    ]
    project = _router(tmp_path / "b", rewriteServiceAddresses=True)
    lg.compile_project(project)
    build = lg.load_project(project).build
    for env, namespace in (("dev", "default"), ("prod", "llm")):
        built = kustomize_build(tmp_path / "b" / "overlays" / env)
        assert built == build.environment(env).objects()
        args = find(built, "Deployment", "vllm")["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args == ["--prefill", f"http://test.{namespace}.svc.cluster.local:8001"]
