"""Pieces every object family shares: metadata, image fields, the workload envelope, monitoring."""

from __future__ import annotations

from typing import Any

from ..models.shared import ImageSpec, PodSettings, PrometheusSpec, ServiceMonitorSpec
from ..naming import metrics_service, selector_labels, standard_labels

SERVICE_MONITOR_API = "monitoring.coreos.com/v1"


def compact(**fields: Any) -> dict[str, Any]:
    """A dict of the fields that are set: None, empty strings and empty collections are left out,
    as Go's ``omitempty`` leaves them out of the operator's objects."""
    return {
        key: value for key, value in fields.items() if value is not None and value != "" and value != [] and value != {}
    }


def metadata(name: str, namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"labels": labels, "name": name, "namespace": namespace}


def image_fields(image: ImageSpec) -> dict[str, str]:
    return {"image": image.reference, "imagePullPolicy": image.pull_policy}


Family = tuple[str, str]  # (app, component): the labels of one kind's objects


def label_sets(family: Family, name: str) -> tuple[dict[str, str], dict[str, str]]:
    """(selector labels, standard labels) of one resource's objects."""
    app, component = family
    return selector_labels(app, name), standard_labels(app, name, component)


def workload(
    kind: str,
    name: str,
    namespace: str,
    family: Family,
    settings: PodSettings,
    node_selector: dict[str, str] | None,
    spec: dict[str, Any],
    **pod: Any,
) -> dict[str, Any]:
    """A DaemonSet or Deployment of one resource's pods: ``spec`` adds fields to the workload's
    spec, ``pod`` to the pod's, beside the settings every kind shares."""
    selector, standard = label_sets(family, name)
    pod_spec = compact(
        serviceAccountName=settings.service_account_name,
        priorityClassName=settings.priority_class_name,
        nodeSelector=node_selector,
        affinity=settings.affinity,
        tolerations=settings.tolerations,
        imagePullSecrets=settings.image_pull_secrets,
        **pod,
    )
    template_meta = compact(labels={**standard, **(settings.pod_labels or {})}, annotations=settings.pod_annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": metadata(name, namespace, standard),
        "spec": {
            **spec,
            "selector": {"matchLabels": selector},
            "template": {"metadata": template_meta, "spec": pod_spec},
        },
    }


def tcp_port(name: str, port: int, key: str = "port") -> dict[str, Any]:
    return {"name": name, key: port, "protocol": "TCP"}


def metrics_service_object(
    name: str, namespace: str, labels: dict[str, str], selector: dict[str, str], port: int
) -> dict[str, Any]:
    """The headless `<name>-metrics` Service that Prometheus scrapes."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(metrics_service(name), namespace, labels),
        "spec": {"clusterIP": "None", "ports": [tcp_port("metrics", port)], "selector": selector},
    }


def monitoring(
    name: str, namespace: str, family: Family, prometheus: PrometheusSpec, *, always: bool
) -> list[dict[str, Any]]:
    """The headless `<name>-metrics` Service (``always``, or with the ServiceMonitor) and, with
    serviceMonitor enabled, the ServiceMonitor."""
    selector, standard = label_sets(family, name)
    monitor = prometheus.service_monitor
    out = []
    if always or (monitor is not None and monitor.enabled):
        out.append(metrics_service_object(name, namespace, standard, selector, prometheus.port))
    if monitor is not None and monitor.enabled:
        out.append(service_monitor(name, namespace, standard, selector, monitor))
    return out


def service_monitor(
    name: str, namespace: str, labels: dict[str, str], selector: dict[str, str], monitor: ServiceMonitorSpec
) -> dict[str, Any]:
    """Selects both Services by the selector labels; only the metrics one has a `metrics` port."""
    return {
        "apiVersion": SERVICE_MONITOR_API,
        "kind": "ServiceMonitor",
        "metadata": metadata(name, namespace, {**labels, **(monitor.labels or {})}),
        "spec": {
            "endpoints": [{"interval": monitor.interval, "port": "metrics"}],
            "selector": {"matchLabels": selector},
        },
    }
