"""`lmcache-gitops import --helm-values`: the LMCache Helm chart's values -> an LMCacheConfig and
the vLLM Deployment and Service the chart renders, as project files.

The chart (charts/lmcache, appVersion 0.3.6) runs one `lmcache/vllm-openai` container configured
by LMCACHE_* variables; here that container opts in to an LMCacheConfig of `format: env`, which
sets the same variables and, beyond the chart, the KV connector that makes vLLM use them. Every
value is either mapped or reported: none is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import FieldPath, InvalidInput, Problem, format_path
from ..models import OWN_API_VERSION
from .cluster import SPECS, WORKLOADS, Imported
from .inputs import Source
from .messages import describe
from .yamlio import Document, dump_all, load_documents

SCHEMA_COMMENT = "# yaml-language-server: $schema=../lmcache.schema.json\n"
# The chart's defaults (values.yaml): a value equal to its default says nothing.
_DEFAULTS: dict[FieldPath, Any] = {
    ("lmcache", "chunkSize"): "256",
    ("lmcache", "localCpu"): "True",
    ("lmcache", "localDisk"): "",
    ("lmcache", "maxLocalDiskSize"): "0.0",
    ("lmcache", "remoteUrl"): "",
    ("lmcache", "enableP2P"): "False",
    ("lmcache", "lookupUrl"): "",
    ("lmcache", "distributedUrl"): "",
}
# Values the chart has no template for: they render nothing, so they import as nothing, loudly.
_INERT = ("ingress", "httpRoute", "autoscaling", "serviceAccount", "podSecurityContext", "securityContext", "global")


def _leaves(value: Any, path: FieldPath) -> Iterator[tuple[FieldPath, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    else:
        yield path, value


class _Values:
    """The values document, with each path read marked as used."""

    def __init__(self, document: Document) -> None:
        self.document, self.used = document, set[FieldPath]()
        self.problems: list[Problem] = []

    def get(self, *path: str, default: Any = None) -> Any:
        node: Any = self.document.data
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        self.used.update(p for p, _ in _leaves(node, path))
        return node

    def text(self, *path: str) -> str:
        value = self.get(*path, default="")
        if value is None:
            return ""
        if isinstance(value, bool | int | float | str):
            return str(value)
        self.problems.append(self.document.problem(path, f"must be a string, got {describe(value)}"))
        return ""

    def number(self, *path: str, kind: type[int] | type[float]) -> int | float | None:
        text = self.text(*path)
        try:
            return kind(text) if text else None
        except ValueError:
            self.problems.append(self.document.problem(path, f"must be a number as LMCache reads it, got {text!r}"))
            return None


def _config(values: _Values) -> dict[str, Any]:
    spec: dict[str, Any] = {"format": "env"}  # the chart's way: LMCACHE_* variables
    chunk = values.number("lmcache", "chunkSize", kind=int)
    if chunk is not None:
        spec["chunkSize"] = chunk
    spec["localCpu"] = values.text("lmcache", "localCpu").strip().lower() in ("true", "1")  # LMCache's _to_bool
    disk = values.text("lmcache", "localDisk")
    if disk:
        spec["localDisk"] = disk if disk.endswith("/") else disk + "/"
    size = values.number("lmcache", "maxLocalDiskSize", kind=float)
    if size:
        spec["maxLocalDiskSize"] = size
    remote = values.text("lmcache", "remoteUrl")
    if remote:
        spec["remote"] = {"url": remote}
    lookup, distributed = values.text("lmcache", "lookupUrl"), values.text("lmcache", "distributedUrl")
    if values.text("lmcache", "enableP2P") == "True":  # the template compares the string exactly
        spec["p2p"] = {"lookupUrl": lookup, "distributedUrl": distributed}
    return spec


def _probe(values: _Values, which: str) -> dict[str, Any] | None:
    probe = values.get("deployment", which, default={})
    if not isinstance(probe, dict) or not probe.get("enabled", False):
        return None
    out: dict[str, Any] = {"httpGet": {"path": probe.get("path", "/health"), "port": "http"}}
    for key in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold"):
        if key in probe:
            out[key] = probe[key]
    return out


def _workloads(values: _Values, release: str) -> list[dict[str, Any]]:
    image = values.get("deployment", "image", default={}) or {}
    target = values.get("service", "targetPort", default=8000)
    labels = {"app.kubernetes.io/name": "lmcache", "app.kubernetes.io/instance": release}
    env = values.get("deployment", "extraEnv", default={}) or {}
    container: dict[str, Any] = {
        "name": "lmcache",
        "image": f"{image.get('repository', 'lmcache/vllm-openai')}:{image.get('tag', '2025-03-10')}",
        "imagePullPolicy": image.get("pullPolicy", "IfNotPresent"),
        "ports": [{"name": "http", "containerPort": target, "protocol": "TCP"}],
    }
    for field, value in (
        ("env", [{"name": str(k), "value": str(v)} for k, v in sorted(env.items())]),
        ("resources", values.get("deployment", "resources")),
        ("volumeMounts", values.get("deployment", "volumeMounts")),
        ("livenessProbe", _probe(values, "livenessProbe")),
        ("readinessProbe", _probe(values, "readinessProbe")),
    ):
        if value:
            container[field] = value
    pod: dict[str, Any] = {"containers": [container]}
    for field in ("volumes", "nodeSelector", "tolerations", "affinity"):
        if value := values.get("deployment", field):
            pod[field] = value
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": release, "labels": labels},
        "spec": {
            "replicas": values.get("deployment", "replicaCount", default=1),
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": {"lmcache-gitops.io/lmcache-config": release}},
                "spec": pod,
            },
        },
    }
    service_meta: dict[str, Any] = {"name": release, "labels": labels}
    if annotations := values.get("service", "annotations"):
        service_meta["annotations"] = annotations
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": service_meta,
        "spec": {
            "type": values.get("service", "type", default="ClusterIP"),
            "selector": labels,
            "ports": [{"name": "http", "port": values.get("service", "port", default=80), "targetPort": "http"}],
        },
    }
    return [deployment, service]


def import_helm_values(source: Source, *, release: str = "lmcache", namespace: str = "default") -> Imported:
    """The project files for a release of the LMCache chart with these values: an LMCacheConfig
    and the chart's Deployment and Service, opted in to it. ``skipped`` names every value that is
    not imported, and why."""
    documents, problems = load_documents(source.text, source.name)
    if not problems and (len(documents) != 1 or not isinstance(documents[0].data, dict)):
        problems = [Problem(source.name, 1, "", "must hold one mapping of chart values")]
    if problems:
        raise InvalidInput(problems)
    values = _Values(documents[0])
    config = {
        "apiVersion": OWN_API_VERSION,
        "kind": "LMCacheConfig",
        "metadata": {"name": release, "namespace": namespace},
        "spec": _config(values),
    }
    workloads = _workloads(values, release)
    for workload in workloads:
        workload["metadata"]["namespace"] = namespace
    if values.problems:
        raise InvalidInput(values.problems)
    skipped = []
    for path, value in _leaves(values.document.data, ()):
        if path in values.used or _DEFAULTS.get(path) == value:
            continue
        why = (
            "the chart renders nothing for it, so it is not imported"
            if path and path[0] in _INERT
            else "not a value of the LMCache chart that lmcache-gitops imports: set it in the files"
        )
        skipped.append((f"values {format_path(path)}", why))
    files = {
        f"{SPECS}/{release}.yaml": SCHEMA_COMMENT + dump_all([config]),
        f"{WORKLOADS}/{release}.yaml": dump_all(workloads),
    }
    project = {
        "specs": [f"{SPECS}/**/*.yaml"],
        "workloads": [f"{WORKLOADS}/**/*.yaml"],
        "environments": {namespace: {"namespace": namespace}},
    }
    return Imported(files, project, skipped, [], 1, len(workloads))
