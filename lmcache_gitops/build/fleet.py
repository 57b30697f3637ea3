"""Every resource built at once: its objects, its engine view, and the checks across the fleet."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import Problem
from ..k8s import checks
from ..k8s.kinds import group
from ..models import (
    CacheBlendEngine,
    EngineResource,
    LMCacheConfig,
    LMCacheCoordinator,
    LMCacheEngine,
    LMCacheServer,
    VllmRouter,
)
from ..models.inprocess import LMCacheConfigSpec
from ..models.shared import PodSettings
from ..naming import COORDINATOR_APP, ENGINE_APP, OWN_MANAGER, SERVER_APP, coordinator_url, file_name, server_url
from ..read.inputs import Manifest, Resource, ResourceKey, repeats
from .connection import connection_data
from .coordinator import coordinator_objects
from .engine import engine_objects, operator_volumes
from .inprocess import config_objects, server_objects, settings
from .router import router_objects
from .sizing import size_problem
from .view import Engine, engine

_NAME = ("metadata", "name")

Object = dict[str, Any]
ObjectKey = tuple[str, str, str, str]  # (apiVersion or group, kind, namespace, name)


@dataclass(frozen=True)
class Built:
    """One resource with the objects it generates."""

    resource: Resource
    objects: list[Object] = field(repr=False)


@dataclass(frozen=True)
class BuiltConfig(Built):
    """An LMCacheConfig with its objects and its settings in LMCache's key names: what the
    in-process wiring writes into the pods that use it."""

    settings: dict[str, Any] = field(repr=False)

    @property
    def spec(self) -> LMCacheConfigSpec:
        model = self.resource.model
        assert isinstance(model, LMCacheConfig)
        return model.spec


@dataclass(frozen=True)
class BuiltEngine(Built):
    """An engine with its objects, its typed view and its connection ConfigMap's data by key:
    what the webhooks need to wire a pod to it."""

    engine: Engine = field(repr=False)
    connection: Mapping[str, str] = field(repr=False)


def _resource_problems(item: Built) -> Iterator[Problem]:
    """Checks of one resource that need its namespace or its engine view, or that the API server
    would otherwise make when its objects are applied."""
    resource = item.resource
    model = resource.model
    meta = model.metadata
    found: list[checks.Finding] = []
    if reason := checks.dns1123_subdomain(meta.name):
        found.append((_NAME, reason))
    if reason := checks.dns1123_label(resource.namespace):
        found.append((("metadata", "namespace"), reason))
    found += checks.labels(("metadata", "labels"), meta.labels)
    found += checks.annotation_keys(("metadata", "annotations"), meta.annotations)
    if isinstance(model, LMCacheConfig):
        found += checks.labels(("spec", "podSelector"), model.spec.pod_selector)
    else:
        found += checks.labels(("spec", "nodeSelector"), model.spec.node_selector)
    if isinstance(model, LMCacheServer):
        spec = model.spec
        found += checks.pod_labels(("spec", "podLabels"), SERVER_APP, meta.name, spec.pod_labels, OWN_MANAGER)
        found += checks.annotation_keys(("spec", "podAnnotations"), spec.pod_annotations)
        found += checks.resources(("spec", "resources"), spec.resources)
    elif isinstance(model, LMCacheEngine | CacheBlendEngine | LMCacheCoordinator):
        found += _pod_findings(item, model)
    for path, message in found:
        yield resource.problem(path, message)


def _pod_findings(
    item: Built, model: LMCacheEngine | CacheBlendEngine | LMCacheCoordinator
) -> Iterator[checks.Finding]:
    resource = item.resource
    spec = model.spec
    app = COORDINATOR_APP if isinstance(model, LMCacheCoordinator) else ENGINE_APP
    yield from checks.pod_labels(("spec", "podLabels"), app, model.metadata.name, spec.pod_labels)
    yield from checks.annotation_keys(("spec", "podAnnotations"), spec.pod_annotations)
    yield from checks.resources(("spec", "resourceOverrides"), spec.resource_overrides)
    if spec.prometheus and spec.prometheus.service_monitor:
        yield from checks.labels(
            ("spec", "prometheus", "serviceMonitor", "labels"), spec.prometheus.service_monitor.labels
        )
    if isinstance(item, BuiltEngine):
        yield from _engine_findings(resource, item.engine)
    else:
        yield from _volume_findings(spec, [], [])


def _engine_findings(resource: Resource, view: Engine) -> Iterator[checks.Finding]:
    spec = view.spec
    model = resource.model
    if isinstance(model, CacheBlendEngine) and not model.spec.injection.payload_image.repository:
        yield ("spec", "injection", "payloadImage", "repository"), "Required value: must be a non-empty string"
    resp = spec.l2_backend.resp if spec.l2_backend else None
    ref = resp.auth_secret_ref if resp else None
    if ref is not None and ref.namespace not in (None, resource.namespace):
        yield (
            ("spec", "l2Backend", "resp", "authSecretRef", "namespace"),
            f'must be the engine namespace "{resource.namespace}": lmcache-gitops references the Secret '
            "in place and never copies Secrets across namespaces",
        )
    if reason := size_problem(spec.l1.size_gb, spec.resource_overrides):
        yield ("spec", "l1", "sizeGB"), reason
    yield from _volume_findings(view.spec, operator_volumes(view)[0], view.init_containers or [])


def _volume_findings(spec: PodSettings, generated: list[Any], init_containers: list[Any]) -> Iterator[checks.Finding]:
    """The user's volumes must not clash with the ones the operator adds, and every mount needs a volume."""
    user_volumes = spec.volumes or []
    yield from checks.volumes(("spec", "volumes"), user_volumes, {v["name"] for v in generated})
    names = {v["name"] for v in [*user_volumes, *generated]}
    yield from checks.mounts(("spec", "volumeMounts"), spec.volume_mounts, names)
    for index, container in enumerate(init_containers):
        yield from checks.mounts(
            ("spec", "initContainers", index, "volumeMounts"), container.get("volumeMounts"), names
        )


