"""Properties over generated specs: validity, rule paths, resource math, ports, order independence."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import lmcache_gitops as lg
from lmcache_gitops.build.sizing import memory_gi
from lmcache_gitops.read import yamlio

from .helpers import find, problems, render, resource, set_path, validate_object

NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,30}[a-z0-9]", fullmatch=True).filter(lambda n: "--" not in n)
SIZES = st.floats(min_value=0.01, max_value=10_000, allow_nan=False)
FRACTIONS = st.floats(min_value=0.001, max_value=1.0)
ENGINE_PORTS = st.integers(1024, 65535)


def _optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts holding any subset of ``fields``."""
    return st.fixed_dictionaries({}, optional=fields)


L2 = st.one_of(
    st.fixed_dictionaries(
        {
            "resp": st.fixed_dictionaries(
                {"host": NAMES, "port": st.integers(1, 65535)}, optional={"maxCapacityGB": st.floats(0, 1e4)}
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "raw": st.fixed_dictionaries(
                {"type": st.sampled_from(["fs", "mock", "nixl_store"])},
                optional={"config": st.dictionaries(NAMES, st.integers() | st.text(max_size=5), max_size=3)},
            )
        }
    ),
)
ENGINE_SPECS = _optional(
    gpuVendor=st.sampled_from(["nvidia", "amd"]),
    server=_optional(port=ENGINE_PORTS, httpPort=ENGINE_PORTS, maxWorkers=st.integers(1, 64)),
    eviction=_optional(triggerWatermark=FRACTIONS, evictionRatio=FRACTIONS),
    prometheus=_optional(
        enabled=st.booleans(), port=st.integers(1, 65535), serviceMonitor=_optional(enabled=st.booleans())
    ),
    l2Backend=L2,
    coordinator=st.fixed_dictionaries(
        {"url": st.just("http://coordinator:9300")}, optional={"heartbeatInterval": st.floats(0.1, 60)}
    ),
    pd=_optional(nixlSideChannelPort=ENGINE_PORTS, role=st.sampled_from(["prefiller", "decoder"])),
    hostIPC=st.booleans(),
    isolatedIPC=st.booleans(),
    privileged=st.booleans(),
    logLevel=st.sampled_from(["DEBUG", "INFO", "WARNING", "ERROR"]),
    podLabels=st.dictionaries(NAMES, NAMES, max_size=3),
    extraArgs=st.lists(st.text(max_size=10), max_size=3),
)


@st.composite
def engines(draw: st.DrawFn) -> dict[str, Any]:
    spec = draw(ENGINE_SPECS)
    spec["l1"] = {"sizeGB": draw(SIZES)}
    kind = draw(st.sampled_from(["LMCacheEngine", "CacheBlendEngine"]))
    if kind == "CacheBlendEngine":
        spec.pop("isolatedIPC", None)
        spec["injection"] = {"payloadImage": {"repository": "example.com/plugin"}}
    return {
        "apiVersion": "lmcache.lmcache.ai/v1alpha1",
        "kind": kind,
        "metadata": {"name": draw(NAMES), "namespace": "ns"},
        "spec": spec,
    }


@settings(max_examples=60, deadline=None)
@given(engines())
def test_every_valid_spec_renders_valid_objects(document: dict[str, Any]) -> None:
    objects = render(document)
    assert {o["kind"] for o in objects} >= {"DaemonSet", "Service", "ConfigMap"}
    for obj in objects:
        validate_object(obj)


# (kind, field, strategy of values that break the field's rule)
OUT_OF_RANGE = [
    ("LMCacheEngine", "l1.sizeGB", st.floats(max_value=0, allow_nan=False, allow_infinity=False)),
    ("LMCacheEngine", "server.port", st.integers(max_value=1023) | st.integers(min_value=65536, max_value=2**31 - 1)),
    (
        "LMCacheEngine",
        "server.httpPort",
        st.integers(max_value=1023) | st.integers(min_value=65536, max_value=2**31 - 1),
    ),
    (
        "LMCacheEngine",
        "eviction.triggerWatermark",
        st.floats(max_value=0) | st.floats(min_value=1.0, exclude_min=True, allow_infinity=False),
    ),
    (
        "LMCacheEngine",
        "eviction.evictionRatio",
        st.floats(max_value=0) | st.floats(min_value=1.0, exclude_min=True, allow_infinity=False),
    ),
    ("LMCacheEngine", "coordinator.heartbeatInterval", st.floats(max_value=0, allow_infinity=False)),
    ("CacheBlendEngine", "server.chunkSize", st.integers(-(2**31), 2**31 - 1).filter(lambda v: v != 256)),
    (
        "CacheBlendEngine",
        "blend.recompRatio",
        st.floats(max_value=0) | st.floats(min_value=1.0, exclude_min=True, allow_infinity=False),
    ),
    ("CacheBlendEngine", "blend.checkLayer", st.integers(-(2**31), -1)),
    ("CacheBlendEngine", "injection.blockSize", st.integers(-(2**31), 0)),
    ("LMCacheCoordinator", "port", st.integers(max_value=0) | st.integers(min_value=65536, max_value=2**31 - 1)),
    ("LMCacheCoordinator", "replicas", st.integers(-(2**31), -1)),
    (
        "LMCacheCoordinator",
        "evictionRatio",
        st.floats(max_value=-0.0001) | st.floats(min_value=1.0, exclude_min=True, allow_infinity=False),
    ),
    ("LMCacheCoordinator", "instanceTimeout", st.floats(max_value=0, allow_infinity=False)),
]


@st.composite
def broken(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    kind, field, values = draw(st.sampled_from(OUT_OF_RANGE))
    extra = {"coordinator": {"url": "http://c:9300"}} if field.startswith("coordinator.") else {}
    document = resource(kind, **extra)
    set_path(document["spec"], field.split("."), draw(values))
    return document, f"spec.{field}"


@settings(max_examples=100, deadline=None)
@given(broken())
def test_a_value_out_of_range_is_reported_on_exactly_its_path(case: tuple[dict[str, Any], str]) -> None:
    document, path = case
    found = problems(document)
    assert len(found) == 1 and found[0].startswith(f"{path}: "), found


@given(SIZES, SIZES)
def test_memory_limit_covers_request_and_grows_with_size(a: float, b: float) -> None:
    small, large = sorted((a, b))
    request_small, limit_small = memory_gi(small)
    request_large, limit_large = memory_gi(large)
    assert limit_small >= request_small and limit_large >= request_large
    assert request_small <= request_large and limit_small <= limit_large


@settings(max_examples=40, deadline=None)
@given(engines())
def test_connection_port_equals_server_arg_and_lookup_service_port(document: dict[str, Any]) -> None:
    objects = render(document)
    name = document["metadata"]["name"]
    args = find(objects, "DaemonSet")["spec"]["template"]["spec"]["containers"][0]["args"]
    port = args[args.index("--port") + 1]
    for text in find(objects, "ConfigMap")["data"].values():
        config = json.loads(text)
        for connector in [config, *config.get("kv_connector_extra_config", {}).get("connectors", [])]:
            extra = connector.get("kv_connector_extra_config", {})
            if "lmcache.mp.port" in extra:
                assert extra["lmcache.mp.port"] == port
    service_ports = {p["name"]: p["port"] for p in find(objects, "Service", name)["spec"]["ports"]}
    assert str(service_ports["server"]) == port


@settings(max_examples=25, deadline=None)
@given(st.lists(engines(), min_size=1, max_size=4, unique_by=lambda d: d["metadata"]["name"]), st.randoms())
def test_output_is_independent_of_document_and_file_order(documents: list[dict[str, Any]], rnd: Any) -> None:
    names = {d["metadata"]["name"] for d in documents}
    documents = [d for d in documents if not {f"{d['metadata']['name']}-metrics"} & names]  # no name clashes
    coordinator = resource("LMCacheCoordinator", name="zz-coordinator")
    sources = [lg.Source(f"f{i}.yaml", yamlio.dump_all([doc])) for i, doc in enumerate([*documents, coordinator])]
    shuffled = sources[:]
    rnd.shuffle(shuffled)
    as_one_file = [lg.Source("all.yaml", yamlio.dump_all(list(reversed([*documents, coordinator]))))]
    expected = lg.to_yaml(lg.render(sources))
    assert lg.to_yaml(lg.render(shuffled)) == expected
    assert lg.to_yaml(lg.render(as_one_file)) == expected
