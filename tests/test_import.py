"""`import`: what a cluster running the operator prints, back to the files of a project. The
operator's sample set, printed as the API server stores it (CRD and built-in defaults filled in,
status, uids, managed fields, the operator's objects beside), imports to files that validate, hold
nothing of the cluster's, and compile to the objects that run there: the same names, labels and
selectors, so Argo CD or Flux adopt them in place."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import pytest
from pydantic import BaseModel

import lmcache_gitops as lg
from lmcache_gitops.k8s.kinds import get_path, pod_template
from lmcache_gitops.models import KINDS
from lmcache_gitops.read.cluster import SCHEMA_COMMENT, Imported, import_cluster
from lmcache_gitops.read.inputs import without_nulls
from lmcache_gitops.read.yamlio import dump_all

from .helpers import API, FIXTURES, load_all, resource, service, workload
from .test_samples import sample_set

MANAGED = "app.kubernetes.io/managed-by"
CLUSTER_METADATA = {
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "ownerReferences",
    "selfLink",
    "finalizers",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
}
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CLUSTER_ANNOTATIONS = {LAST_APPLIED, "deployment.kubernetes.io/revision"}


# ---- what a cluster prints ----


def crd_defaulted(document: dict[str, Any]) -> dict[str, Any]:
    """A custom resource as the API server stores it: nulls pruned, then every default of the
    CRD (as the models define them) filled in."""
    model = KINDS[document["kind"]].model_validate(without_nulls(document))
    return {**document, "spec": model.spec.model_dump(by_alias=True, exclude_none=True)}


def _pull_policy(image: str) -> str:
    last = image.split("@")[0].rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def served(obj: dict[str, Any]) -> dict[str, Any]:
    """One of the user's objects as the API server stores it: its built-in defaults filled in."""
    obj = copy.deepcopy(obj)
    spec = obj.setdefault("spec", {})
    if obj["kind"] == "Deployment":
        spec.setdefault("replicas", 1)
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault(
            "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
        )
    if obj["kind"] == "StatefulSet":
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    if obj["kind"] == "Service":
        for key, value in (
            ("type", "ClusterIP"),
            ("sessionAffinity", "None"),
            ("internalTrafficPolicy", "Cluster"),
            ("ipFamilies", ["IPv4"]),
            ("ipFamilyPolicy", "SingleStack"),
        ):
            spec.setdefault(key, value)
        for port in spec.get("ports", []):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port["port"])
    template = pod_template(obj)
    if template is not None:
        template.setdefault("metadata", {})["creationTimestamp"] = None
        pod = template["spec"]
        for key, value in (
            ("dnsPolicy", "ClusterFirst"),
            ("restartPolicy", "Always"),
            ("schedulerName", "default-scheduler"),
            ("securityContext", {}),
            ("terminationGracePeriodSeconds", 30),
        ):
            pod.setdefault(key, value)
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})
            container.setdefault("imagePullPolicy", _pull_policy(container["image"]))
            for port in container.get("ports", []):
                port.setdefault("protocol", "TCP")
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                if probe in container:
                    for key, value in (("failureThreshold", 3), ("periodSeconds", 10), ("successThreshold", 1)):
                        container[probe].setdefault(key, value)
                    container[probe].setdefault("timeoutSeconds", 1)
                    if "httpGet" in container[probe]:
                        container[probe]["httpGet"].setdefault("scheme", "HTTP")
            for env in container.get("env", []):
                if "fieldRef" in env.get("valueFrom", {}):
                    env["valueFrom"]["fieldRef"].setdefault("apiVersion", "v1")
        for volume in pod.get("volumes", []):
            for source in ("configMap", "secret"):
                if source in volume:
                    volume[source].setdefault("defaultMode", 420)
    return obj


