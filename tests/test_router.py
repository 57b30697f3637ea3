"""VllmRouter (operator-spec §b.5, §d.5): the operator's Deployment and Service exactly, its
Services checked among the user's, and environments that move, override and include it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import lmcache_gitops as lg

from .helpers import companions, find, kustomize_build, problems, render, resource, service, write_project

R = "VllmRouter"
SELECTOR = {
    "app.kubernetes.io/instance": "test",
    "app.kubernetes.io/managed-by": "lmcache-operator",
    "app.kubernetes.io/name": "lmcache-router",
}
LABELS = {**SELECTOR, "app.kubernetes.io/component": "router"}


def _objects(**fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The router's Deployment and Service."""
    objects = render(resource(R, **fields), *companions(R))
    return find(objects, "Deployment", "test"), find(objects, "Service", "test")


def test_the_defaults_give_the_operators_deployment_and_service() -> None:
    deployment, svc = _objects()
    assert deployment == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"labels": LABELS, "name": "test", "namespace": "ns"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": SELECTOR},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "containers": [
                        {
                            "args": [
                                "exec vllm-router --policy round_robin --vllm-pd-disaggregation"
                                " --prefill http://vllm-prefill.ns.svc.cluster.local:8000"
                                " --decode http://vllm-decode.ns.svc.cluster.local:8000"
                                " --host 0.0.0.0 --port 30000 --intra-node-data-parallel-size 1"
                            ],
                            "command": ["/bin/sh", "-c"],
                            "image": "vllm/vllm-router:nightly",
                            "imagePullPolicy": "IfNotPresent",
                            "name": "router",
                            "ports": [{"containerPort": 30000, "name": "http", "protocol": "TCP"}],
                            "readinessProbe": {
                                "httpGet": {"path": "/health", "port": 30000},
                                "initialDelaySeconds": 5,
                                "periodSeconds": 10,
                            },
                        }
                    ]
                },
            },
        },
    }
    assert svc == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"labels": LABELS, "name": "test", "namespace": "ns"},
        "spec": {
            "ports": [{"name": "http", "port": 30000, "protocol": "TCP", "targetPort": 30000}],
            "selector": SELECTOR,
            "type": "ClusterIP",
        },
    }


def test_every_field_lands_where_the_operator_puts_it() -> None:
    tolerations = [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]
    env = [{"name": "RUST_LOG", "value": "debug"}]
    deployment, svc = _objects(
        port=31000,
        policy="session_based",
        replicas=3,
        intraNodeDataParallelSize=4,
        serviceType="LoadBalancer",
        nodeSelector={"pool": "cpu"},
        tolerations=tolerations,
        env=env,
        priorityClassName="high",
        image={"repository": "example.com/router", "tag": "v1", "pullPolicy": "Always"},
    )
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod.pop("containers")
    assert pod == {"nodeSelector": {"pool": "cpu"}, "priorityClassName": "high", "tolerations": tolerations}
    assert deployment["spec"]["replicas"] == 3
    assert container["args"] == [
        "exec vllm-router --policy session_based --vllm-pd-disaggregation"
        " --prefill http://vllm-prefill.ns.svc.cluster.local:8000"
        " --decode http://vllm-decode.ns.svc.cluster.local:8000"
        " --host 0.0.0.0 --port 31000 --intra-node-data-parallel-size 4"
    ]
    assert (container["image"], container["imagePullPolicy"], container["env"]) == (
        "example.com/router:v1",
        "Always",
        env,
    )
    assert container["readinessProbe"]["httpGet"]["port"] == 31000
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["spec"]["ports"] == [{"name": "http", "port": 31000, "protocol": "TCP", "targetPort": 31000}]


@pytest.mark.parametrize(
    ("image", "reference"),
    [
        (None, "vllm/vllm-router:nightly"),
        ({}, "lmcache/vllm-openai:latest"),  # the CRD's image defaults fill a block that is there
        ({"tag": "v2"}, "lmcache/vllm-openai:v2"),
        ({"repository": "", "tag": ""}, "vllm/vllm-router:nightly"),  # empty falls back to the router's
        ({"repository": "r"}, "r:latest"),
    ],
)
def test_the_image_is_the_routers_unless_a_block_is_given(image: dict[str, str] | None, reference: str) -> None:
    fields = {} if image is None else {"image": image}
    [container] = _objects(**fields)[0]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == reference


