"""The whole input at once: checks across resources, then every generated object, in order."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Iterator

from . import checks
from .builders.coordinator import coordinator_objects
from .builders.engine import engine_objects
from .errors import InvalidInput, Problem
from .loading import Resource
from .models import CacheBlendEngine, LMCacheCoordinator, LMCacheEngine
from .naming import COORDINATOR_APP, ENGINE_APP, coordinator_url
from .resolve import engine

# kustomize's legacy output order, so `render` and `kustomize build` list objects alike.
_KIND_ORDER = ["ConfigMap", "Service", "Deployment"]
_NAME = ("metadata", "name")
_WORKLOADS = ("DaemonSet", "Deployment")


def _sort_key(obj: dict[str, Any]) -> tuple[Any, ...]:
    kind = obj["kind"]
    group = obj["apiVersion"].rpartition("/")[0]
    rank = _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)
    meta = obj["metadata"]
    return (rank, "" if rank < len(_KIND_ORDER) else f"{group}_{obj['apiVersion']}_{kind}", meta["namespace"], meta["name"])


def _resource_problems(resource: Resource, objects: list[dict[str, Any]]) -> Iterator[Problem]:
    """Checks of one resource that need its namespace or its objects, or that the API server
    would otherwise make when the objects are applied."""
    model = resource.model
    spec = model.spec
    meta = model.metadata
    app = COORDINATOR_APP if isinstance(model, LMCacheCoordinator) else ENGINE_APP
    found: list[checks.Finding] = []
    if reason := checks.dns1123_subdomain(meta.name):
        found.append((_NAME, reason))
    if reason := checks.dns1123_label(resource.namespace):
        found.append((("metadata", "namespace"), reason))
    found += checks.labels(("metadata", "labels"), meta.labels)
    found += checks.annotations(("metadata", "annotations"), meta.annotations)
    found += checks.pod_labels(("spec", "podLabels"), app, meta.name, spec.pod_labels)
    found += checks.annotations(("spec", "podAnnotations"), spec.pod_annotations)
    found += checks.labels(("spec", "nodeSelector"), spec.node_selector)
    found += checks.resources(("spec", "resourceOverrides"), spec.resource_overrides)
    if spec.prometheus and spec.prometheus.service_monitor:
        found += checks.labels(("spec", "prometheus", "serviceMonitor", "labels"), spec.prometheus.service_monitor.labels)
    if not isinstance(model, LMCacheCoordinator):
        resp = spec.l2_backend.resp if spec.l2_backend else None
        ref = resp.auth_secret_ref if resp else None
        if ref is not None and ref.namespace not in (None, resource.namespace):
            found.append(
                (
                    ("spec", "l2Backend", "resp", "authSecretRef", "namespace"),
                    f'must be the engine namespace "{resource.namespace}": lmcache-gitops references the Secret '
                    "in place and never copies Secrets across namespaces",
                )
            )
    found += _pod_findings(resource, objects)
    for path, message in found:
        yield resource.problem(path, message)


def _pod_findings(resource: Resource, objects: list[dict[str, Any]]) -> Iterator[checks.Finding]:
    """The user's volumes must not clash with the generated ones, and every mount needs a volume."""
    spec = resource.model.spec
    pod = next(o for o in objects if o["kind"] in _WORKLOADS)["spec"]["template"]["spec"]
    user_volumes = spec.volumes or []
    volumes = pod.get("volumes", [])
    yield from checks.volumes(("spec", "volumes"), user_volumes, {v["name"] for v in volumes[len(user_volumes):]})
    names = {v["name"] for v in volumes}
    yield from checks.mounts(("spec", "volumeMounts"), spec.volume_mounts, names)
    for index, container in enumerate(pod.get("initContainers", ())):
        yield from checks.mounts(("spec", "initContainers", index, "volumeMounts"), container.get("volumeMounts"), names)


