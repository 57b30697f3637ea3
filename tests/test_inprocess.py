"""lmcache-gitops's own kinds: LMCacheConfig (LMCache's file, in its key names), LMCacheServer
(the shared lmcache_server), vLLM pods wired to in-process LMCache, and the Helm chart import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import lmcache_gitops as lg
from lmcache_gitops.read.helm import import_helm_values

from .helpers import find, kustomize_build, problems, render, run, service, write_project
from .test_editor_schema import validator

OWN = "lmcache-gitops.io/v1alpha1"


def config(name: str = "cfg", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": OWN, "kind": "LMCacheConfig", "metadata": {"name": name}, "spec": spec}


def server(name: str = "store", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": OWN, "kind": "LMCacheServer", "metadata": {"name": name}, "spec": spec}


def vllm(
    annotations: dict[str, str] | None = None, labels: dict[str, str] | None = None, **container: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "vllm"},
        "spec": {
            "selector": {"matchLabels": {"app": "vllm"}},
            "template": {
                "metadata": {
                    "labels": {"app": "vllm", **(labels or {})},
                    "annotations": {"lmcache-gitops.io/lmcache-config": "cfg"} if annotations is None else annotations,
                },
                "spec": {"containers": [{"name": "vllm", "image": "lmcache/vllm-openai:v0.3.6", **container}]},
            },
        },
    }


def _file(objects: list[dict[str, Any]], name: str = "cfg") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(find(objects, "ConfigMap", name)["data"]["lmcache_config.yaml"])
    return data


def _container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = find(objects, "Deployment", "vllm")["spec"]["template"]["spec"]["containers"][0]
    return container


def test_the_file_holds_lmcaches_own_keys_with_its_defaults() -> None:
    assert _file(render(config())) == {
        "cache_policy": "LRU",
        "chunk_size": 256,
        "local_cpu": True,
        "max_local_cpu_size": 5.0,
        "max_local_disk_size": 0.0,
    }
    full = config(
        chunkSize=512,
        localCpu=False,
        maxLocalCpuSize=20,
        localDisk="file:///mnt/lmcache/",
        maxLocalDiskSize=50,
        remote={"url": "s3://bucket/kv", "serde": "cachegen"},
        p2p={"lookupUrl": "lookup:8100", "distributedUrl": "0.0.0.0:8200"},
        cachePolicy="LFU",
        saveUnfullChunk=False,
        extraConfig={"use_odirect": True},
        settings={"use_layerwise": True, "numa_mode": "auto"},
    )
    assert _file(render(full)) == {
        "cache_policy": "LFU",
        "chunk_size": 512,
        "distributed_url": "0.0.0.0:8200",
        "enable_p2p": True,
        "extra_config": {"use_odirect": True},
        "local_cpu": False,
        "local_disk": "file:///mnt/lmcache/",
        "lookup_url": "lookup:8100",
        "numa_mode": "auto",
        "use_layerwise": True,
        "max_local_cpu_size": 20.0,
        "max_local_disk_size": 50.0,
        "remote_serde": "cachegen",
        "remote_url": "s3://bucket/kv",
        "save_unfull_chunk": False,
    }


def test_a_shared_server_is_the_remote_in_its_namespace() -> None:
    objects = render(server(), config(remote={"server": "store"}), namespace="llm")
    assert _file(objects)["remote_url"] == "lm://store.llm.svc.cluster.local:65432"
    deployment = find(objects, "Deployment", "store")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert (container["command"], container["args"]) == (["lmcache_server"], ["0.0.0.0", "65432", "cpu"])
    assert container["resources"] == {"requests": {"cpu": "4", "memory": "10Gi"}}
    assert container["readinessProbe"]["tcpSocket"] == {"port": 65432}
    assert deployment["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "lmcache-gitops"
    assert find(objects, "Service", "store")["spec"]["ports"] == [
        {"name": "lm", "port": 65432, "protocol": "TCP", "targetPort": "lm"}
    ]


RULES = [
    (config(chunkSize=0), "spec.chunkSize: must be greater than 0"),
    (config(maxLocalCpuSize=0), "spec.maxLocalCpuSize: must be greater than 0"),
    (
        config(localDisk="/mnt/lmcache", maxLocalDiskSize=1),
        "spec.localDisk: must be a folder as LMCache reads it: file:///<absolute path>/",
    ),
    (config(maxLocalDiskSize=10), "spec.maxLocalDiskSize: needs localDisk, the folder it sizes"),
    (
        config(localDisk="file:///d/"),
        "spec.maxLocalDiskSize: must be above 0 with localDisk set: LMCache uses no disk of size 0",
    ),
    (config(remote={}), "spec.remote: Required value: exactly one of url or server must be set"),
    (
        config(remote={"url": "lm://h:1", "server": "s"}),
        "spec.remote: Required value: exactly one of url or server must be set",
    ),
    (
        config(remote={"url": "lmcache-server:8080"}),
        "spec.remote.url: must be <scheme>://<address> with a scheme LMCache reads: lm, redis, rediss, redis-sentinel, unix, valkey, infinistore, mooncakestore, s3, blackhole",
    ),
    (
        config(remote={"url": "lm://h:1", "serde": "json"}),
        'spec.remote.serde: Unsupported value: "json": supported values: "naive", "kivi", "cachegen"',
    ),
    (
        config(remote={"server": "nope"}),
        'spec.remote.server: no LMCacheServer "nope" in namespace "default" among the input files',
    ),
    (
        config(remote={"url": "redis://redis-master:6379"}),
        'spec.remote.url: names Service "redis-master" of namespace "default", which is not among the input files (Services there: none): add it to the workloads, or give the address of a cache outside the project',
    ),
    (config(p2p={"lookupUrl": "l:1"}), "spec.p2p.distributedUrl: Required value"),
    (
        config(settings={"use_layrwise": True, "chunk_size": 512}),
        "spec.settings: chunk_size, use_layrwise: not a key of LMCache's configuration that a typed field does not "
        "set (LMCache would drop it): use the field, or LMCache's exact key name",
    ),
    (
        config(cachePolicy="ARC"),
        'spec.cachePolicy: Unsupported value: "ARC": supported values: "LRU", "LFU", "FIFO", "MRU", "COST_AWARE"',
    ),
    (
        config(podSelector={"a b": "c"}),
        "spec.podSelector[a b]: key \"a b\" is invalid: the name part must be 63 characters or less, alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric",
    ),
    (
        server(replicas=2),
        "spec.replicas: above 1 splits the cache: each lmcache_server keeps its own chunks and one Service balances between them (there is no replication); set splitCache: true if that is intended",
    ),
    (server(device="gpu"), 'spec.device: Unsupported value: "gpu": supported values: "cpu"'),
    (server(port=0), "spec.port: must be in [1, 65535]"),
    (
        server(podLabels={"app.kubernetes.io/name": "x"}),
        'spec.podLabels[app.kubernetes.io/name]: must not change the selector label app.kubernetes.io/name (the selector needs "lmcache-server")',
    ),
    (
        {**config(), "apiVersion": "lmcache.lmcache.ai/v1alpha1"},
        'apiVersion: Unsupported value: "lmcache.lmcache.ai/v1alpha1": supported values: "lmcache-gitops.io/v1alpha1"',
    ),
]


@pytest.mark.parametrize(("document", "expected"), RULES, ids=[e[:60] for _, e in RULES])
def test_every_rule_at_its_field(document: dict[str, Any], expected: str) -> None:
    assert problems(document) == [expected]


# Rules that relate fields or documents: no JSON Schema states them (the schema accepts these).
NOT_IN_THE_SCHEMA = (
    "spec.maxLocalDiskSize:",
    "spec.remote: Required value",
    "spec.remote.server: no LMCacheServer",
    'spec.remote.url: names Service "redis-master"',
    "spec.replicas: above 1 splits the cache",
)


@pytest.mark.parametrize(("document", "expected"), RULES, ids=[e[:60] for _, e in RULES])
def test_the_editor_schema_rejects_what_it_can_state(document: dict[str, Any], expected: str) -> None:
    expressible = not expected.startswith(NOT_IN_THE_SCHEMA)
    assert validator(document["kind"]).is_valid(document) != expressible


def test_valid_shapes() -> None:
    assert problems(server(replicas=3, splitCache=True)) == []
    assert problems(config(remote={"url": "redis://redis-master:6379"}), service("redis-master", None, (6379,))) == []
    assert problems(config(remote={"url": "lm://kv.other.svc.cluster.local:65432"})) == []  # another namespace: outside
    assert problems(server(), config(remote={"server": "store"})) == []


def test_a_pod_that_names_the_config_gets_the_file_the_connector_and_v1() -> None:
    container = _container(render(config(), vllm(args=["m"])))
    assert container["args"] == [
        "m",
        "--kv-transfer-config",
        '{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}',
    ]
    assert container["env"] == [
        {"name": "VLLM_USE_V1", "value": "1"},
        {"name": "PYTHONHASHSEED", "value": "0"},
        {"name": "LMCACHE_CONFIG_FILE", "value": "/etc/lmcache/lmcache_config.yaml"},
    ]
    assert container["volumeMounts"] == [{"mountPath": "/etc/lmcache", "name": "lmcache-config", "readOnly": True}]


def test_env_format_sets_the_variables_lmcache_reads() -> None:
    container = _container(
        render(
            config(format="env", localCpu=False, extraConfig={"a": 1}, settings={"lmcache_worker_ports": [1, 2]}),
            vllm(),
        )
    )
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["LMCACHE_LOCAL_CPU"] == "False" and env["LMCACHE_CHUNK_SIZE"] == "256"
    assert env["LMCACHE_EXTRA_CONFIG"] == '{"a":1}' and "LMCACHE_CONFIG_FILE" not in env
    assert env["LMCACHE_LMCACHE_WORKER_PORTS"] == "1,2"  # LMCache splits list settings at commas
    assert "volumeMounts" not in container


def test_prefill_and_decode_roles_carry_nixl() -> None:
    annotations = {"lmcache-gitops.io/lmcache-config": "cfg", "lmcache-gitops.io/kv-role": "kv_producer"}
    [flag, value] = _container(render(config(), vllm(annotations)))["args"]
    assert flag == "--kv-transfer-config"
    assert json.loads(value) == {
        "kv_connector": "LMCacheConnectorV1",
        "kv_role": "kv_producer",
        "kv_connector_extra_config": {"nixl_backends": ["UCX"]},
    }


def test_a_pod_selected_by_label_is_wired() -> None:
    objects = render(config(podSelector={"tier": "serving"}), vllm({}, {"tier": "serving"}))
    assert "--kv-transfer-config" in _container(objects)["args"]


def _wiring_problems(*documents: dict[str, Any]) -> list[str]:
    return [p.split(": ", 1)[1] if p.startswith("spec.template") else p for p in problems(*documents)]


WIRING = [
    (
        [vllm(env=[{"name": "VLLM_USE_V1", "value": "0"}])],
        "spec.template.spec.containers[0].env[0]: turns vLLM's V1 engine off: LMCacheConnectorV1 runs on V1 only (set it to 1)",
    ),
    (
        [vllm(args=["--kv-transfer-config", '{"kv_connector":"NixlConnector","kv_role":"kv_both"}'])],
        'spec.template.spec.containers[0].args[0]: names the KV connector "NixlConnector", not LMCacheConnectorV1: remove it, lmcache-gitops writes the connection to LMCache',
    ),
    (
        [vllm(command=["sh"])],
        "spec.template.spec.containers[0].command: sets command, so --kv-transfer-config would never reach `vllm serve`: give args only",
    ),
    (
        [vllm({"lmcache-gitops.io/lmcache-config": "nope"})],
        'spec.template.metadata.annotations[lmcache-gitops.io/lmcache-config]: no LMCacheConfig "nope" in namespace "default" among the specs',
    ),
    (
        [vllm({"lmcache-gitops.io/lmcache-config": "cfg", "lmcache-gitops.io/kv-role": "both"})],
        "spec.template.metadata.annotations[lmcache-gitops.io/kv-role]: must be one of kv_both, kv_producer, kv_consumer",
    ),
    (
        [vllm(env=[{"name": "LMCACHE_CONFIG_FILE", "value": "/x"}])],
        "spec.template.spec.containers[0].env: sets LMCACHE_CONFIG_FILE, which the LMCache wiring sets: remove it",
    ),
]


@pytest.mark.parametrize(("documents", "expected"), WIRING, ids=[e[:70] for _, e in WIRING])
def test_the_documented_limitations_are_located_errors(documents: list[dict[str, Any]], expected: str) -> None:
    assert problems(config(), *documents) == [expected]


def test_doubtful_choices_are_warnings_and_still_wired() -> None:
    found = lg.validate(
        [
            lg.Source(
                "in.yaml",
                lg.to_yaml([config(), vllm(image="vllm/vllm-openai:v0.11.0", args=["--enable-chunked-prefill"])]),
            )
        ]
    )
    assert [p.severity for p in found] == ["warning", "warning"]
    assert "is not LMCache's vLLM image" in found[0].message + found[1].message
    assert "--enable-chunked-prefill" in found[0].message + found[1].message


def test_two_selecting_configs_or_an_operator_engine_too_are_errors() -> None:
    both = problems(config("a", podSelector={"x": "1"}), config("b", podSelector={"x": "1"}), vllm({}, {"x": "1"}))
    assert both == [
        'spec.template.metadata.labels: matches the podSelector of LMCacheConfigs "a", "b": name one with the annotation lmcache-gitops.io/lmcache-config'
    ]


def test_environments_move_the_server_address_and_override_the_config(tmp_path: Path) -> None:
    environments = {
        "dev": {"namespace": "llm-dev"},
        "prod": {"namespace": "llm", "overrides": {"cfg": {"spec": {"maxLocalCpuSize": 60}}}},
    }
    project = write_project(tmp_path, [server(), config(remote={"server": "store"}), vllm()], environments)
    lg.compile_project(project)
    build = lg.load_project(project).build
    assert _file(build.environment("dev").objects())["remote_url"] == "lm://store.llm-dev.svc.cluster.local:65432"
    assert _file(build.environment("prod").objects())["max_local_cpu_size"] == 60.0
    for env in build.environments:
        assert kustomize_build(tmp_path / "overlays" / env.name) == env.objects()
    left_out = write_project(
        tmp_path / "b", [server(), config(remote={"server": "store"})], {"dev": {"namespace": "d", "include": ["cfg"]}}
    )
    with pytest.raises(lg.InvalidInput) as err:
        lg.load_project(left_out)
    assert [p.message for p in err.value.problems] == [
        'leaves out LMCacheServer "store", which LMCacheConfig "cfg" needs: add "store" to this include'
    ]


def test_a_config_named_like_a_file_of_the_tree_is_refused(tmp_path: Path) -> None:
    """A ConfigMap's name may end in .yaml; a resource's folder beside kustomization.yaml may not."""
    write_project(tmp_path, [config("kustomization.yaml"), config("ok")], {"dev": {"namespace": "d"}})
    result = run("compile", cwd=tmp_path)
    assert result.returncode == 1 and not (tmp_path / "bases").exists()
    assert result.stderr.splitlines()[0].endswith(
        "metadata.name: \"kustomization.yaml\" names the resource's folder in the tree, beside the tree's "
        ".yaml files: a resource name must not end in .yaml"
    )


SEED_VALUES = """\
deployment:
  image:
    repository: "lmcache/vllm-openai"
    tag: "latest"
  resources:
    requests:
      memory: "4Gi"
      cpu: "2000m"
      nvidia.com/gpu: "1"
    limits:
      memory: "8Gi"
      cpu: "4000m"
      nvidia.com/gpu: "1"

