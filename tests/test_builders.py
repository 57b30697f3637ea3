"""Parity with the operator's own test vectors: resource math, argument order, formats, JSON."""

from __future__ import annotations

import json

import pytest

from lmcache_gitops import gojson
from lmcache_gitops.build.sizing import memory_gi, startup_failure_threshold

from .helpers import find, render, resource


@pytest.mark.parametrize(
    ("size", "request_gi", "limit_gi"),
    [(60, 65, 98), (10, 15, 23), (0.5, 6, 9), (100, 105, 158), (10.2, 16, 24)],  # operator-spec §c
)
def test_memory(size: float, request_gi: int, limit_gi: int) -> None:
    assert memory_gi(size) == (request_gi, limit_gi)


@pytest.mark.parametrize(
    ("size", "failures"),
    [
        # The operator's own table (daemonset_test.go at 9fed071).
        (10, 30),
        (0.5, 30),
        (150, 30),
        (155, 31),
        (300, 60),
        (1200, 240),
        # Between multiples of 5, Go's int32() truncates (compat row 5).
        (151, 30),
        (152, 30),
        (154.999, 30),
        (157, 31),
        (159.9, 31),
        (160, 32),
        (300.5, 60),
        (304.99, 60),
        (1202.5, 240),
    ],
)
def test_startup_failure_threshold(size: float, failures: int) -> None:
    assert startup_failure_threshold(size) == failures


@pytest.mark.parametrize(
    ("value", "text"),
    [(5, "5"), (0.5, "0.5"), (30, "30"), (2.5, "2.5"), (1e-7, "0.0000001"), (1e21, "1000000000000000000000")],
)
def test_format_float_is_go_shortest_without_exponent(value: float, text: str) -> None:
    assert gojson.format_float(value) == text


@pytest.mark.parametrize(("value", "text"), [(60, "60.0"), (0.5, "0.5"), (10, "10.0"), (10.25, "10.2"), (0.05, "0.1")])
def test_size_is_percent_1f(value: float, text: str) -> None:
    assert gojson.fixed(value, 1) == text


def test_json_matches_go_encoding() -> None:
    assert (
        gojson.marshal({"b": 1.0, "a": "<&>", "c": [1e-7, 1e21, 0.15]})
        == '{"a":"\\u003c\\u0026\\u003e","b":1,"c":[1e-7,1e+21,0.15]}'
    )
    assert gojson.marshal_indent({"k": {}, "l": []}) == '{\n  "k": {},\n  "l": []\n}'


def _container(objects: list[dict], kind: str = "DaemonSet") -> dict:
    return find(objects, kind)["spec"]["template"]["spec"]["containers"][0]


def test_engine_args_in_operator_order() -> None:
    spec = {
        "l2Backend": {"resp": {"host": "redis", "port": 6379, "maxCapacityGB": 100}, "prefetchMaxInFlight": 4},
        "coordinator": {"url": "http://c:9300", "heartbeatInterval": 2.5, "eventReporting": True},
        "extraArgs": ["--max-workers", "4"],
    }
    args = _container(render(resource("LMCacheEngine", **spec)))["args"]
    assert args == [
        "--host", "0.0.0.0", "--port", "5555", "--http-port", "8080", "--l1-size-gb", "10.0",
        "--chunk-size", "256", "--max-workers", "1", "--hash-algorithm", "blake3",
        "--eviction-policy", "LRU", "--eviction-trigger-watermark", "0.80", "--eviction-ratio", "0.20",
        "--prometheus-port", "9090",
        "--l2-adapter", '{"host":"redis","max_capacity_gb":100,"num_workers":8,"port":6379,"type":"resp"}',
        "--l2-store-policy", "default", "--l2-prefetch-policy", "default", "--l2-prefetch-max-in-flight", "4",
        "--coordinator-url", "http://c:9300", "--coordinator-heartbeat-interval", "2.5",
        "--coordinator-event-reporting", "--coordinator-event-flush-interval", "1",
        "--max-workers", "4",
    ]  # fmt: skip


def test_disabled_prometheus_and_isolated_ipc() -> None:
    objects = render(resource("LMCacheEngine", prometheus={"enabled": False}, isolatedIPC=True))
    container = _container(objects)
    assert container["args"][-2:] == ["--disable-prometheus", "--isolated-ipc"]
    assert [p["name"] for p in container["ports"]] == ["server", "http"]
    pod = find(objects, "DaemonSet")["spec"]["template"]["spec"]
    assert "hostIPC" not in pod and "volumes" not in pod
    config = json.loads(find(objects, "ConfigMap")["data"]["kv-transfer-config.json"])
    assert config["kv_connector_extra_config"]["lmcache.mp.isolated_ipc"] is True
    assert find(objects, "Service", "test-metrics")  # exists even with Prometheus off


def test_ipc_modes() -> None:
    default = find(render(resource("LMCacheEngine")), "DaemonSet")["spec"]["template"]["spec"]
    assert default["hostIPC"] is True and "volumes" not in default
    shm = find(render(resource("LMCacheEngine", hostIPC=False)), "DaemonSet")["spec"]["template"]["spec"]
    assert "hostIPC" not in shm
    assert shm["volumes"] == [{"hostPath": {"path": "/dev/shm", "type": "Directory"}, "name": "lmcache-dev-shm"}]
    assert shm["containers"][0]["volumeMounts"] == [{"mountPath": "/dev/shm", "name": "lmcache-dev-shm"}]