def _coordinator_url(
    resource: Resource, model: EngineResource, ports: dict[tuple[str, str], int], excused: frozenset[ResourceKey]
) -> tuple[str | None, list[Problem]]:
    """An engine's coordinator URL: `url` as given, or `ref` resolved among the input's coordinators."""
    link = model.spec.coordinator
    if link is None:
        return None, []
    if link.url:
        return link.url, []
    assert link.ref is not None  # the model requires one of url and ref
    name = link.ref.name
    port = ports.get((resource.namespace, name))
    if port is None:
        if ("LMCacheCoordinator", resource.namespace, name) in excused:
            return None, []  # it is there, with a problem of its own
        message = f'no LMCacheCoordinator "{name}" in namespace "{resource.namespace}" among the input files'
        return None, [resource.problem(("spec", "coordinator", "ref", "name"), message)]
    return coordinator_url(name, resource.namespace, port), []


def _remote_url(
    resource: Resource, model: LMCacheConfig, servers: dict[tuple[str, str], int], excused: frozenset[ResourceKey]
) -> tuple[str | None, list[Problem]]:
    """A configuration's remote URL: `url` as given, or `server` resolved among the input's servers."""
    remote = model.spec.remote
    if remote is None or remote.url is not None:
        return (remote.url if remote else None), []
    assert remote.server is not None  # the model requires one of url and server
    port = servers.get((resource.namespace, remote.server))
    if port is None:
        if ("LMCacheServer", resource.namespace, remote.server) in excused:
            return None, []
        message = f'no LMCacheServer "{remote.server}" in namespace "{resource.namespace}" among the input files'
        return None, [resource.problem(("spec", "remote", "server"), message)]
    return server_url(remote.server, resource.namespace, port), []


def _build(
    resource: Resource,
    ports: dict[tuple[str, str], int],
    servers: dict[tuple[str, str], int],
    excused: frozenset[ResourceKey],
) -> tuple[Built, list[Problem]]:
    model = resource.model
    if isinstance(model, LMCacheCoordinator):
        return Built(resource, coordinator_objects(model.metadata.name, resource.namespace, model.spec)), []
    if isinstance(model, VllmRouter):
        return Built(resource, router_objects(model.metadata.name, resource.namespace, model.spec)), []
    if isinstance(model, LMCacheServer):
        return Built(resource, server_objects(model.metadata.name, resource.namespace, model.spec)), []
    if isinstance(model, LMCacheConfig):
        remote, problems = _remote_url(resource, model, servers, excused)
        values = settings(model.spec, remote)
        return BuiltConfig(resource, config_objects(model.metadata.name, resource.namespace, values), values), problems
    url, problems = _coordinator_url(resource, model, ports, excused)
    view = engine(model, resource.namespace, url)
    connection = connection_data(view)
    return BuiltEngine(resource, engine_objects(view, connection), view, connection), problems


