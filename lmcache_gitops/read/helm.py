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
from ..naming import SPEC_SCHEMA, schema_comment
from .cluster import SPECS, WORKLOADS, Imported
from .messages import describe
from .source import Source
from .yamlio import Document, dump_all, load_documents

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

    def get(self, *path: str, default: Any = None, mark: bool = True) -> Any:
        node: Any = self.document.data
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        if mark:
            self.used.update(p for p, _ in _leaves(node, path))
        return node

    def typed(self, *path: str, kind: type | tuple[type, ...], default: Any = None, mark: bool = True) -> Any:
        """The value at ``path`` when it is of ``kind`` (else a problem, and ``default``); ``mark``:
        everything below it is imported."""
        value = self.get(*path, default=default, mark=mark)
        if value is None or value is default or isinstance(value, kind):
            return value
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        what = (
            names.replace("dict", "a mapping")
            .replace("list", "a list")
            .replace("str", "a string")
            .replace("int", "an integer")
        )
        self.problems.append(self.document.problem(path, f"must be {what}, got {describe(value)}"))
        return default

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
    probe = values.typed("deployment", which, kind=dict, default={})
    if not probe.get("enabled", False):
        return None
    out: dict[str, Any] = {"httpGet": {"path": values.text("deployment", which, "path") or "/health", "port": "http"}}
    for key in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold"):
        if (number := values.typed("deployment", which, key, kind=int)) is not None:
            out[key] = number
    return out


def _workloads(values: _Values, release: str) -> list[dict[str, Any]]:
    repository = values.text("deployment", "image", "repository") or "lmcache/vllm-openai"
    tag = values.text("deployment", "image", "tag") or "2025-03-10"  # the chart's values.yaml
    target = values.typed("service", "targetPort", kind=(int, str), default=8000)
    labels = {"app.kubernetes.io/name": "lmcache", "app.kubernetes.io/instance": release}
    env = values.typed("deployment", "extraEnv", kind=dict, default={})
    container: dict[str, Any] = {
        "name": "lmcache",
        "image": f"{repository}:{tag}",
        "imagePullPolicy": values.text("deployment", "image", "pullPolicy") or "IfNotPresent",
        "ports": [{"name": "http", "containerPort": target, "protocol": "TCP"}],
    }
    for field, value in (
        ("env", [{"name": str(k), "value": str(v)} for k, v in sorted(env.items())]),
        ("resources", values.typed("deployment", "resources", kind=dict)),
        ("volumeMounts", values.typed("deployment", "volumeMounts", kind=list)),
        ("livenessProbe", _probe(values, "livenessProbe")),
        ("readinessProbe", _probe(values, "readinessProbe")),
    ):
        if value:
            container[field] = value
    pod: dict[str, Any] = {"containers": [container]}
    for field, kind in (("volumes", list), ("nodeSelector", dict), ("tolerations", list), ("affinity", dict)):
        if value := values.typed("deployment", field, kind=kind):
            pod[field] = value
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": release, "labels": labels},
        "spec": {
            "replicas": values.typed("deployment", "replicaCount", kind=int, default=1),
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": {"lmcache-gitops.io/lmcache-config": release}},
                "spec": pod,
            },
        },
    }
    service_meta: dict[str, Any] = {"name": release, "labels": labels}
    if annotations := values.typed("service", "annotations", kind=dict):
        service_meta["annotations"] = annotations
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": service_meta,
        "spec": {
            "type": values.text("service", "type") or "ClusterIP",
            "selector": labels,
            "ports": [
                {"name": "http", "port": values.typed("service", "port", kind=int, default=80), "targetPort": "http"}
            ],
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
    for group in ("lmcache", "deployment", "service"):
        values.typed(group, kind=dict, mark=False)
    values.typed("deployment", "image", kind=dict, mark=False)
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
        f"{SPECS}/{release}.yaml": schema_comment(SPEC_SCHEMA, 1) + dump_all([config]),
        f"{WORKLOADS}/{release}.yaml": dump_all(workloads),
    }
    project = {
        "specs": [f"{SPECS}/**/*.yaml"],
        "workloads": [f"{WORKLOADS}/**/*.yaml"],
        "environments": {namespace: {"namespace": namespace}},
    }
    return Imported(files, project, skipped, [], 1, len(workloads))