def test_cacheblend_args_put_blend_before_extra_args() -> None:
    objects = render(resource("CacheBlendEngine", extraArgs=["--engine-type", "x"]))
    assert _container(objects)["args"][-6:] == [
        "--engine-type",
        "blend",
        "--l1-align-bytes",
        "16777216",
        "--engine-type",
        "x",
    ]


def test_coordinator_ref_resolves_in_the_same_namespace() -> None:
    engine = resource("LMCacheEngine", coordinator={"ref": {"name": "coord"}})
    coordinator = resource("LMCacheCoordinator", name="coord", port=9400)
    container = _container(render(engine, coordinator))
    assert container["args"][container["args"].index("--coordinator-url") + 1] == "http://coord.ns.svc:9400"
    assert {
        "name": "LMCACHE_COORDINATOR_ADVERTISE_IP",
        "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
    } in container["env"]


def test_coordinator_args_and_objects() -> None:
    spec = {"blendChunkSize": 256, "evictionRatio": 0, "prometheus": {"serviceMonitor": {"enabled": True}}}
    objects = render(resource("LMCacheCoordinator", **spec))
    container = _container(objects, "Deployment")
    assert container["args"] == [
        "--host", "0.0.0.0", "--port", "9300", "--instance-timeout", "30", "--health-check-interval", "10",
        "--eviction-check-interval", "5", "--eviction-ratio", "0", "--trigger-watermark", "1",
        "--blend-chunk-size", "256",
    ]  # fmt: skip
    assert container["resources"] == {}
    assert [p["name"] for p in container["ports"]] == ["http", "metrics"]
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == [
        ("Deployment", "test"), ("Service", "test"), ("Service", "test-metrics"), ("ServiceMonitor", "test"),
    ]  # fmt: skip
    plain = render(resource("LMCacheCoordinator"))
    assert [p["name"] for p in _container(plain, "Deployment")["ports"]] == ["http"]  # no block: no metrics


def test_resp_auth_references_the_users_secret() -> None:
    spec = {"l2Backend": {"resp": {"host": "r", "port": 6379, "authSecretRef": {"name": "redis-auth"}}}}
    objects = render(resource("LMCacheEngine", **spec))
    env = _container(objects)["env"]
    assert env[3:] == [
        {"name": "LMCACHE_RESP_PASSWORD", "valueFrom": {"secretKeyRef": {"key": "password", "name": "redis-auth"}}},
        {
            "name": "LMCACHE_RESP_USERNAME",
            "valueFrom": {"secretKeyRef": {"key": "username", "name": "redis-auth", "optional": True}},
        },
    ]
    assert not [o for o in objects if o["kind"] == "Secret"]


def test_connection_json_text_is_the_operators() -> None:
    data = find(render(resource("LMCacheEngine", name="my-cache", namespace="default")), "ConfigMap")["data"]
    assert data == {
        "kv-transfer-config.json": (
            "{\n"
            '  "kv_connector": "LMCacheMPConnector",\n'
            '  "kv_connector_extra_config": {\n'
            '    "lmcache.mp.host": "tcp://my-cache.default.svc.cluster.local",\n'
            '    "lmcache.mp.port": "5555"\n'
            "  },\n"
            '  "kv_connector_module_path": "lmcache.integration.vllm.lmcache_mp_connector",\n'
            '  "kv_role": "kv_both"\n'
            "}"
        )
    }


def test_pd_without_role_has_three_keys_and_legacy_role_one() -> None:
    three = find(render(resource("LMCacheEngine", pd={"enforceHandshakeCompat": False})), "ConfigMap")["data"]
    assert sorted(three) == [
        "kv-transfer-config-decoder.json",
        "kv-transfer-config-prefiller.json",
        "kv-transfer-config.json",
    ]
    decoder = json.loads(three["kv-transfer-config-decoder.json"])
    assert decoder["kv_connector"] == "MultiConnector" and decoder["kv_role"] == "kv_consumer"
    nixl, cache = decoder["kv_connector_extra_config"]["connectors"]
    assert nixl == {
        "kv_connector": "NixlConnector",
        "kv_connector_extra_config": {"enforce_handshake_compat": False},
        "kv_load_failure_policy": "fail",
        "kv_role": "kv_consumer",
    }
    assert cache["kv_connector"] == "LMCacheMPConnector" and cache["kv_role"] == "kv_both"
    one = find(render(resource("LMCacheEngine", pd={"role": "prefiller"})), "ConfigMap")["data"]
    assert list(one) == ["kv-transfer-config.json"]
    assert json.loads(one["kv-transfer-config.json"])["kv_role"] == "kv_producer"


def test_user_values_win_where_the_operator_lets_them() -> None:
    spec = {
        "podLabels": {"team": "a"},
        "nodeSelector": {},
        "runtimeClassName": "",
        "env": [{"name": "X", "value": "1"}],
    }
    pod_template = find(render(resource("LMCacheEngine", **spec)), "DaemonSet")["spec"]["template"]
    assert pod_template["metadata"]["labels"]["team"] == "a"
    assert "nodeSelector" not in pod_template["spec"] and "runtimeClassName" not in pod_template["spec"]
    assert pod_template["spec"]["containers"][0]["env"][-1] == {"name": "X", "value": "1"}
    amd = find(render(resource("LMCacheEngine", gpuVendor="amd")), "DaemonSet")["spec"]["template"]["spec"]
    assert "nodeSelector" not in amd and "runtimeClassName" not in amd
    assert [e["name"] for e in amd["containers"][0]["env"]] == ["LMCACHE_LOG_LEVEL"]
