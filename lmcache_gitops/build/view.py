"""The typed engine view: the SetDefaults step, defaults that depend on other fields resolved once.

CRD defaults (one value per field) sit on the model fields; this module holds the rest, and
projects CacheBlendEngine onto the engine shape as the operator's cbSpecToEngineSpec does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import CacheBlendEngine, EngineSpecBase, LMCacheEngine
from ..models.kinds import BlendSpec, CacheBlendInjectionSpec, LMCacheInjectionSpec
from ..models.shared import PrometheusSpec

NVIDIA_NODE_SELECTOR = {"nvidia.com/gpu.present": "true"}
NVIDIA_RUNTIME_CLASS = "nvidia"


@dataclass(frozen=True)
class Engine:
    """An engine of either kind with its namespace and every conditional default resolved.

    CacheBlend has no isolatedIPC, hostNetwork or initContainers: the projection pins them off
    (operator-spec §f.1), so CacheBlend always uses hostIPC or the host's /dev/shm.
    """

    name: str
    namespace: str
    spec: EngineSpecBase
    coordinator_url: str | None
    isolated_ipc: bool = False
    host_network: bool = False
    init_containers: list[Any] | None = None
    blend: BlendSpec | None = None
    injection: LMCacheInjectionSpec | CacheBlendInjectionSpec | None = None
    """Its kind's injection settings, what its webhook reads (LMCache: optional)."""

    @property
    def prometheus(self) -> PrometheusSpec:
        return self.spec.prometheus or PrometheusSpec()  # engines: a missing block means enabled

    @property
    def node_selector(self) -> dict[str, str] | None:
        if self.spec.node_selector is None and self.spec.gpu_vendor == "nvidia":
            return dict(NVIDIA_NODE_SELECTOR)
        return self.spec.node_selector

    @property
    def runtime_class_name(self) -> str | None:
        if self.spec.runtime_class_name is None:
            return NVIDIA_RUNTIME_CLASS if self.spec.gpu_vendor == "nvidia" else None
        return self.spec.runtime_class_name or None  # "" leaves the field off the pod

    @property
    def host_ipc(self) -> bool:
        return self.spec.host_ipc and not self.isolated_ipc

    @property
    def shares_host_shm(self) -> bool:
        """Neither hostIPC nor isolated: mount the host's /dev/shm (volume lmcache-dev-shm)."""
        return not self.spec.host_ipc and not self.isolated_ipc


def engine(resource: LMCacheEngine | CacheBlendEngine, namespace: str, coordinator_url: str | None) -> Engine:
    name = resource.metadata.name
    if isinstance(resource, CacheBlendEngine):
        spec = resource.spec
        return Engine(name, namespace, spec, coordinator_url, blend=spec.blend, injection=spec.injection)
    return Engine(
        name,
        namespace,
        resource.spec,
        coordinator_url,
        isolated_ipc=resource.spec.isolated_ipc,
        host_network=resource.spec.host_network,
        init_containers=resource.spec.init_containers,
        injection=resource.spec.injection,
    )


def coordinator_prometheus(prometheus: PrometheusSpec | None) -> PrometheusSpec:
    """Coordinators: a missing block means disabled (the CRD default applies only inside it)."""
    return prometheus or PrometheusSpec(enabled=False)