def _duplicates(resources: list[Resource]) -> Iterator[Problem]:
    first: dict[tuple[str, str, str], Resource] = {}
    for resource in resources:
        other = first.setdefault(resource.key, resource)
        if other is not resource:
            where = f"{other.document.source}:{other.document.line(_NAME)}"
            yield resource.problem(_NAME, f'{resource.kind} "{resource.name}" is already defined in namespace "{resource.namespace}" at {where}')


def _coordinator_urls(resources: list[Resource]) -> tuple[dict[int, str | None], list[Problem]]:
    """Each engine's coordinator URL: `url` as given, or `ref` resolved among the input's coordinators."""
    ports = {(r.namespace, r.name): r.model.spec.port for r in resources if isinstance(r.model, LMCacheCoordinator)}
    urls: dict[int, str | None] = {}
    problems = []
    for resource in resources:
        if isinstance(resource.model, LMCacheCoordinator) or resource.model.spec.coordinator is None:
            continue
        link = resource.model.spec.coordinator
        if link.url:
            urls[id(resource)] = link.url
            continue
        name = link.ref.name
        port = ports.get((resource.namespace, name))
        if port is None:
            problems.append(
                resource.problem(
                    ("spec", "coordinator", "ref", "name"),
                    f'no LMCacheCoordinator "{name}" in namespace "{resource.namespace}" among the input files',
                )
            )
        else:
            urls[id(resource)] = coordinator_url(name, resource.namespace, port)
    return urls, problems


def _objects(resource: Resource, url: str | None) -> list[dict[str, Any]]:
    model = resource.model
    if isinstance(model, (LMCacheEngine, CacheBlendEngine)):
        return engine_objects(engine(model, resource.namespace, url))
    return coordinator_objects(model.metadata.name, resource.namespace, model.spec)


def _name_problems(produced: list[tuple[Resource, list[dict[str, Any]]]]) -> Iterator[Problem]:
    """Generated names must be valid for their kind and must not collide across resources."""
    owner: dict[tuple[str, str, str, str], Resource] = {}
    clashes: dict[tuple[int, int], list[str]] = defaultdict(list)
    others: dict[int, Resource] = {}
    for resource, objects in produced:
        for obj in objects:
            kind, name = obj["kind"], obj["metadata"]["name"]
            reason = checks.dns1035_label(name) if kind == "Service" else checks.dns1123_subdomain(name)
            if reason:
                yield resource.problem(_NAME, f'the generated {kind} name "{name}" {reason}')
            first = owner.setdefault((obj["apiVersion"], kind, obj["metadata"]["namespace"], name), resource)
            if first.key != resource.key:  # the same key twice is reported once, as a duplicate
                clashes[(id(resource), id(first))].append(f'{kind} "{name}"')
                others[id(first)] = first
    for resource, _ in produced:
        for (clashing, first_id), names in clashes.items():
            if clashing == id(resource):
                first = others[first_id]
                yield resource.problem(
                    _NAME,
                    f"generates {', '.join(names)}, which {first.kind} \"{first.name}\" "
                    f"({first.document.source}:{first.document.line(_NAME)}) also generates",
                )


def produce(resources: Iterable[Resource]) -> list[tuple[Resource, list[dict[str, Any]]]]:
    """Each resource with the objects it generates, in a fixed order; raises InvalidInput with every problem."""
    ordered = sorted(resources, key=lambda r: (r.key, r.document.source, r.document.line(())))
    problems = list(_duplicates(ordered))
    urls, found = _coordinator_urls(ordered)
    problems += found
    produced = []
    for resource in ordered:
        objects = _objects(resource, urls.get(id(resource)))
        problems += _resource_problems(resource, objects)
        produced.append((resource, objects))
    problems += _name_problems(produced)
    if problems:
        raise InvalidInput(problems)
    return produced


def sort_objects(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(objects, key=_sort_key)


def render(resources: Iterable[Resource]) -> list[dict[str, Any]]:
    """Every object for ``resources``, in a fixed order; raises InvalidInput with every problem."""
    return sort_objects(obj for _, objects in produce(resources) for obj in objects)
