"""Server and coordinator command lines, in the operator's exact order and number formats."""

from __future__ import annotations

from typing import Any

from .. import gojson
from ..models import LMCacheCoordinatorSpec
from ..models.shared import CoordinatorConnectionSpec, L2BackendSpec
from .view import Engine

MASTER_KEY_DIR = "/etc/lmcache/keys"
MASTER_KEY_PATH = f"{MASTER_KEY_DIR}/master"
# blend_server.sh: the blend engine aligns L1 allocations to 16 MiB.
CACHEBLEND_ARGS = ("--engine-type", "blend", "--l1-align-bytes", "16777216")


def _adapter(type_: str, config: dict[str, Any] | None) -> dict[str, Any]:
    return {**(config or {}), "type": type_}


def l2_adapter(l2: L2BackendSpec) -> dict[str, Any]:
    """The `--l2-adapter` document; credentials never appear in it (they travel as env)."""
    if l2.resp is not None:
        out: dict[str, Any] = {
            "host": l2.resp.host,
            "num_workers": l2.resp.num_workers,
            "port": l2.resp.port,
            "type": "resp",
        }
        if l2.resp.max_capacity_gb > 0:
            out["max_capacity_gb"] = l2.resp.max_capacity_gb
    else:
        assert l2.raw is not None  # the model guarantees exactly one of resp and raw
        out = _adapter(l2.raw.type, l2.raw.config)
    if l2.serde is not None and l2.serde.aesgcm is not None:
        out["serde"] = {
            "aes_bits": l2.serde.aesgcm.aes_bits,
            "key_provider": l2.serde.aesgcm.key_provider,
            "master_key_path": MASTER_KEY_PATH,
            "type": "aesgcm",
        }
    return out


def _l2_args(engine: Engine) -> list[str]:
    spec = engine.spec
    if spec.l2_backends is not None:  # the docs' list form: adapters only, no policy flags
        return [
            arg
            for item in spec.l2_backends
            for arg in ("--l2-adapter", gojson.marshal(_adapter(item.type, item.config)))
        ]
    l2 = spec.l2_backend
    if l2 is None:
        return []
    return [
        "--l2-adapter", gojson.marshal(l2_adapter(l2)),
        "--l2-store-policy", l2.store_policy,
        "--l2-prefetch-policy", l2.prefetch_policy,
        "--l2-prefetch-max-in-flight", str(l2.prefetch_max_in_flight),
    ]  # fmt: skip


def _coordinator_args(link: CoordinatorConnectionSpec | None, url: str | None) -> list[str]:
    if link is None or not url:
        return []
    args = ["--coordinator-url", url]
    if link.advertise_ip:
        args += ["--coordinator-advertise-ip", link.advertise_ip]
    args += ["--coordinator-heartbeat-interval", gojson.format_float(link.heartbeat_interval)]
    if link.reporting:
        args.append("--coordinator-event-reporting")
    args += ["--coordinator-event-flush-interval", gojson.format_float(link.flush_interval)]
    return args


def engine_args(engine: Engine) -> list[str]:
    """`lmcache server` arguments (operator-spec §d.3, §f.1); extraArgs come last so they win."""
    spec = engine.spec
    prometheus = engine.prometheus
    args = [
        "--host", "0.0.0.0",
        "--port", str(spec.server.port),
        "--http-port", str(spec.server.http_port),
        "--l1-size-gb", gojson.fixed(spec.l1.size_gb, 1),
        "--chunk-size", str(spec.server.chunk_size),
        "--max-workers", str(spec.server.max_workers),
        "--hash-algorithm", spec.server.hash_algorithm,
        "--eviction-policy", spec.eviction.policy,
        "--eviction-trigger-watermark", gojson.fixed(spec.eviction.trigger_watermark, 2),
        "--eviction-ratio", gojson.fixed(spec.eviction.eviction_ratio, 2),
    ]  # fmt: skip
    args += ["--prometheus-port", str(prometheus.port)] if prometheus.enabled else ["--disable-prometheus"]
    args += _l2_args(engine)
    args += _coordinator_args(spec.coordinator, engine.coordinator_url)
    if engine.isolated_ipc:
        args.append("--isolated-ipc")
    if engine.blend is not None:
        args += CACHEBLEND_ARGS
    return args + list(spec.extra_args or ())


def coordinator_args(spec: LMCacheCoordinatorSpec) -> list[str]:
    """`lmcache coordinator` arguments (operator-spec §d.4); floats in Go's shortest form."""
    f = gojson.format_float
    args = [
        "--host", spec.host,
        "--port", str(spec.port),
        "--instance-timeout", f(spec.instance_timeout),
        "--health-check-interval", f(spec.health_check_interval),
        "--eviction-check-interval", f(spec.eviction_check_interval),
        "--eviction-ratio", f(spec.eviction_ratio),
        "--trigger-watermark", f(spec.trigger_watermark),
    ]  # fmt: skip
    if spec.blend_chunk_size is not None:
        args += ["--blend-chunk-size", str(spec.blend_chunk_size)]
    if spec.blend_probe_stride is not None:
        args += ["--blend-probe-stride", str(spec.blend_probe_stride)]
    return args + list(spec.extra_args or ())
