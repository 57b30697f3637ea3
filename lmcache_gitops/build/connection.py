"""The `<name>-connection` ConfigMap data: vLLM's kv-transfer-config JSON (operator-spec §d.2, §f.2)."""

from __future__ import annotations

from typing import Any

from .. import gojson
from ..models.shared import PDSpec
from ..naming import CONNECTION_KEY, ROLE_KEYS, engine_host
from .view import Engine

LMCACHE_CONNECTOR = "LMCacheMPConnector"
LMCACHE_MODULE = "lmcache.integration.vllm.lmcache_mp_connector"
CACHEBLEND_CONNECTOR = "CBKVConnector"
CACHEBLEND_MODULE = "lmcache_cacheblend.connector"
ROLE_KV = {"prefiller": "kv_producer", "decoder": "kv_consumer"}


def _cache_connector(engine: Engine) -> dict[str, Any]:
    """The connector to this engine: LMCacheMPConnector, or CBKVConnector with the cb.* tunables."""
    extra: dict[str, Any] = {
        "lmcache.mp.host": engine_host(engine.name, engine.namespace),
        "lmcache.mp.port": str(engine.spec.server.port),  # a string, as the operator writes it
    }
    if engine.isolated_ipc:
        extra["lmcache.mp.isolated_ipc"] = True
    if engine.blend is None:
        return _connector(LMCACHE_CONNECTOR, "kv_both", extra, module=LMCACHE_MODULE)
    extra["cb.check_layer"] = engine.blend.check_layer
    extra["cb.recomp_ratio"] = engine.blend.recomp_ratio
    if engine.blend.partial_bucket is not None:
        extra["cb.partial_bucket"] = engine.blend.partial_bucket
    return _connector(CACHEBLEND_CONNECTOR, "kv_both", extra, module=CACHEBLEND_MODULE)


def _connector(
    name: str, role: str, extra: dict[str, Any] | None = None, *, module: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"kv_connector": name, "kv_role": role}
    if extra:
        out["kv_connector_extra_config"] = extra
    if module:
        out["kv_connector_module_path"] = module
    return out


def _nixl(pd: PDSpec, role: str) -> dict[str, Any]:
    out = _connector("NixlConnector", role)
    out["kv_load_failure_policy"] = pd.nixl_load_failure_policy
    if pd.enforce_handshake_compat is not None:
        out["kv_connector_extra_config"] = {"enforce_handshake_compat": pd.enforce_handshake_compat}
    return out


def _multi(pd: PDSpec, role: str, cache: dict[str, Any]) -> dict[str, Any]:
    return _connector("MultiConnector", role, {"connectors": [_nixl(pd, role), cache]})


def connection_configs(engine: Engine) -> dict[str, dict[str, Any]]:
    """ConfigMap key -> kv-transfer-config document.

    Without `pd`: one key. With `pd`: the plain config plus one per PD role, chosen by the vLLM
    pod's `lmcache.ai/pd-role`; a CacheBlend decoder gets bare NIXL (blending happens on the
    prefiller). With the first design's `pd.role`: one MultiConnector key for that role.
    """
    cache = _cache_connector(engine)
    pd = engine.spec.pd
    if pd is None:
        return {CONNECTION_KEY: cache}
    if pd.role is not None:
        return {CONNECTION_KEY: _multi(pd, ROLE_KV[pd.role], cache)}
    decoder = _nixl(pd, "kv_consumer") if engine.blend is not None else _multi(pd, "kv_consumer", cache)
    return {
        CONNECTION_KEY: cache,
        ROLE_KEYS["prefiller"]: _multi(pd, "kv_producer", cache),
        ROLE_KEYS["decoder"]: decoder,
    }


def connection_data(engine: Engine) -> dict[str, str]:
    """The ConfigMap's data: each document as Go's json.MarshalIndent writes it."""
    return {key: gojson.marshal_indent(doc) for key, doc in connection_configs(engine).items()}