def with_cluster_fields(obj: dict[str, Any], index: int, *, owner: dict[str, Any] | None = None) -> dict[str, Any]:
    """``obj`` as `kubectl get -o yaml` prints it: the cluster's metadata and a status."""
    obj = copy.deepcopy(obj)
    original = json.dumps(obj, sort_keys=True)
    metadata = obj["metadata"]
    out = {
        **obj,
        "metadata": {
            **metadata,
            "uid": f"00000000-0000-0000-0000-{index:012d}",
            "resourceVersion": str(1000 + index),
            "generation": 2,
            "creationTimestamp": "2025-06-01T12:00:00Z",
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1"}],
            "annotations": {**metadata.get("annotations", {}), LAST_APPLIED: original},
        },
        "status": {"phase": "Running", "observedGeneration": 2},
    }
    if obj["apiVersion"] == API:
        out["metadata"]["finalizers"] = ["lmcache.ai/cleanup"]
    if obj["kind"] == "Deployment":
        out["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "3"
    if obj["kind"] == "Service" and obj["spec"].get("clusterIP") != "None":
        out["spec"] = {**obj["spec"], "clusterIP": f"10.96.0.{index % 250}", "clusterIPs": [f"10.96.0.{index % 250}"]}
    if owner is not None:
        out["metadata"]["ownerReferences"] = [owner]
    return out


def owner_of(obj: dict[str, Any], resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The controller ownerReference the operator puts on a generated object."""
    instance = obj["metadata"]["labels"]["app.kubernetes.io/instance"]
    [cr] = [r for r in resources if r["metadata"]["name"] == instance]
    return {
        "apiVersion": API,
        "kind": cr["kind"],
        "name": instance,
        "uid": f"uid-{instance}",
        "controller": True,
        "blockOwnerDeletion": True,
    }


def originals() -> list[dict[str, Any]]:
    """The samples, each in a namespace (default where it has none)."""
    documents = without_nulls(sample_set())
    for document in documents:
        document["metadata"].setdefault("namespace", "default")
        document.setdefault("spec", {})
    return documents


def cluster_print(documents: list[dict[str, Any]]) -> tuple[list[lg.Source], list[dict[str, Any]]]:
    """What `kubectl get <the four kinds> -A -o yaml` and `kubectl get deploy,svc,...` print for
    ``documents`` deployed with the operator, and the objects the operator made (rendered)."""
    resources = [d for d in documents if d["apiVersion"] == API]
    workloads = [d for d in documents if d["apiVersion"] != API]
    rendered = lg.render([lg.Source("samples.yaml", dump_all(documents))])
    generated = [o for o in rendered if o["metadata"].get("labels", {}).get(MANAGED) == "lmcache-operator"]
    crs = [with_cluster_fields(crd_defaulted(r), i) for i, r in enumerate(resources)]
    objects = [with_cluster_fields(served(w), 100 + i) for i, w in enumerate(workloads)]
    objects += [with_cluster_fields(o, 200 + i, owner=owner_of(o, resources)) for i, o in enumerate(generated)]
    # An operator ConfigMap that lost its labels is still the operator's: it has its owner.
    unlabelled = next((o for o in objects if o["kind"] == "ConfigMap"), None)
    if unlabelled is not None:
        del unlabelled["metadata"]["labels"][MANAGED]
    objects += cluster_noise()
    return [
        lg.Source("cluster.yaml", dump_all([{"apiVersion": "v1", "kind": "List", "items": crs, "metadata": {}}])),
        lg.Source("workloads.yaml", dump_all([{"apiVersion": "v1", "kind": "List", "items": objects}])),
    ], rendered


def cluster_noise() -> list[dict[str, Any]]:
    """What `kubectl get all,cm,secret,...` adds: none of it is imported."""
    replicaset_owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "vllm", "controller": True, "uid": "u1"}
    pod_owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "vllm-5d4f", "controller": True, "uid": "u2"}
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "hf-token", "namespace": "default"},
            "data": {"token": "aGY="},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "vllm-5d4f-x2x", "namespace": "default", "ownerReferences": [pod_owner]},
            "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai"}], "nodeName": "gpu-1"},
            "status": {"phase": "Running"},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "vllm-5d4f", "namespace": "default", "ownerReferences": [replicaset_owner]},
            "spec": {"selector": {"matchLabels": {"app": "vllm"}}},
        },
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "pd-router", "namespace": "default"}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver"}},
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 6443}]},
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": "default"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}},
        {"apiVersion": API, "kind": "LMCacheKeyManager", "metadata": {"name": "keys", "namespace": "default"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "vllm-reader"}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "coredns", "namespace": "kube-system"},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-dns"}}},
        },
    ]


NOISE_SKIPPED = {
    "Secret/default/hf-token": "secret material is never imported",
    "Pod/default/vllm-5d4f-x2x": "a Pod holds what the cluster assigned it",
    "ReplicaSet/default/vllm-5d4f": "a ReplicaSet is run by its Deployment",
    "Endpoints/default/pd-router": "maintained by the cluster for its Service",
    "Service/default/kubernetes": "the API server's own Service",
    "ConfigMap/default/kube-root-ca.crt": "published by Kubernetes in every namespace",
    "Namespace/default": "an environment's namespace",
    "LMCacheKeyManager/default/keys": "not one of the operator's kinds (LMCacheEngine, CacheBlendEngine",
    "ClusterRole/vllm-reader": "cluster-scoped",
    "Deployment/kube-system/coredns": 'no LMCache resource in namespace "kube-system"',
}


@pytest.fixture(scope="module")
def cluster() -> tuple[list[lg.Source], list[dict[str, Any]], list[dict[str, Any]]]:
    documents = originals()
    sources, rendered = cluster_print(documents)
    return sources, rendered, documents


@pytest.fixture(scope="module", params=[False, True], ids=["full", "minimal"])
def imported(request: pytest.FixtureRequest, cluster: Any) -> Imported:
    return import_cluster(cluster[0], minimal=request.param)


def as_sources(result: Imported) -> list[lg.Source]:
    return [lg.Source(path, text) for path, text in result.files.items()]


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    return (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])


# ---- the round trip ----


def test_imported_files_compile_to_what_the_operator_made(imported: Imported, cluster: Any) -> None:
    _, rendered, documents = cluster
    again = lg.render(as_sources(imported))
    assert [_key(o) for o in again] == [_key(o) for o in rendered]
    for mine, theirs in zip(again, rendered, strict=True):
        if theirs["metadata"].get("labels", {}).get(MANAGED) == "lmcache-operator":
            assert mine == theirs, _key(mine)  # generated: exactly
        else:
            assert served(mine) == served(theirs), _key(mine)  # the user's: as the API server stores them
    assert imported.resources == sum(d["apiVersion"] == API for d in documents)
    assert imported.workloads == sum(d["apiVersion"] != API for d in documents)


# What a cluster can hold: lmcache-gitops's own kinds (inprocess-*) live only in git.
FIXTURE_INPUTS = sorted(
    p
    for p in (FIXTURES / "render").glob("*.yaml")
    if not p.name.endswith(".expected.yaml") and not p.name.startswith("inprocess-")
)


@pytest.mark.parametrize("path", FIXTURE_INPUTS, ids=[p.stem for p in FIXTURE_INPUTS])
@pytest.mark.parametrize("minimal", [False, True], ids=["full", "minimal"])
def test_every_fixture_imports_to_what_it_compiles_to(path: Path, minimal: bool) -> None:
    """Every field of every kind (the every-field fixtures), every workload kind: printed by the
    cluster, imported, compiled, it gives what it gave. Pods are not imported (their controller is)."""
    documents = without_nulls(load_all(path.read_text()))
    for document in documents:
        document["metadata"].setdefault("namespace", "default")
    sources, rendered = cluster_print(documents)
    result = import_cluster(sources, minimal=minimal)
    assert [p for p in lg.validate(as_sources(result), allow_skip=True) if p.severity == "error"] == []
    again = lg.render(as_sources(result), allow_skip=True)
    expected = [o for o in rendered if o["kind"] != "Pod"]
    assert [_key(o) for o in again] == [_key(o) for o in expected]
    for mine, theirs in zip(again, expected, strict=True):
        if theirs["metadata"].get("labels", {}).get(MANAGED) == "lmcache-operator":
            assert mine == theirs, _key(mine)
        else:
            assert served(mine) == served(theirs), _key(mine)
    if minimal:
        for text in result.files.values():
            [obj] = load_all(text)
            if obj["apiVersion"] == API:
                model = KINDS[obj["kind"]].model_fields["spec"].annotation
                assert list(defaults_left(model, obj.get("spec") or {}, ("spec",))) == []


def test_imported_files_validate_and_hold_nothing_of_the_cluster(imported: Imported) -> None:
    assert lg.validate(as_sources(imported)) == []
    for path, text in imported.files.items():
        [obj] = load_all(text)
        assert "status" not in obj, path
        assert not CLUSTER_METADATA & obj["metadata"].keys(), path
        assert not CLUSTER_ANNOTATIONS & obj["metadata"].get("annotations", {}).keys(), path
        assert obj["metadata"].get("annotations", True) != {}, path
        template = pod_template(obj)
        if template is not None:
            assert "creationTimestamp" not in template.get("metadata", {}), path
        if obj["kind"] == "Service":
            assert not {"clusterIP", "clusterIPs"} & obj["spec"].keys(), path
        assert obj["metadata"]["namespace"] == path.split("/")[1]
        assert (
            path
            == f"{path.split('/')[0]}/{obj['metadata']['namespace']}/{obj['kind'].lower()}.{obj['metadata']['name']}.yaml"
        )
        if obj["apiVersion"] == API:
            assert path.startswith("specs/") and text.startswith(SCHEMA_COMMENT)
        else:
            assert path.startswith("workloads/") and not text.startswith("#")
        assert text == (SCHEMA_COMMENT if obj["apiVersion"] == API else "") + dump_all([obj])


def test_the_custom_resources_keep_their_metadata_and_spec(cluster: Any) -> None:
    result = import_cluster(cluster[0])
    for document in cluster[2]:
        if document["apiVersion"] != API:
            continue
        [obj] = load_all(result.files[f"specs/default/{document['kind'].lower()}.{document['metadata']['name']}.yaml"])
        assert obj["metadata"] == document["metadata"]
        assert obj["spec"] == crd_defaulted(document)["spec"]


def test_skipped_are_the_generated_objects_and_the_clusters_own(imported: Imported, cluster: Any) -> None:
    _, rendered, _ = cluster
    generated = {
        f"{o['kind']}/{o['metadata']['namespace']}/{o['metadata']['name']}"
        for o in rendered
        if o["metadata"].get("labels", {}).get(MANAGED) == "lmcache-operator"
    }
    reasons = dict(imported.skipped)
    assert len(reasons) == len(imported.skipped)
    assert reasons.keys() == generated | NOISE_SKIPPED.keys()
    for label in generated:
        assert reasons[label].startswith("generated by the LMCache operator for "), label
        assert reasons[label].endswith(": compile regenerates it")
    for label, reason in NOISE_SKIPPED.items():
        assert reasons[label].startswith(reason), label
    assert imported.pinned == []  # the DaemonSets run what lmcache-gitops compiles


def test_minimal_drops_every_default_and_nothing_else(cluster: Any) -> None:
    full, minimal = import_cluster(cluster[0]), import_cluster(cluster[0], minimal=True)
    assert full.files.keys() == minimal.files.keys()
    for path, text in minimal.files.items():
        assert len(text) <= len(full.files[path]), path
        [obj] = load_all(text)
        if obj["apiVersion"] == API:
            assert len(text) < len(full.files[path]), path  # the CRD defaults were there
            spec_model = KINDS[obj["kind"]].model_fields["spec"].annotation
            assert list(defaults_left(spec_model, obj["spec"], ("spec",))) == [], path
    assert sum(map(len, minimal.files.values())) < sum(map(len, full.files.values()))
    # what a person wrote: the sample engine is its l1 size, and the router its two Services
    [engine] = load_all(minimal.files["specs/default/lmcacheengine.my-cache.yaml"])
    assert engine["spec"] == {"l1": {"sizeGB": 60}}
    [router] = load_all(minimal.files["specs/default/vllmrouter.my-pd-router.yaml"])
    assert router["spec"] == {
        "prefill": {"serviceName": "pd-prefiller", "port": 8001},
        "decode": {"serviceName": "pd-decoder", "port": 8002},
    }
    [coordinator] = load_all(minimal.files["specs/default/lmcachecoordinator.my-coordinator.yaml"])
    assert coordinator["spec"] == {}
    # the user's objects: what they were before the API server filled its defaults in, less the
    # defaults the samples write themselves
    for document in cluster[2]:
        if document["apiVersion"] != API:
            path = f"workloads/default/{document['kind'].lower()}.{document['metadata']['name']}.yaml"
            [obj] = load_all(minimal.files[path])
            assert obj == without_sample_defaults(document), path
    assert import_cluster(as_sources(minimal), minimal=True).files == minimal.files


def without_sample_defaults(document: dict[str, Any]) -> dict[str, Any]:
    """A sample with the API server defaults it writes out taken away: a Service port's
    `targetPort` equal to its `port`, the router's readiness `periodSeconds: 10`."""
    document = copy.deepcopy(document)
    for port in document["spec"].get("ports", []) if document["kind"] == "Service" else []:
        if port.get("targetPort") == port["port"]:
            del port["targetPort"]
    for container in document["spec"]["template"]["spec"]["containers"] if document["kind"] == "Deployment" else []:
        if container.get("readinessProbe", {}).get("periodSeconds") == 10:
            del container["readinessProbe"]["periodSeconds"]
    return document


def test_minimal_keeps_what_differs_from_unset() -> None:
    """A field whose default is None keeps its value (`nodeSelector: {}` selects every node, unset
    selects GPU nodes); an emptied block stays where an empty one is not the default (`prometheus:
    {}` is not unset for a coordinator); a value that would not validate stays, for compile to report."""
    spec = {
        "l1": {"sizeGB": 10},
        "nodeSelector": {},
        "runtimeClassName": "",
        "prometheus": {"enabled": True, "port": 9090},
        "server": {"port": 5555, "chunkSize": 512, "httpPort": 8080},
        "image": {"repository": "lmcache/vllm-openai", "tag": "latest", "pullPolicy": "IfNotPresent"},
        "eviction": {"policy": "LRU", "triggerWatermark": 0.8},
        "hostIPC": True,
        "privileged": False,
        "extraArgs": [],
        "coordinator": {"url": "http://coordinator:9300", "heartbeatInterval": 5.0, "eventReporting": False},
        "l2Backends": [{"type": "mock", "config": {"size": 1}}],
    }
    coordinator = {"replicas": 1, "port": 9300, "prometheus": {"enabled": True}, "logLevel": "INFO"}
    documents = [
        with_cluster_fields({**resource("LMCacheEngine", "cache", "llm"), "spec": spec}, 1),
        with_cluster_fields({**resource("LMCacheCoordinator", "coordinator", "llm"), "spec": coordinator}, 2),
    ]
    result = import_cluster([lg.Source("c.yaml", dump_all(documents))], minimal=True)
    [engine] = load_all(result.files["specs/llm/lmcacheengine.cache.yaml"])
    assert engine["spec"] == {
        "l1": {"sizeGB": 10},
        "nodeSelector": {},
        "runtimeClassName": "",
        "prometheus": {},
        "server": {"chunkSize": 512},
        "privileged": False,
        "extraArgs": [],
        "coordinator": {"url": "http://coordinator:9300", "eventReporting": False},
        "l2Backends": [{"type": "mock", "config": {"size": 1}}],
    }
    [coord] = load_all(result.files["specs/llm/lmcachecoordinator.coordinator.yaml"])
    assert coord["spec"] == {"prometheus": {}}
    full = import_cluster([lg.Source("c.yaml", dump_all(documents))])
    assert lg.render(as_sources(result)) == lg.render(as_sources(full))
    documents[0]["spec"]["server"]["port"] = 5555.0
    result = import_cluster([lg.Source("c.yaml", dump_all(documents))], minimal=True)
    [engine] = load_all(result.files["specs/llm/lmcacheengine.cache.yaml"])
    assert engine["spec"]["server"] == {"port": 5555.0, "chunkSize": 512}
    assert [f"{p.path}: {p.message}" for p in lg.validate(as_sources(result))] == [
        "spec.server.port: must be an integer, got number 5555.0"
    ]


def _model(annotation: Any) -> type[BaseModel] | None:
    """The model class a field holds, through Annotated, Optional and list."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated or origin is list:
        return _model(args[0])
    models = [found for arg in args if (found := _model(arg)) is not None]
    return models[0] if len(models) == 1 else None


def defaults_left(model: Any, data: dict[str, Any], path: tuple[Any, ...]) -> Any:
    """The fields of ``data`` that hold their model's (non-None) default, and the sub-mappings left
    empty that read as it."""
    fields = {f.alias or n: f for n, f in model.model_fields.items()}
    for key, value in data.items():
        field = fields[key]
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        inner = _model(field.annotation)
        if isinstance(value, dict) and inner is not None:
            if not value and isinstance(default, BaseModel) and inner.model_validate({}) == default:
                yield (*path, key)
            yield from defaults_left(inner, value, (*path, key))
        elif isinstance(value, list) and inner is not None:
            for index, item in enumerate(value):
                yield from defaults_left(inner, item, (*path, key, index))
        elif default is not None and not isinstance(default, BaseModel) and value == default:
            yield (*path, key)


# ---- the project ----


def test_the_proposed_project_compiles_to_the_running_objects(tmp_path: Path, cluster: Any) -> None:
    _, rendered, _ = cluster
    result = import_cluster(cluster[0], minimal=True)
    assert result.project == {
        "specs": ["specs/**/*.yaml"],
        "workloads": ["workloads/**/*.yaml"],
        "environments": {"default": {"namespace": "default"}},
    }
    for path, text in result.files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / "lmcache-gitops.yaml").write_text(dump_all([result.project]))
    (tmp_path / "lmcache.schema.json").write_text(json.dumps(lg.json_schema()))
    report = lg.compile_project(tmp_path / "lmcache-gitops.yaml")
    assert report.written
    deployed = lg.load_project(tmp_path / "lmcache-gitops.yaml").build.environment("default").objects()
    assert [_key(o) for o in deployed] == [_key(o) for o in rendered]
    for mine, theirs in zip(deployed, rendered, strict=True):
        assert mine["metadata"].get("labels") == theirs["metadata"].get("labels"), _key(mine)
        for selector in (("spec", "selector"), ("spec", "template", "metadata", "labels")):
            assert get_path(mine, selector) == get_path(theirs, selector), (_key(mine), selector)
        if theirs["metadata"].get("labels", {}).get(MANAGED) == "lmcache-operator":
            assert mine == theirs, _key(mine)


def test_several_namespaces_make_one_environment_each(tmp_path: Path) -> None:
    documents = [
        resource("LMCacheEngine", "cache-a", "team-a"),
        {**workload(engine="cache-a"), "metadata": {"name": "vllm-a", "namespace": "team-a"}},
        resource("LMCacheEngine", "cache-b", "team-b"),
        resource("LMCacheCoordinator", "coordinator-b", "team-b"),
        service("vllm-b", "team-b"),
    ]
    result = import_cluster([lg.Source("all.yaml", dump_all([served(d) if "spec" in d else d for d in documents]))])
    assert result.project["environments"] == {
        "team-a": {"namespace": "team-a", "include": ["Deployment/vllm-a", "cache-a"]},
        "team-b": {"namespace": "team-b", "include": ["Service/vllm-b", "cache-b", "coordinator-b"]},
    }
    for path, text in result.files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / "lmcache-gitops.yaml").write_text(dump_all([result.project]))
    build = lg.load_project(tmp_path / "lmcache-gitops.yaml").build
    for env in build.environments:
        objects = env.objects()
        assert {o["metadata"]["namespace"] for o in objects} == {env.name}
        assert objects == lg.render([lg.Source(p, t) for p, t in result.files.items() if f"/{env.name}/" in p])


# ---- what runs, kept ----


@pytest.mark.parametrize(
    ("running", "pinned"),
    [
        ({"privileged": False, "hostIPC": False}, {"privileged": False, "hostIPC": False}),
        ({"privileged": False, "isolatedIPC": True}, {"privileged": False, "isolatedIPC": True}),
        ({"hostIPC": False}, {"hostIPC": False}),
        ({}, {}),
    ],
)
def test_a_running_daemonset_keeps_the_ipc_and_privilege_it_has(
    running: dict[str, Any], pinned: dict[str, Any]
) -> None:
    """A newer operator runs engines unprivileged and without hostIPC (or isolated) by default,
    where lmcache-gitops defaults to privileged and hostIPC: the import writes what runs, so that
    compile gives the running pod template and adoption restarts no engine pod."""
    cr = resource("LMCacheEngine", "cache", "llm")
    [daemonset] = [
        o
        for o in lg.render([lg.Source("x.yaml", dump_all([{**cr, "spec": {**cr["spec"], **running}}]))])
        if o["kind"] == "DaemonSet"
    ]
    owner = {"apiVersion": API, "kind": "LMCacheEngine", "name": "cache", "uid": "u", "controller": True}
    text = dump_all([with_cluster_fields(cr, 1), with_cluster_fields(daemonset, 2, owner=owner)])
    for minimal in (False, True):
        result = import_cluster([lg.Source("c.yaml", text)], minimal=minimal)
        [spec] = load_all(result.files["specs/llm/lmcacheengine.cache.yaml"])
        assert spec["spec"] == {**cr["spec"], **pinned}
        assert [message.split(" written")[0] for _, message in result.pinned] == sorted(
            f"spec.{key}: {json.dumps(value)}" for key, value in pinned.items()
        )
        [compiled] = [o for o in lg.render(as_sources(result)) if o["kind"] == "DaemonSet"]
        assert compiled == daemonset


# ---- the user's objects ----


def test_cluster_fields_go_and_defaults_go_only_with_minimal() -> None:
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "vllm-sts", "namespace": "llm"},
        "spec": {
            "serviceName": "vllm-headless",
            "selector": {"matchLabels": {"app": "vllm-sts"}},
            "template": {
                "metadata": {"labels": {"app": "vllm-sts"}, "annotations": {"kubectl.kubernetes.io/restartedAt": "t"}},
                "spec": {
                    "containers": [
                        {
                            "name": "vllm",
                            "image": "vllm/vllm-openai:v0.9.0",
                            "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                            "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}},
                        }
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": "vllm-config"}}],
                },
            },
            "volumeClaimTemplates": [
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": "models", "creationTimestamp": None},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "100Gi"}},
                        "volumeMode": "Filesystem",
                    },
                    "status": {"phase": "Pending"},
                }
            ],
        },
    }
    headless = {
        **service("vllm-headless", "llm"),
        "spec": {
            "clusterIP": "None",
            "selector": {"app": "vllm-sts"},
            "ports": [{"name": "http", "port": 8000, "targetPort": "http"}],
        },
    }
    job_uid = {"batch.kubernetes.io/controller-uid": "u", "controller-uid": "u"}
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "warmup", "namespace": "llm"},
        "spec": {
            "backoffLimit": 6,
            "selector": {"matchLabels": job_uid},
            "template": {
                "metadata": {
                    "labels": {
                        **job_uid,
                        "job-name": "warmup",
                        "batch.kubernetes.io/job-name": "warmup",
                        "app": "warmup",
                    }
                },
                "spec": {"restartPolicy": "Never", "containers": [{"name": "w", "image": "busybox"}]},
            },
        },
    }
    objects = [with_cluster_fields(served(o), i) for i, o in enumerate([statefulset, headless])]
    objects.append(with_cluster_fields(job, 3))
    text = dump_all([resource("LMCacheEngine", "cache", "llm"), *objects])
    full = import_cluster([lg.Source("c.yaml", text)])
    minimal = import_cluster([lg.Source("c.yaml", text)], minimal=True)
    [sts] = load_all(full.files["workloads/llm/statefulset.vllm-sts.yaml"])
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"  # a default, kept without minimal
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"] == {"name": "models"}
    assert "status" not in sts["spec"]["volumeClaimTemplates"][0]
    [sts] = load_all(minimal.files["workloads/llm/statefulset.vllm-sts.yaml"])
    assert sts == {
        **statefulset,
        "spec": {
            **statefulset["spec"],
            "volumeClaimTemplates": [
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": "models"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Gi"}}},
                }
            ],
        },
    }
    for result in (full, minimal):
        [svc] = load_all(result.files["workloads/llm/service.vllm-headless.yaml"])
        assert svc["spec"]["clusterIP"] == "None"  # headless: the user's, not the cluster's
        assert "clusterIPs" not in svc["spec"]
        [warmup] = load_all(result.files["workloads/llm/job.warmup.yaml"])
        assert "selector" not in warmup["spec"]  # made from the Job's uid
        assert warmup["spec"]["template"]["metadata"]["labels"] == {"app": "warmup"}
    [svc] = load_all(minimal.files["workloads/llm/service.vllm-headless.yaml"])
    assert svc["spec"] == headless["spec"]
    [warmup] = load_all(minimal.files["workloads/llm/job.warmup.yaml"])
    assert "backoffLimit" not in warmup["spec"]
    assert lg.validate(as_sources(minimal)) == []


# ---- bad input ----


def located(*texts: str) -> list[str]:
    with pytest.raises(lg.InvalidInput) as err:
        import_cluster([lg.Source(f"in{i}.yaml", text) for i, text in enumerate(texts)])
    return [str(problem) for problem in err.value.problems]


ENGINE = dump_all([resource("LMCacheEngine", "cache", "llm")])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1\n", ["in0.yaml:2: invalid YAML: did not find expected ',' or ']'"]),
        ("- 1\n- 2\n", ["in0.yaml:1: a document must be a mapping (a Kubernetes object), got a list"]),
        (
            "apiVersion: v1\nkind: List\nmetadata: {}\n",
            ["in0.yaml:1: items: Required value: a List holds its objects in items"],
        ),
        ("apiVersion: v1\nkind: List\nitems: {}\n", ["in0.yaml:3: items: must be a list, got a mapping"]),
        (
            "apiVersion: v1\nkind: List\nitems:\n- 3\n- apiVersion: v1\n  kind: Service\n  metadata: {namespace: llm}\n"
            "- apiVersion: v1\n  metadata: {name: x}\n- kind: Service\n  metadata: {name: y}\n- apiVersion: v1\n  kind: Service\n",
            [
                "in0.yaml:4: items[0]: an item of a List must be a mapping (a Kubernetes object), got number 3",
                "in0.yaml:7: items[1].metadata.name: Required value",
                "in0.yaml:8: items[2].kind: Required value",
                "in0.yaml:10: items[3].apiVersion: Required value",
                "in0.yaml:12: items[4].metadata: Required value",
            ],
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: Not_A_Name, namespace: llm}\n",
            [
                "in0.yaml:3: metadata.name: must be a lowercase RFC 1123 subdomain: lowercase letters, digits, '-' and '.', "
                "starting and ending with a letter or digit"
            ],
        ),
        (
            "apiVersion: lmcache.lmcache.ai/v1beta1\nkind: LMCacheEngine\nmetadata: {name: x, namespace: llm}\n",
            [
                'in0.yaml:1: apiVersion: Unsupported value: "lmcache.lmcache.ai/v1beta1": supported values: "lmcache.lmcache.ai/v1alpha1"'
            ],
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: x, namespace: llm}\n",
            [
                "in0.yaml:1: no LMCacheEngine, CacheBlendEngine, LMCacheCoordinator, VllmRouter among the inputs: give what "
                "`kubectl get lmcacheengines,cacheblendengines,lmcachecoordinators,vllmrouters -A -o yaml` prints"
            ],
        ),
    ],
    ids=["yaml", "not-a-mapping", "list-without-items", "items-not-a-list", "items", "name", "version", "no-resources"],
)
def test_bad_input_is_located(text: str, expected: list[str]) -> None:
    assert located(text) == expected


def test_an_object_given_twice_or_a_name_in_two_namespaces() -> None:
    engine = resource("LMCacheEngine", "cache", "llm")
    listed = dump_all([{"apiVersion": "v1", "kind": "List", "items": [engine, copy.deepcopy(engine)]}])
    assert located(listed) == [
        'in0.yaml:14: items[1].metadata.name: LMCacheEngine "cache" in namespace "llm" is given twice '
        "(also at in0.yaml:6): give each object once"
    ]
    elsewhere = dump_all([resource("LMCacheCoordinator", "cache", "other")])
    assert located(ENGINE, elsewhere) == [
        'in1.yaml:4: metadata.name: LMCacheCoordinator "cache" is also in namespace "llm" (in0.yaml:4): a project holds '
        "each name once, as each environment deploys into one namespace; import the namespaces into projects of their own"
    ]
    vllm = {**workload(engine="cache"), "metadata": {"name": "vllm", "namespace": "llm"}}
    other = {**vllm, "metadata": {"name": "vllm", "namespace": "other"}}
    problems = located(dump_all([engine, resource("LMCacheEngine", "cache-2", "other"), vllm, other]))
    assert problems == [
        'in0.yaml:45: metadata.name: Deployment "vllm" is also in namespace "llm" (in0.yaml:22): a project holds '
        "each name once, as each environment deploys into one namespace; import the namespaces into projects of their own"
    ]


def test_every_problem_at_once() -> None:
    assert located("a: [\n", "- x\n", ENGINE) == [
        "in0.yaml:2: invalid YAML: did not find expected node content",
        "in1.yaml:1: a document must be a mapping (a Kubernetes object), got a list",
    ]


# ---- determinism ----


def test_the_same_objects_in_any_order_give_the_same_files(cluster: Any) -> None:
    sources, _, _ = cluster
    items = [item for source in sources for document in load_all(source.text) for item in document["items"]]
    forward = import_cluster(sources, minimal=True)
    backward = import_cluster(
        [
            lg.Source("b.yaml", dump_all(items[::-1][: len(items) // 2])),
            lg.Source(
                "a.yaml", dump_all([{"apiVersion": "v1", "kind": "List", "items": items[::-1][len(items) // 2 :]}])
            ),
        ],
        minimal=True,
    )
    assert backward == forward
    assert list(forward.files) == sorted(forward.files)


def test_importing_the_imported_files_changes_nothing(imported: Imported) -> None:
    assert import_cluster(as_sources(imported)).files == imported.files


def test_an_object_without_a_namespace_goes_to_the_one_given() -> None:
    text = dump_all(
        [resource("LMCacheEngine", "cache", None), {**workload(engine="cache"), "metadata": {"name": "vllm"}}]
    )
    result = import_cluster([lg.Source("c.yaml", text)], namespace="llm")
    assert list(result.files) == ["specs/llm/lmcacheengine.cache.yaml", "workloads/llm/deployment.vllm.yaml"]
    assert [load_all(t)[0]["metadata"]["namespace"] for t in result.files.values()] == ["llm", "llm"]
    assert result.project["environments"] == {"llm": {"namespace": "llm"}}


# ---- the command ----


def test_the_command_imports_from_stdin_compiles_and_never_overwrites(tmp_path: Path, cluster: Any) -> None:
    sources, _, _ = cluster
    printed = "---\n".join(source.text for source in sources)
    first = run_with_input(["import", "-", "--minimal", "--format", "json"], printed, tmp_path)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["resources"] == 11 and all(path.startswith(("specs/", "workloads/")) for path in report["files"])
    assert any(item["reason"] for item in report["skipped"])
    assert (tmp_path / "lmcache-gitops.yaml").exists() and (tmp_path / "lmcache.schema.json").exists()
    compiled = run_with_input(["compile"], "", tmp_path)
    assert compiled.returncode == 1 and "created  overlays/default/kustomization.yaml" in compiled.stdout
    assert run_with_input(["compile", "--check"], "", tmp_path).returncode == 0
    again = run_with_input(["import", "-"], printed, tmp_path)
    assert again.returncode == 1 and "already exists: import writes only new files" in again.stderr


def run_with_input(argv: list[str], text: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lmcache_gitops", *argv]
    return subprocess.run(command, input=text, capture_output=True, text=True, cwd=cwd)
