"""LMCacheEngine and CacheBlendEngine objects (operator-spec §d.2, §f.1): one builder for both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..naming import DEV_SHM, DEV_SHM_VOLUME, ENGINE_APP, connection_configmap
from .args import MASTER_KEY_DIR, engine_args
from .common import compact, image_fields, label_sets, metadata, monitoring, pod_spec, service, tcp_port, workload
from .sizing import engine_resources, startup_failure_threshold
from .view import Engine

CONTAINER = "lmcache"
COMMAND = ["/opt/venv/bin/lmcache", "server"]
MASTER_KEY_VOLUME = "l2-master-key"
MASTER_KEY_MODE = 0o400  # 256: readable by the server only


FAMILY = (ENGINE_APP, "cache-engine")


def _env(engine: Engine) -> list[dict[str, Any]]:
    spec = engine.spec
    env: list[dict[str, Any]] = [{"name": "LMCACHE_LOG_LEVEL", "value": spec.log_level}]
    if spec.gpu_vendor == "nvidia":  # kept even without a runtime class: the NRI/CDI setups read them
        env += [
            {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
            {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "all"},
        ]
    resp = spec.l2_backend.resp if spec.l2_backend else None
    if resp is not None and resp.auth_secret_ref is not None:
        # The user's own Secret, referenced in place: no copy, no secret material in git (compat row 12).
        secret = resp.auth_secret_ref.name
        env += [
            {"name": "LMCACHE_RESP_PASSWORD", "valueFrom": {"secretKeyRef": {"key": "password", "name": secret}}},
            {
                "name": "LMCACHE_RESP_USERNAME",
                "valueFrom": {"secretKeyRef": {"key": "username", "name": secret, "optional": True}},
            },
        ]
    if engine.coordinator_url and spec.coordinator is not None and not spec.coordinator.advertise_ip:
        env.append(
            {"name": "LMCACHE_COORDINATOR_ADVERTISE_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
        )
    return env + list(spec.env or ())


def operator_volumes(engine: Engine) -> tuple[list[Any], list[Any]]:
    """The volumes the operator adds to the user's, and their mounts on the server container."""
    spec = engine.spec
    volumes: list[Any] = []
    mounts: list[Any] = []
    user_shm = any(m.get("mountPath") == DEV_SHM for m in spec.volume_mounts or ()) or any(
        v.get("name") == DEV_SHM_VOLUME for v in spec.volumes or ()
    )
    # Never an emptyDir at /dev/shm: a private tmpfs would hide the host's and break CUDA IPC.
    if engine.shares_host_shm and not user_shm:
        volumes.append({"hostPath": {"path": DEV_SHM, "type": "Directory"}, "name": DEV_SHM_VOLUME})
        mounts.append({"mountPath": DEV_SHM, "name": DEV_SHM_VOLUME})
    serde = spec.l2_backend.serde if spec.l2_backend else None
    if serde is not None and serde.aesgcm is not None:
        secret = {
            "defaultMode": MASTER_KEY_MODE,
            "items": [{"key": "master", "path": "master"}],
            "secretName": serde.aesgcm.master_key_secret_ref.name,
        }
        volumes.append({"name": MASTER_KEY_VOLUME, "secret": secret})
        mounts.append({"mountPath": MASTER_KEY_DIR, "name": MASTER_KEY_VOLUME, "readOnly": True})
    return volumes, mounts


def _probe(port: int, period: int, **extra: int) -> dict[str, Any]:
    return {"periodSeconds": period, "tcpSocket": {"port": port}, **extra}


def _container(engine: Engine, mounts: list[Any]) -> dict[str, Any]:
    spec = engine.spec
    port = spec.server.port
    ports = [tcp_port("server", port, "containerPort"), tcp_port("http", spec.server.http_port, "containerPort")]
    if engine.prometheus.enabled:
        ports.append(tcp_port("metrics", engine.prometheus.port, "containerPort"))
    startup = startup_failure_threshold(spec.l1.size_gb)
    return compact(
        name=CONTAINER,
        **image_fields(spec.image),
        command=list(COMMAND),
        args=engine_args(engine),
        ports=ports,
        env=_env(engine),
        resources=engine_resources(spec.l1.size_gb, spec.resource_overrides),
        securityContext={"privileged": spec.privileged},  # always written, even when false
        volumeMounts=mounts,
        startupProbe=_probe(port, 5, initialDelaySeconds=5, failureThreshold=startup),
        livenessProbe=_probe(port, 10),
        readinessProbe=_probe(port, 5),
    )


def daemonset(engine: Engine) -> dict[str, Any]:
    spec = engine.spec
    volumes, mounts = operator_volumes(engine)
    pod = pod_spec(
        spec,
        engine.node_selector,
        hostIPC=engine.host_ipc or None,
        hostNetwork=engine.host_network or None,
        dnsPolicy="ClusterFirstWithHostNet" if engine.host_network else None,
        runtimeClassName=engine.runtime_class_name,
        initContainers=engine.init_containers,
        volumes=[*(spec.volumes or ()), *volumes],
        containers=[_container(engine, [*(spec.volume_mounts or ()), *mounts])],
    )
    return workload(
        "DaemonSet",
        engine.name,
        engine.namespace,
        FAMILY,
        {},
        pod,
        pod_labels=spec.pod_labels,
        pod_annotations=spec.pod_annotations,
    )


def lookup_service(engine: Engine) -> dict[str, Any]:
    """Node-local discovery: ClusterIP with internalTrafficPolicy Local reaches this node's engine."""
    ports = [tcp_port("server", engine.spec.server.port), tcp_port("http", engine.spec.server.http_port)]
    return service(engine.name, engine.namespace, FAMILY, ports, internalTrafficPolicy="Local")


def connection_configmap_object(engine: Engine, connection: Mapping[str, str]) -> dict[str, Any]:
    _, standard = label_sets(FAMILY, engine.name)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(connection_configmap(engine.name), engine.namespace, standard),
        "data": dict(connection),
    }


def engine_objects(engine: Engine, connection: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every object of one engine, given its connection data (`connection.connection_data`); the
    metrics Service exists even with Prometheus disabled."""
    return [
        daemonset(engine),
        lookup_service(engine),
        connection_configmap_object(engine, connection),
        *monitoring(engine.name, engine.namespace, FAMILY, engine.prometheus, always=True),
    ]
