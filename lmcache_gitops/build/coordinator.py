"""LMCacheCoordinator objects (operator-spec §d.4): a Deployment, its Service, optional monitoring."""

from __future__ import annotations

from typing import Any

from ..models import LMCacheCoordinatorSpec
from ..naming import COORDINATOR_APP
from .args import coordinator_args
from .common import compact, image_fields, monitoring, pod_spec, service, tcp_port, workload
from .view import coordinator_prometheus

CONTAINER = "coordinator"
COMMAND = ["/opt/venv/bin/lmcache", "coordinator"]
HEALTH_PATH = "/healthz"


def _probe(port: int, period: int, failures: int, **extra: int) -> dict[str, Any]:
    return {
        "failureThreshold": failures,
        "httpGet": {"path": HEALTH_PATH, "port": port},
        "periodSeconds": period,
        **extra,
    }


FAMILY = (COORDINATOR_APP, "coordinator")


def deployment(name: str, namespace: str, spec: LMCacheCoordinatorSpec) -> dict[str, Any]:
    prometheus = coordinator_prometheus(spec.prometheus)
    ports = [tcp_port("http", spec.port, "containerPort")]
    if prometheus.enabled:
        ports.append(tcp_port("metrics", prometheus.port, "containerPort"))
    container = compact(
        name=CONTAINER,
        **image_fields(spec.image),
        command=list(COMMAND),
        args=coordinator_args(spec),
        ports=ports,
        env=[{"name": "LMCACHE_LOG_LEVEL", "value": spec.log_level}, *(spec.env or ())],
        volumeMounts=spec.volume_mounts,
        startupProbe=_probe(spec.port, 5, 30, initialDelaySeconds=5),
        livenessProbe=_probe(spec.port, 10, 3),
        readinessProbe=_probe(spec.port, 5, 3),
    )
    container["resources"] = spec.resource_overrides or {}  # the operator writes `resources: {}`
    return workload(
        "Deployment",
        name,
        namespace,
        FAMILY,
        {"replicas": spec.replicas},
        pod_spec(spec, spec.node_selector, volumes=spec.volumes, containers=[container]),
        pod_labels=spec.pod_labels,
        pod_annotations=spec.pod_annotations,
    )


def coordinator_objects(name: str, namespace: str, spec: LMCacheCoordinatorSpec) -> list[dict[str, Any]]:
    """The metrics Service and the ServiceMonitor exist only with serviceMonitor enabled."""
    prometheus = coordinator_prometheus(spec.prometheus)
    return [
        deployment(name, namespace, spec),
        service(name, namespace, FAMILY, [tcp_port("http", spec.port)], type="ClusterIP"),
        *monitoring(name, namespace, FAMILY, prometheus, always=False),
    ]