lmcache:
  chunkSize: "512"
  localCpu: "True"
  localDisk: "file:///tmp/lmcache"
  maxLocalDiskSize: "10.0"

service:
  type: LoadBalancer
  port: 80

autoscaling:
  enabled: true
  minReplicas: 1
  maxReplicas: 10
  targetCPUUtilizationPercentage: 80
extra: {unknown: 1}
"""


def test_the_charts_example_values_import_to_what_the_chart_sets_and_more(tmp_path: Path) -> None:
    imported = import_helm_values(lg.Source("values.yaml", SEED_VALUES), namespace="llm")
    assert [name for name, _ in imported.skipped] == [
        "values autoscaling.enabled",
        "values autoscaling.minReplicas",
        "values autoscaling.maxReplicas",
        "values autoscaling.targetCPUUtilizationPercentage",
        "values extra.unknown",
    ]
    sources = [lg.Source(path, text) for path, text in imported.files.items()]
    objects = lg.render(sources, "llm")
    container = _container(
        [{**o, "metadata": {**o["metadata"], "name": "vllm"}} if o["kind"] == "Deployment" else o for o in objects]
    )
    env = {e["name"]: e["value"] for e in container["env"]}
    # What the chart's template sets for these values, and the wiring it lacks.
    assert {
        k: env[k]
        for k in ("LMCACHE_CHUNK_SIZE", "LMCACHE_LOCAL_CPU", "LMCACHE_LOCAL_DISK", "LMCACHE_MAX_LOCAL_DISK_SIZE")
    } == {
        "LMCACHE_CHUNK_SIZE": "512",
        "LMCACHE_LOCAL_CPU": "True",
        "LMCACHE_LOCAL_DISK": "file:///tmp/lmcache/",
        "LMCACHE_MAX_LOCAL_DISK_SIZE": "10.0",
    }
    assert container["image"] == "lmcache/vllm-openai:latest"
    assert container["resources"]["limits"] == {"memory": "8Gi", "cpu": "4000m", "nvidia.com/gpu": "1"}
    assert find(objects, "Service", "lmcache")["spec"]["type"] == "LoadBalancer"
    assert "--kv-transfer-config" in container["args"]


def test_helm_values_of_the_wrong_shape_are_located_and_unknown_ones_listed() -> None:
    bad = "lmcache: [1]\ndeployment: {image: 5, resources: x, extraEnv: [1]}\nservice: {port: x}\n"
    with pytest.raises(lg.InvalidInput) as err:
        import_helm_values(lg.Source("v.yaml", bad))
    assert [str(p) for p in err.value.problems] == [
        "v.yaml:1: lmcache: must be a mapping, got a list",
        "v.yaml:2: deployment.extraEnv: must be a mapping, got a list",
        "v.yaml:2: deployment.image: must be a mapping, got number 5",
        'v.yaml:2: deployment.resources: must be a mapping, got string "x"',
        'v.yaml:3: service.port: must be an integer, got string "x"',
    ]
    unknown = import_helm_values(lg.Source("v.yaml", "lmcache: {maxLocalCpuSize: '20', chunkSize: '256'}\n"))
    assert unknown.skipped == [
        (
            "values lmcache.maxLocalCpuSize",
            "not a value of the LMCache chart that lmcache-gitops imports: set it in the files",
        )
    ]


def test_helm_import_through_the_command(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text(SEED_VALUES)
    result = run("import", "--helm-values", "values.yaml", "--namespace", "llm", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["files"] == ["specs/lmcache.yaml", "workloads/lmcache.yaml"]
    assert run("compile", cwd=tmp_path).returncode == 1 and run("compile", "--check", cwd=tmp_path).returncode == 0
    (tmp_path / "bad.yaml").write_text("lmcache: {chunkSize: big}\n")
    bad = run("import", "--helm-values", "bad.yaml", "-C", "other", cwd=tmp_path)
    assert bad.returncode == 1 and "bad.yaml:1: lmcache.chunkSize: must be a number as LMCache reads it" in bad.stderr
    assert run("import", cwd=tmp_path).returncode == 2
