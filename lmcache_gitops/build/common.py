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


Family = tuple[str, str] | tuple[str, str, str]  # (app, component[, manager]): one kind's labels


def label_sets(family: Family, name: str) -> tuple[dict[str, str], dict[str, str]]:
    """(selector labels, standard labels) of one resource's objects."""
    app, component, *manager = family
    return selector_labels(app, name, *manager), standard_labels(app, name, component, *manager)


def pod_spec(settings: PodSettings, node_selector: dict[str, str] | None, **pod: Any) -> dict[str, Any]:
    """The pod spec of one resource's pods: ``pod`` beside the settings the operator's kinds share."""
    return compact(
        serviceAccountName=settings.service_account_name,
        priorityClassName=settings.priority_class_name,
        nodeSelector=node_selector,
        affinity=settings.affinity,
        tolerations=settings.tolerations,
        imagePullSecrets=settings.image_pull_secrets,
        **pod,
    )


def workload(
    kind: str,
    name: str,
    namespace: str,
    family: Family,
    spec: dict[str, Any],
    pod: dict[str, Any],
    *,
    pod_labels: dict[str, str] | None = None,
    pod_annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A DaemonSet or Deployment of one resource's pods: ``spec`` adds fields to the workload's
    spec; the pods carry the standard labels, then ``pod_labels`` (which win, as MergeLabels)."""
    selector, standard = label_sets(family, name)
    template_meta = compact(labels={**standard, **(pod_labels or {})}, annotations=pod_annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": metadata(name, namespace, standard),
        "spec": {
            **spec,
            "selector": {"matchLabels": selector},
            "template": {"metadata": template_meta, "spec": pod},
        },
    }


def service(name: str, namespace: str, family: Family, ports: list[Any], **spec: Any) -> dict[str, Any]:
    """The Service `<name>` in front of one resource's pods; ``spec`` adds its other fields."""
    selector, standard = label_sets(family, name)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name, namespace, standard),
        "spec": {"ports": ports, "selector": selector, **spec},
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
