"""Names and labels of generated objects (operator-spec §d.1), in one place."""

from __future__ import annotations

MANAGED_BY = "lmcache-operator"  # kept: dashboards and selectors written for the operator still match
ENGINE_APP = "lmcache"
COORDINATOR_APP = "lmcache-coordinator"
CONNECTION_KEY = "kv-transfer-config.json"


def connection_configmap(name: str) -> str:
    return f"{name}-connection"


def metrics_service(name: str) -> str:
    return f"{name}-metrics"


def selector_labels(app: str, name: str) -> dict[str, str]:
    """The immutable labels that selectors use."""
    return {
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/name": app,
    }


def standard_labels(app: str, name: str, component: str) -> dict[str, str]:
    return {**selector_labels(app, name), "app.kubernetes.io/component": component}


def engine_host(name: str, namespace: str) -> str:
    """The engine's lookup Service as vLLM dials it (connection JSON)."""
    return f"tcp://{name}.{namespace}.svc.cluster.local"


def coordinator_url(name: str, namespace: str, port: int) -> str:
    """The coordinator's in-cluster URL: `.svc`, without `.cluster.local` (operator-spec §e.3)."""
    return f"http://{name}.{namespace}.svc:{port}"