def test_an_empty_service_type_is_cluster_ip() -> None:
    assert _objects(serviceType="")[1]["spec"]["type"] == "ClusterIP"


def test_an_external_name_service_takes_any_port() -> None:
    external = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "vllm-decode", "namespace": "ns"}}
    external["spec"] = {"type": "ExternalName", "externalName": "decode.example.com"}
    assert problems(resource(R, **{"decode.port": 9000}), companions(R)[0], external) == []


def test_a_service_in_another_namespace_is_not_there() -> None:
    assert problems(resource(R), service("vllm-prefill", "ns"), service("vllm-decode", "other")) == [
        'spec.decode.serviceName: no Service "vllm-decode" in namespace "ns" among the input files '
        '(Services there: "vllm-prefill")'
    ]


def test_a_broken_service_is_reported_once() -> None:
    broken = service("vllm-decode")
    broken["metadata"]["labels"] = {"a b": "c"}
    [problem] = problems(resource(R), companions(R)[0], broken)
    assert problem.startswith("metadata.labels[a b]: key")


def test_a_router_and_an_engine_of_one_name_collide() -> None:
    found = problems(resource(R), resource("LMCacheEngine"), *companions(R))
    assert any('generates Deployment "test", Service "test"' in p or 'Service "test"' in p for p in found), found


def _project(folder: Path, environments: dict[str, Any]) -> Path:
    return write_project(folder, [resource(R, namespace=None), *companions(R, None)], environments)


def test_environments_move_override_and_include_routers(tmp_path: Path) -> None:
    environments = {
        "dev": {"namespace": "llm-dev", "include": ["test", "Service/vllm-prefill", "Service/vllm-decode"]},
        "prod": {"namespace": "llm", "overrides": {"test": {"spec": {"replicas": 2, "policy": "session_based"}}}},
    }
    project = _project(tmp_path, environments)
    lg.compile_project(project)
    build = lg.load_project(project).build
    for env in build.environments:
        deployment = find(env.objects(), "Deployment", "test")
        [command] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        assert f"--prefill http://vllm-prefill.{env.settings.namespace}.svc.cluster.local:8000" in command
        assert kustomize_build(tmp_path / "overlays" / env.name) == env.objects()
    prod = find(build.environment("prod").objects(), "Deployment", "test")
    assert prod["spec"]["replicas"] == 2
    assert "--policy session_based" in prod["spec"]["template"]["spec"]["containers"][0]["args"][0]
    patch = (tmp_path / "overlays" / "dev" / "cache" / "test" / "patches" / "deployment.test.yaml").read_text()
    assert "vllm-prefill.llm-dev.svc.cluster.local" in patch  # the namespace-bound string, patched


def _problems(project: Path) -> list[str]:
    with pytest.raises(lg.InvalidInput) as err:
        lg.load_project(project)
    return [f"{p.source.rpartition('/')[2]}:{p.line}: {p.path}: {p.message}" for p in err.value.problems]


def test_an_include_that_leaves_out_a_routed_service_is_an_error_there(tmp_path: Path) -> None:
    project = _project(tmp_path, {"dev": {"namespace": "dev", "include": ["test", "Service/vllm-decode"]}})
    assert _problems(project) == [
        'lmcache-gitops.yaml:3: environments.dev.include: leaves out Service "vllm-prefill", which VllmRouter '
        '"test" needs: add "Service/vllm-prefill" to this include'
    ]


def test_an_override_that_points_the_router_elsewhere_is_an_error_at_its_line(tmp_path: Path) -> None:
    override = {"test": {"spec": {"decode": {"serviceName": "vllm-decoder", "port": 8001}}}}
    project = _project(tmp_path, {"prod": {"namespace": "llm", "overrides": override}})
    [problem] = _problems(project)
    assert problem.startswith(
        'lmcache-gitops.yaml:9: environments.prod.overrides.test.spec.decode.serviceName: no Service "vllm-decoder"'
    ), problem
