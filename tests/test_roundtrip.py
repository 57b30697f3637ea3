"""The tree's invariant, with the real kustomize: `kustomize build overlays/<env>` gives exactly the
objects `render` gives for that environment, and `kustomize build bases` those of the specs as written."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lmcache_gitops as lg
from lmcache_gitops.k8s.kinds import POD_TEMPLATES, sort_objects

from .helpers import (
    API,
    FIXTURES,
    ROOT,
    kustomize_builds,
    load_all,
    resource,
    service,
    validate_object,
    workload_object,
    write_project,
)

FIXTURE_SPECS = sorted(p for p in (FIXTURES / "render").glob("*.yaml") if not p.name.endswith(".expected.yaml"))


def assert_round_trip(project: Path) -> lg.LoadedProject:
    """Compile ``project``; every overlay and tier folder must build to what render gives (and
    each Argo CD Application's sources together to its environment), a rendered folder must hold
    it; the bases must build to what the specs as written give, and each clusters/ folder to its
    delivery objects, each valid for its CRD."""
    lg.compile_project(project)
    loaded = lg.load_project(project)
    environments = loaded.build.environments
    clusters = loaded.build.clusters()
    synced = [entry for objects in clusters.values() for obj in objects for entry in _paths_named(obj)]
    named = {path for paths, _ in synced for path in paths}
    plain = {path for path in named if path.startswith("rendered/")}  # read as a directory, not built
    named -= plain
    expected = {f"overlays/{env.name}": env.objects() for env in environments}
    expected.update(
        (f"overlays/{env.name}/{tier}", env.tiers().get(tier, []))  # a tier folder may deploy nothing here
        for env in environments
        for tier in ("cache", "workloads")
        if (loaded.output / "overlays" / env.name / tier).is_dir()
    )
    assert named <= expected.keys(), f"delivery objects name folders the tree does not have: {named - expected.keys()}"
    folders = [*expected, *clusters, "bases"]
    built = dict(zip(folders, kustomize_builds([loaded.output / folder for folder in folders]), strict=True))
    for folder, objects in expected.items():
        assert built[folder] == objects, f"{folder} builds to other objects than render gives"
    for env in environments:
        if loaded.build.project.rendered or f"rendered/{env.name}" in plain:
            rendered = sorted((loaded.output / "rendered" / env.name).glob("*.yaml"))
            built[f"rendered/{env.name}"] = sort_objects(doc for path in rendered for doc in load_all(path.read_text()))
            assert built[f"rendered/{env.name}"] == env.objects()
    for folder, objects in clusters.items():
        assert built[folder] == sort_objects(objects), folder
        for obj in objects:
            validate_object(obj)
    for paths, whole in synced:  # an Application's sources, each built on its own, deploy its environment
        if whole:
            env = loaded.build.environment(paths[0].split("/")[1])
            assert sort_objects(o for path in paths for o in built[path]) == env.objects(), paths
    base = loaded.build.base
    inputs = lg.Inputs([item.resource for item in base.built], [deployed.manifest for deployed in base.workloads])
    assert built["bases"] == lg.render_objects(inputs)
    return loaded


def _paths_named(obj: dict[str, Any]) -> list[tuple[list[str], bool]]:
    """The folders of the tree a delivery object makes its tool sync (the tree is the repository
    root), each with whether they deploy a whole environment: a Flux Kustomization's one tier,
    or an Argo CD Application's sources (one per element of an ApplicationSet)."""
    if obj["kind"] == "Kustomization":
        return [([obj["spec"]["path"].removeprefix("./")], False)]
    if obj["kind"] == "Application":
        return [([source["path"] for source in obj["spec"]["sources"]], True)]
    if obj["kind"] == "ApplicationSet":
        sources = obj["spec"]["template"]["spec"]["sources"]
        elements = obj["spec"]["generators"][0]["list"]["elements"]
        return [([s["path"].replace("{{.path}}", e["path"]) for s in sources], True) for e in elements]
    return []


def test_the_example_project_builds_to_what_render_gives() -> None:
    loaded = assert_round_trip(ROOT / "lmcache-gitops.yaml")
    assert [env.name for env in loaded.build.environments] == ["dev", "prod", "staging"]


_OVERRIDABLE = {  # the kinds without every pod setting take what they have
    "VllmRouter": lambda spec: {k: v for k, v in spec.items() if not k.startswith("pod")},
    "LMCacheConfig": lambda spec: {"maxLocalCpuSize": 7},
}


def _everywhere(documents: list[dict[str, Any]], spec: dict[str, Any]) -> dict[str, Any]:
    """The same override for every custom resource (a router takes the fields it has; the user's
    own objects have none)."""
    return {
        doc["metadata"]["name"]: {
            "spec": _OVERRIDABLE.get(doc["kind"], lambda spec: spec)(spec),
            "labels": {"tier": "gold"},
            "annotations": {"note": "x"},
        }
        for doc in documents
        if doc["apiVersion"] == API
    }


@pytest.mark.parametrize("path", FIXTURE_SPECS, ids=lambda p: p.stem)
def test_fixtures_round_trip_in_three_environments(path: Path, tmp_path: Path) -> None:
    documents = load_all(path.read_text())
    for document in documents:  # a Secret stays in its namespace, which environments leave
        (document.get("spec") or {}).get("l2Backend", {}).get("resp", {}).get("authSecretRef", {}).pop(
            "namespace", None
        )
    environments = {
        "none": {"namespace": "none", "include": []},  # an empty cache tier builds to nothing
        "same": {"namespace": "default"},
        "moved": {"namespace": "elsewhere", "labels": {"env": "moved"}, "annotations": {"owner": "platform"}},
        "changed": {
            "namespace": "changed",
            "overrides": _everywhere(
                documents,
                {
                    "podAnnotations": {"a": "b"},
                    "podLabels": {"c": "d"},
                    "nodeSelector": {"pool": "gpu"},
                    "tolerations": [],
                },
            ),
        },
    }
    # The PD router's --prefill addresses pd-prefiller.default.svc: rewritten in each environment.
    assert_round_trip(write_project(tmp_path, documents, environments, rewriteServiceAddresses=True))


# ---- the same invariant over generated specs and overrides ----

NAMES = st.sampled_from(["a", "b", "c", "d"])
TOLERATIONS = st.lists(
    st.fixed_dictionaries(
        {"key": NAMES, "operator": st.just("Exists")}, optional={"effect": st.sampled_from(["NoSchedule", "NoExecute"])}
    ),
    max_size=3,
)
ENV = st.lists(
    st.fixed_dictionaries({"name": NAMES, "value": st.sampled_from(["1", "2", ""])}),
    max_size=4,
    unique_by=lambda e: e["name"],
)
VOLUMES = st.lists(
    st.fixed_dictionaries(
        {"name": NAMES},
        optional={
            "emptyDir": st.just({}) | st.just({"medium": "Memory"}),
            "hostPath": st.fixed_dictionaries({"path": st.sampled_from(["/a", "/b"])}),
        },
    ).filter(lambda v: len(v) == 2),
    max_size=3,
    unique_by=lambda v: v["name"],
)
NODE_SELECTOR = st.dictionaries(NAMES, st.sampled_from(["x", "y"]) | st.none(), max_size=3)
COMMON = {
    "tolerations": TOLERATIONS,
    "env": ENV,
    "nodeSelector": NODE_SELECTOR,
    "podLabels": st.dictionaries(NAMES, st.sampled_from(["x", "y"]), max_size=2),
    "podAnnotations": st.dictionaries(NAMES, st.sampled_from(["x", "y"]) | st.none(), max_size=2),
    "image": st.fixed_dictionaries(
        {}, optional={"tag": st.sampled_from(["v1", "v2"]), "pullPolicy": st.sampled_from(["Always", "IfNotPresent"])}
    ),
    "resourceOverrides": st.none()
    | st.fixed_dictionaries({"limits": st.fixed_dictionaries({"memory": st.sampled_from(["1Gi", "2Gi"])})}),
    "extraArgs": st.lists(st.sampled_from(["--x", "1"]), max_size=2),
    "imagePullSecrets": st.lists(st.fixed_dictionaries({"name": NAMES}), max_size=2, unique_by=lambda s: s["name"]),
}
ENGINE = {
    **COMMON,
    "l1": st.fixed_dictionaries({"sizeGB": st.sampled_from([1, 10, 60.5])}),
    "server": st.fixed_dictionaries(
        {}, optional={"port": st.sampled_from([5555, 6000]), "httpPort": st.sampled_from([8080, 8081])}
    ),
    "prometheus": st.none()
    | st.fixed_dictionaries(
        {},
        optional={
            "enabled": st.booleans(),
            "port": st.sampled_from([9090, 9191]),
            "serviceMonitor": st.fixed_dictionaries({"enabled": st.booleans()}),
        },
    ),
    "hostIPC": st.booleans(),
    "privileged": st.booleans(),
    "logLevel": st.sampled_from(["INFO", "DEBUG"]),
}
COORDINATOR = {
    **COMMON,
    "replicas": st.integers(0, 3),
    "port": st.sampled_from([9300, 9400]),
    "prometheus": st.none()
    | st.fixed_dictionaries(
        {}, optional={"enabled": st.booleans(), "serviceMonitor": st.fixed_dictionaries({"enabled": st.booleans()})}
    ),
}

ROUTER = {
    "tolerations": TOLERATIONS,
    "env": ENV,
    "nodeSelector": NODE_SELECTOR,
    "port": st.sampled_from([30000, 31000]),
    "policy": st.sampled_from(["round_robin", "session_based"]),
    "replicas": st.integers(1, 3),
    "intraNodeDataParallelSize": st.integers(1, 2),
    "serviceType": st.sampled_from(["ClusterIP", "NodePort", ""]),
    "image": st.fixed_dictionaries({}, optional={"tag": st.sampled_from(["nightly", "v1"])}),
    "priorityClassName": st.sampled_from(["", "high"]),
}
ROUTED = (service("pool-prefill", None, (8000, 8001)), service("pool-decode", None, (8000,)))


OWN = "lmcache-gitops.io/v1alpha1"
IN_PROCESS = {
    "LMCacheConfig": {
        "chunkSize": st.sampled_from([256, 512]),
        "localCpu": st.booleans(),
        "maxLocalCpuSize": st.sampled_from([5, 20.5]),
        "format": st.sampled_from(["file", "env"]),
        "cachePolicy": st.sampled_from(["LRU", "LFU"]),
    },
    "LMCacheServer": {
        "port": st.sampled_from([65432, 65000]),
        "nodeSelector": NODE_SELECTOR,
        "tolerations": TOLERATIONS,
        "env": ENV,
        "podLabels": st.dictionaries(NAMES, st.sampled_from(["x", "y"]), max_size=2),
    },
}


@st.composite
def _in_process(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A shared server, a configuration that uses it (or a remote outside the project), and a
    vLLM Deployment wired to it by annotation or by the configuration's podSelector."""
    server = {"apiVersion": OWN, "kind": "LMCacheServer", "metadata": {"name": "store"}}
    server["spec"] = draw(st.fixed_dictionaries({}, optional=IN_PROCESS["LMCacheServer"]))
    spec = draw(st.fixed_dictionaries({}, optional=IN_PROCESS["LMCacheConfig"]))
    spec["remote"] = draw(st.sampled_from([{"server": "store"}, {"url": "redis://redis.example.com:6379"}]))
    by_label = draw(st.booleans())
    if by_label:
        spec["podSelector"] = {"lmcache": "in-process"}
    config = {"apiVersion": OWN, "kind": "LMCacheConfig", "metadata": {"name": "in-process"}, "spec": spec}
    container = {
        "name": "vllm",
        "image": "lmcache/vllm-openai:v0.3.6",
        "args": draw(st.lists(st.sampled_from(["m", "--port", "8000"]), max_size=3)),
    }
    template: dict[str, Any] = {
        "metadata": {
            "labels": {"app": "vllm-ip", **({"lmcache": "in-process"} if by_label else {})},
            "annotations": {} if by_label else {"lmcache-gitops.io/lmcache-config": "in-process"},
        },
        "spec": {"containers": [container]},
    }
    return [server, config, workload_object("Deployment", "vllm-ip", template)]


@st.composite
def _router(draw: st.DrawFn) -> dict[str, Any]:
    """A router's spec: its own fields, and the ports of the routed Services it dials."""
    spec: dict[str, Any] = draw(st.fixed_dictionaries({}, optional=ROUTER))
    spec["prefill"] = {"serviceName": "pool-prefill", "port": draw(st.sampled_from([8000, 8001]))}
    spec["decode"] = {"serviceName": "pool-decode"}
    return spec


@st.composite
def _with_mounts(draw: st.DrawFn, fields: dict[str, Any]) -> dict[str, Any]:
    """Any subset of ``fields``, plus volumes with mounts that name them."""
    spec = draw(st.fixed_dictionaries({}, optional=fields))
    if draw(st.booleans()):
        volumes = draw(VOLUMES)
        spec["volumes"] = volumes
        spec["volumeMounts"] = [
            {"name": v["name"], "mountPath": f"/mnt/{v['name']}"} for v in draw(st.permutations(volumes))
        ]
    return spec


@st.composite
def _workload(draw: st.DrawFn, engine: dict[str, Any], index: int) -> dict[str, Any]:
    """A workload wired to ``engine``: any kind, a sidecar or not, its own args, env and volumes;
    sometimes one the webhook skips (a command), allowed by annotation."""
    hook = "cacheblend" if engine["kind"] == "CacheBlendEngine" else "lmcache"
    annotations = {f"lmcache.ai/{hook}-engine": engine["metadata"]["name"], f"lmcache.ai/{hook}-container": "vllm"}
    container: dict[str, Any] = {
        "name": "vllm",
        "image": "vllm/vllm-openai:v0.11.0",
        "args": draw(
            st.lists(st.sampled_from(["m", "--port", "8000", "--block-size=16", "--enforce-eager"]), max_size=4)
        ),
        "env": draw(ENV),
    }
    if draw(st.booleans()):
        container["command"] = ["sh", "-c"]
        annotations["lmcache-gitops/allow-skip"] = "true"
    spec = draw(_with_mounts({}))
    pod: dict[str, Any] = {"containers": [container], "volumes": spec.get("volumes", [])}
    container["volumeMounts"] = spec.get("volumeMounts", [])
    if draw(st.booleans()):
        pod["containers"].insert(0, {"name": "sidecar", "image": "envoyproxy/envoy:v1.31"})
    kind = draw(st.sampled_from(["Deployment", "StatefulSet", "Job", "CronJob", "Pod"]))
    if kind in ("Job", "CronJob"):
        pod["restartPolicy"] = "Never"
    labels = {"app": f"vllm{index}", f"lmcache.ai/{hook}-inject": "true"}
    return workload_object(
        kind, f"vllm{index}", {"metadata": {"labels": labels, "annotations": annotations}, "spec": pod}
    )


@st.composite
def _delivery(draw: st.DrawFn, environments: list[str]) -> dict[str, Any]:
    """Project settings that deliver some environments by Argo CD, some by Flux, some not at all."""
    tools = {env: draw(st.sampled_from(["argocd", "flux", None])) for env in environments}
    delivery: dict[str, Any] = {}
    if argo := [env for env, tool in tools.items() if tool == "argocd"]:
        delivery["argocd"] = {
            "applicationSet": draw(st.booleans()),
            "source": draw(st.sampled_from(["overlays", "rendered"])),
            "environments": {env: draw(st.sampled_from([{}, {"name": "edge"}])) for env in argo},
        }
    if flux := [env for env, tool in tools.items() if tool == "flux"]:
        delivery["flux"] = {
            "wait": draw(st.booleans()),
            "gitRepository": draw(st.sampled_from([{}, {"create": False, "name": "flux-system"}])),
            "environments": {
                env: draw(st.sampled_from([{}, {"kubeConfig": {"secretRef": {"name": "k"}}}])) for env in flux
            },
        }
    if not delivery:
        return {}
    return {"repository": {"url": "https://git.example.com/llm.git", "path": "."}, "delivery": delivery}


@st.composite
def _workload_override(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """A strategic-merge override of a generated workload: its vLLM container's args and env
    (merged by name), a sidecar added, and the replicas where the kind has them."""
    container: dict[str, Any] = {"name": "vllm"}
    if draw(st.booleans()):
        container["args"] = draw(st.lists(st.sampled_from(["m2", "--port", "9000"]), max_size=3))
    if draw(st.booleans()):
        container["env"] = draw(ENV)
    containers = [container, *([{"name": "extra", "image": "busybox:1"}] if draw(st.booleans()) else [])]
    spec: dict[str, Any] = {"containers": containers}
    for part in reversed((*POD_TEMPLATES[kind], "spec")[1:]):  # to the pod spec, below the object's spec
        spec = {part: spec}
    if kind in ("Deployment", "StatefulSet") and draw(st.booleans()):
        spec["replicas"] = draw(st.integers(0, 3))
    return {"spec": spec, "labels": draw(st.dictionaries(NAMES, st.just("w"), max_size=1))}


@st.composite
def projects(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    kinds = draw(st.lists(st.sampled_from(["LMCacheEngine", "CacheBlendEngine"]), min_size=1, max_size=2))
    documents = [resource("LMCacheCoordinator", name="coord", namespace=None)]
    documents[0]["spec"] = draw(_with_mounts(COORDINATOR))
    for index, kind in enumerate(kinds):
        document = resource(kind, name=f"engine{index}", namespace=None, **{"coordinator.ref.name": "coord"})
        document["spec"].update(draw(_with_mounts(ENGINE)))
        documents.append(document)
    documents += [draw(_workload(engine, index)) for index, engine in enumerate(documents[1:]) if draw(st.booleans())]
    if draw(st.booleans()):
        documents += [resource("VllmRouter", name="router", namespace=None), *copy.deepcopy(ROUTED)]
        documents[-3]["spec"] = draw(_router())
    if draw(st.booleans()):
        documents += draw(_in_process())
    environments = {}
    for index, env in enumerate(["dev", "staging", "prod"]):
        overrides = {}
        for document in documents:
            if document["kind"] in IN_PROCESS:
                if draw(st.booleans()):
                    fields = IN_PROCESS[document["kind"]]
                    overrides[document["metadata"]["name"]] = {"spec": draw(st.fixed_dictionaries({}, optional=fields))}
            elif document["kind"] == "VllmRouter" and draw(st.booleans()):
                overrides[document["metadata"]["name"]] = {"spec": draw(st.fixed_dictionaries({}, optional=ROUTER))}
            elif document["apiVersion"] == API and document["kind"] != "VllmRouter" and draw(st.booleans()):
                fields = ENGINE if document["kind"] != "LMCacheCoordinator" else COORDINATOR
                overrides[document["metadata"]["name"]] = {"spec": draw(_with_mounts(fields))}
            elif document["kind"] in POD_TEMPLATES and draw(st.booleans()):
                overrides[document["metadata"]["name"]] = draw(_workload_override(document["kind"]))
        environments[env] = {
            "namespace": draw(st.sampled_from(["default", f"ns{index}"])),
            "createNamespace": draw(st.sampled_from([None, True, False])),
            "labels": draw(st.dictionaries(NAMES, st.just("v"), max_size=1)),
            "annotations": draw(st.dictionaries(NAMES, st.just("v"), max_size=1)),
            "overrides": overrides,
        }
        # An environment that deploys none of the inputs: an empty tier, or only its Namespace
        # (with nothing at all, Argo CD's rendered source is an error, tested on its own).
        if environments[env]["createNamespace"] is not False and draw(st.integers(0, 3)) == 0:
            environments[env] = {**environments[env], "include": [], "overrides": {}}
    return documents, environments


def _cleaned(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # None values mean "remove" only inside overrides; in a spec they are pruned anyway.
    return json.loads(json.dumps(documents))


def _needs_privileged(obj: dict[str, Any]) -> bool:
    """What the generated specs and workloads can hold that Pod Security's baseline rejects."""
    spec = (obj.get("spec") or {}).get("template", {}).get("spec") or obj.get("spec") or {}
    containers = [*spec.get("containers", []), *spec.get("initContainers", [])]
    return bool(
        spec.get("hostIPC")
        or any("hostPath" in volume for volume in spec.get("volumes", []))
        or any((c.get("securityContext") or {}).get("privileged") for c in containers)
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(projects(), st.data())
def test_every_folder_builds_to_what_render_gives(
    case: tuple[list[dict[str, Any]], dict[str, Any]], data: st.DataObject
) -> None:
    """Overlays, tiers and clusters/ folders, with delivery on or off: every path a delivery
    object names builds, and a namespace is labelled privileged exactly when it needs to be."""
    documents, environments = case
    delivery = data.draw(_delivery(sorted(environments)))
    with tempfile.TemporaryDirectory() as folder:
        loaded = assert_round_trip(write_project(Path(folder), _cleaned(documents), environments, **delivery))
    for env in loaded.build.environments:
        [namespace] = [o for o in env.objects() if o["kind"] == "Namespace"] or [None]
        created = env.settings.create_namespace
        assert (namespace is not None) == (created if created is not None else bool(delivery))
        if namespace is not None:
            labelled = namespace["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce")
            needed = any(_needs_privileged(obj) for obj in env.objects())
            assert labelled == ("privileged" if needed else None), env.name