def _name_problems(built: list[Built]) -> Iterator[Problem]:
    """Generated names must be valid for their kind and must not collide across resources."""
    owner: dict[ObjectKey, Resource] = {}
    clashes: defaultdict[tuple[Resource, Resource], list[str]] = defaultdict(list)
    for item in built:
        resource = item.resource
        for obj in item.objects:
            kind, name = obj["kind"], obj["metadata"]["name"]
            reason = checks.dns1035_label(name) if kind == "Service" else checks.dns1123_subdomain(name)
            if reason:
                yield resource.problem(_NAME, f'the generated {kind} name "{name}" {reason}')
            first = owner.setdefault((obj["apiVersion"], kind, obj["metadata"]["namespace"], name), resource)
            if first.key != resource.key:  # the same key twice is reported once, as a duplicate
                clashes[(resource, first)].append(f'{kind} "{name}"')
    for (resource, first), names in clashes.items():
        yield resource.problem(
            _NAME,
            f'generates {", ".join(names)}, which {first.kind} "{first.name}" ({first.document.where(_NAME)}) also generates',
        )


def build_resources(
    resources: Iterable[Resource], excused: frozenset[ResourceKey] = frozenset()
) -> tuple[list[Built], list[Problem]]:
    """Each resource with the objects it generates, in a fixed order, and every problem (a
    reference to an ``excused`` resource is none)."""
    ordered = sorted(resources, key=lambda r: (r.key, r.document.source, r.document.line(())))
    problems = [
        again.problem(
            _NAME,
            f'{again.kind} "{again.name}" is already defined in namespace "{again.namespace}" at {first.document.where(_NAME)}',
        )
        for again, first in repeats(ordered, lambda r: r.key)
    ]
    ports = {(r.namespace, r.name): r.model.spec.port for r in ordered if isinstance(r.model, LMCacheCoordinator)}
    servers = {(r.namespace, r.name): r.model.spec.port for r in ordered if isinstance(r.model, LMCacheServer)}
    built = []
    for resource in ordered:
        item, found = _build(resource, ports, servers, excused)
        problems += found
        problems += _resource_problems(item)
        built.append(item)
    problems += _name_problems(built)
    return built, problems


def route_problems(built: list[Built], manifests: list[Manifest], excused: frozenset[ResourceKey]) -> Iterator[Problem]:
    """A router's prefill and decode name Services of the user's in its namespace (the operator
    would start a router that dials nothing), with the port it dials among theirs."""
    services = {(m.namespace, m.name): m for m in manifests if m.kind == "Service" and m.data["apiVersion"] == "v1"}
    for item in built:
        resource, model = item.resource, item.resource.model
        if not isinstance(model, VllmRouter):
            continue
        namespace = resource.namespace
        for role, endpoint in (("prefill", model.spec.prefill), ("decode", model.spec.decode)):
            name = endpoint.service_name
            service = services.get((namespace, name))
            if service is None:
                if ("Service", namespace, name) not in excused:  # else it is there, with a problem of its own
                    there = ", ".join(f'"{n}"' for ns, n in sorted(services) if ns == namespace) or "none"
                    yield resource.problem(
                        ("spec", role, "serviceName"),
                        f'no Service "{name}" in namespace "{namespace}" among the input files (Services there: {there})',
                    )
                continue
            ports = _service_ports(service.data)
            if ports and endpoint.port not in ports:
                listed = ", ".join(str(p) for p in ports)
                yield resource.problem(
                    ("spec", role, "port"), f'Service "{name}" has no port {endpoint.port} (its ports: {listed})'
                )


