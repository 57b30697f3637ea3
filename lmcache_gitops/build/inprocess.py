"""lmcache-gitops's own kinds: an LMCacheConfig's file (a ConfigMap) and settings, an
LMCacheServer's Deployment and Service."""

from __future__ import annotations

import json
from typing import Any

from ..models.inprocess import LMCacheConfigSpec, LMCacheServerSpec
from ..naming import CONFIG_APP, CONFIG_FILE, OWN_MANAGER, SERVER_APP
from ..read.yamlio import dump_all
from .common import compact, image_fields, label_sets, metadata, service, tcp_port, workload

CONFIG_FAMILY = (CONFIG_APP, "config", OWN_MANAGER)
SERVER_FAMILY = (SERVER_APP, "cache-server", OWN_MANAGER)
SERVER_COMMAND = ["lmcache_server"]  # `lmcache_server <host> <port> <device>`: positional, as LMCache parses them
SERVER_PORT_NAME = "lm"
SERVER_RESOURCES = {"requests": {"cpu": "4", "memory": "10Gi"}}  # LMCache's vLLM integration doc


def settings(spec: LMCacheConfigSpec, remote_url: str | None) -> dict[str, Any]:
    """The configuration in LMCache's own key names, as `lmcache/v1/config.py` reads them."""
    out: dict[str, Any] = {
        "chunk_size": spec.chunk_size,
        "local_cpu": spec.local_cpu,
        "max_local_cpu_size": spec.max_local_cpu_size,
        "max_local_disk_size": spec.max_local_disk_size,
        "cache_policy": spec.cache_policy,
    }
    if spec.local_disk is not None:
        out["local_disk"] = spec.local_disk
    if spec.remote is not None and remote_url is not None:
        out["remote_url"] = remote_url
        out["remote_serde"] = spec.remote.serde
    if spec.p2p is not None:
        out.update(enable_p2p=True, lookup_url=spec.p2p.lookup_url, distributed_url=spec.p2p.distributed_url)
    if spec.save_unfull_chunk is not None:
        out["save_unfull_chunk"] = spec.save_unfull_chunk
    if spec.extra_config is not None:
        out["extra_config"] = spec.extra_config
    out.update(spec.settings or {})
    return dict(sorted(out.items()))


def env_value(value: Any) -> str:
    """A setting as an LMCACHE_* variable: LMCache's env parser reads True/False, plain numbers,
    and JSON for extra_config."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, list):  # LMCache splits list settings at commas
        return ",".join(str(item) for item in value)
    return str(value)


def env_vars(values: dict[str, Any]) -> list[dict[str, str]]:
    return [{"name": f"LMCACHE_{key.upper()}", "value": env_value(value)} for key, value in values.items()]


def config_objects(name: str, namespace: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    _, standard = label_sets(CONFIG_FAMILY, name)
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata(name, namespace, standard),
            "data": {CONFIG_FILE: dump_all([values])},
        }
    ]


def _probe(port: int, period: int) -> dict[str, Any]:
    return {"initialDelaySeconds": 5, "periodSeconds": period, "tcpSocket": {"port": port}}


def server_objects(name: str, namespace: str, spec: LMCacheServerSpec) -> list[dict[str, Any]]:
    """One store: the seed's Deployment with LMCache's real command line, and its Service."""
    container = compact(
        name="server",
        **image_fields(spec.image),
        command=list(SERVER_COMMAND),
        args=["0.0.0.0", str(spec.port), spec.device],
        ports=[tcp_port(SERVER_PORT_NAME, spec.port, "containerPort")],
        env=spec.env,
        resources=spec.resources if spec.resources is not None else SERVER_RESOURCES,
        readinessProbe=_probe(spec.port, 10),
        livenessProbe=_probe(spec.port, 20),
    )
    pod = compact(
        containers=[container],
        nodeSelector=spec.node_selector,
        tolerations=spec.tolerations,
        priorityClassName=spec.priority_class_name,
    )
    deployment = workload(
        "Deployment",
        name,
        namespace,
        SERVER_FAMILY,
        {"replicas": spec.replicas},
        pod,
        pod_labels=spec.pod_labels,
        pod_annotations=spec.pod_annotations,
    )
    port = {**tcp_port(SERVER_PORT_NAME, spec.port), "targetPort": SERVER_PORT_NAME}
    return [deployment, service(name, namespace, SERVER_FAMILY, [port], type="ClusterIP")]
