"""The whole input at once: checks across resources, then every generated object, in order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from . import checks, wiring
from .builders.coordinator import coordinator_objects
from .builders.engine import engine_objects
from .errors import InvalidInput, Problem
from .loading import Inputs, Manifest, Produced, Resource, Workloads
from .models import CacheBlendEngine, LMCacheCoordinator, LMCacheEngine
from .naming import COORDINATOR_APP, ENGINE_APP, coordinator_url
from .objects import group, pod_template, sort_key
from .resolve import engine

_NAME = ("metadata", "name")


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
    if isinstance(model, CacheBlendEngine) and not spec.injection.payload_image.repository:
        found.append((("spec", "injection", "payloadImage", "repository"), "Required value"))
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
    pod = next(template for o in objects if (template := pod_template(o)) is not None)["spec"]
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


def _produce(resources: Iterable[Resource]) -> tuple[Produced, list[Problem]]:
    """Each resource with the objects it generates, in a fixed order, and every problem."""
    ordered = sorted(resources, key=lambda r: (r.key, r.document.source, r.document.line(())))
    problems = list(_duplicates(ordered))
    urls, found = _coordinator_urls(ordered)
    problems += found
    produced = []
    for resource in ordered:
        generated = _objects(resource, urls.get(id(resource)))
        problems += _resource_problems(resource, generated)
        produced.append((resource, generated))
    problems += _name_problems(produced)
    return produced, problems


def _manifest_problems(manifests: list[Manifest], produced: Produced) -> Iterator[Problem]:
    """An object of the user's may appear once, and must not be one that a resource generates."""
    owners = {
        (group(obj["apiVersion"]), obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]): resource
        for resource, generated in produced
        for obj in generated
    }
    first: dict[tuple[str, str, str, str], Manifest] = {}
    for manifest in manifests:
        what = f'{manifest.kind} "{manifest.name}" in namespace "{manifest.namespace}"'
        owner = owners.get(manifest.key)
        other = first.setdefault(manifest.key, manifest)
        if owner is not None:
            yield manifest.problem(_NAME, f'{what} is generated by {owner.kind} "{owner.name}": rename one of them')
        elif other is not manifest:
            yield manifest.problem(_NAME, f"{what} is already defined at {other.document.source}:{other.document.line(_NAME)}")


@dataclass(frozen=True)
class Fleet:
    """Compiled input: each resource with its objects, each manifest with the object it deploys
    (wired when it opts in), and the webhook skips that were allowed, as warnings."""

    produced: Produced
    workloads: Workloads
    warnings: list[Problem]

    def objects(self) -> list[dict[str, Any]]:
        return sort_objects(deployed(self.produced, self.workloads))


def deployed(produced: Produced, workloads: Workloads) -> Iterator[dict[str, Any]]:
    """Every object the resources generate, then every object of the user's."""
    for _, generated in produced:
        yield from generated
    for _, obj in workloads:
        yield obj


def build(inputs: Inputs, *, allow_skip: bool = False, environment: str | None = None) -> Fleet:
    """Compile ``inputs``; raises InvalidInput with every problem of the resources and the manifests."""
    produced, problems = _produce(inputs.resources)
    problems += _manifest_problems(inputs.manifests, produced)
    wired, found = wiring.wire(inputs.manifests, produced, allow_skip=allow_skip, environment=environment)
    if problems or found:
        raise InvalidInput([*problems, *found])
    return Fleet(produced, wired.workloads, wired.warnings)


def sort_objects(found: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """In `kustomize build` order, so `render` and kustomize list objects alike."""
    return sorted(found, key=sort_key)