def remote_problems(
    built: list[Built], manifests: list[Manifest], excused: frozenset[ResourceKey]
) -> Iterator[Problem]:
    """A configuration's remote URL that names a Service of its own namespace (a short name, or
    `<name>.<namespace>.svc[.cluster.local]`) must name one among the inputs: yours, or one a
    resource generates. Any other host is a cache that runs elsewhere."""
    services = {(m.namespace, m.name) for m in manifests if m.kind == "Service"}
    services |= {
        (o["metadata"]["namespace"], o["metadata"]["name"]) for i in built for o in i.objects if o["kind"] == "Service"
    }
    for item in built:
        model = item.resource.model
        if not isinstance(model, LMCacheConfig) or model.spec.remote is None or model.spec.remote.url is None:
            continue
        namespace = item.resource.namespace
        name = _in_namespace(model.spec.remote.url, namespace)
        if name is None or (namespace, name) in services or ("Service", namespace, name) in excused:
            continue
        there = ", ".join(f'"{n}"' for ns, n in sorted(services) if ns == namespace) or "none"
        yield item.resource.problem(
            ("spec", "remote", "url"),
            f'names Service "{name}" of namespace "{namespace}", which is not among the input files (Services '
            f"there: {there}): add it to the workloads, or give the address of a cache outside the project",
        )


def _in_namespace(url: str, namespace: str) -> str | None:
    """The Service of ``namespace`` a URL's host names, if it names one (s3:// names a bucket,
    unix:// a socket, blackhole:// nothing)."""
    scheme, _, rest = url.partition("://")
    if scheme in ("s3", "unix", "blackhole"):
        return None
    host = rest.rpartition("@")[2].split("/")[0].rsplit(":", 1)[0]
    parts = host.split(".")
    if len(parts) == 1:
        return host or None
    if parts[1:] in ([namespace, "svc"], [namespace, "svc", "cluster", "local"]):
        return parts[0]
    return None


def _service_ports(service: dict[str, Any]) -> list[int]:
    """The ports a Service of the user's exposes (none: an ExternalName Service, any port)."""
    spec = service.get("spec")
    ports = spec.get("ports") if isinstance(spec, dict) else None
    if not isinstance(ports, list):
        return []
    return sorted({p["port"] for p in ports if isinstance(p, dict) and isinstance(p.get("port"), int)})


def manifest_problems(manifests: list[Manifest], built: list[Built]) -> Iterator[Problem]:
    """An object of the user's may appear once, and must not be one that a resource generates."""
    owners = {
        (group(obj["apiVersion"]), obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]): item.resource
        for item in built
        for obj in item.objects
    }
    for manifest in manifests:
        owner = owners.get(manifest.key)
        if owner is not None:
            yield manifest.problem(
                _NAME, f'{_what(manifest)} is generated by {owner.kind} "{owner.name}": rename one of them'
            )
    repeated = {again for again, _ in repeats((m for m in manifests if m.key not in owners), lambda m: m.key)}
    for again, first in repeats((m for m in manifests if m.key not in owners), lambda m: m.key):
        yield again.problem(_NAME, f"{_what(again)} is already defined at {first.document.where(_NAME)}")
    yield from _file_name_problems([m for m in manifests if m.key not in owners and m not in repeated], built)


def _file_name_problems(manifests: list[Manifest], built: list[Built]) -> Iterator[Problem]:
    """Two objects whose files in the tree would have one name (`<kind>.<name>.yaml`: kinds of
    other groups, or spelled in other case, and namespaces are not in it): one would overwrite the other."""
    generated = {file_name(obj): item.resource for item in built for obj in item.objects}
    for manifest in manifests:
        owner = generated.get(file_name(manifest.data))
        if owner is not None:
            yield manifest.problem(
                _NAME,
                f"{_what(manifest)} would be written as {file_name(manifest.data)}, the file of an object that "
                f'{owner.kind} "{owner.name}" generates: rename it',
            )
    others = (m for m in manifests if file_name(m.data) not in generated)
    for again, first in repeats(others, lambda m: file_name(m.data)):
        yield again.problem(
            _NAME,
            f"{_what(again)} would be written as {file_name(again.data)}, the file of {_what(first)} "
            f"({first.document.where(_NAME)}): rename one of them",
        )


def _what(manifest: Manifest) -> str:
    return f'{manifest.kind} "{manifest.name}" in namespace "{manifest.namespace}"'
