"""Every validation rule at its boundaries (below, at, above), with the operator's path and wording."""

from __future__ import annotations

import pytest

from .helpers import companions, problems, resource

E, CB, C, R = "LMCacheEngine", "CacheBlendEngine", "LMCacheCoordinator", "VllmRouter"
AT_LEAST_1 = "must be greater than or equal to 1"
PORT_1024 = "must be in [1024, 65535]"
PORT_1 = "must be in [1, 65535]"
FRACTION = "must be in (0.0, 1.0]"

# (kind, dotted spec field, value, expected error message or None when valid)
RULES = [
    # spec.l1.sizeGB > 0 (CRD exclusiveMinimum and ValidateSpec)
    (E, "l1.sizeGB", -1, "must be greater than 0"),
    (E, "l1.sizeGB", 0, "must be greater than 0"),
    (E, "l1.sizeGB", 0.001, None),
    (CB, "l1.sizeGB", 0, "must be greater than 0"),
    # spec.server.port in [1024, 65535]
    (E, "server.port", 1023, PORT_1024),
    (E, "server.port", 1024, None),
    (E, "server.port", 65535, None),
    (E, "server.port", 65536, PORT_1024),
    (CB, "server.port", 1023, PORT_1024),
    (E, "server.httpPort", 1023, PORT_1024),
    (E, "server.httpPort", 65535, None),
    (E, "server.httpPort", 65536, PORT_1024),
    # CacheBlend chunk size is fixed
    (CB, "server.chunkSize", 255, "must be 256 for CacheBlend (chunk_size == block_size 64 * 4)"),
    (CB, "server.chunkSize", 256, None),
    (CB, "server.chunkSize", 257, "must be 256 for CacheBlend (chunk_size == block_size 64 * 4)"),
    (E, "server.chunkSize", 512, None),
    (E, "server.maxWorkers", 2**31, "must be a 32-bit integer"),
    (
        E,
        "server.hashAlgorithm",
        "md5",
        'Unsupported value: "md5": supported values: "builtin", "sha256_cbor", "blake3"',
    ),
    # eviction
    (E, "eviction.policy", "noop", 'Unsupported value: "noop": supported values: "LRU"'),
    (E, "eviction.policy", "LRU", None),
    (E, "eviction.triggerWatermark", 0.0, FRACTION),
    (E, "eviction.triggerWatermark", 0.01, None),
    (E, "eviction.triggerWatermark", 1.0, None),
    (E, "eviction.triggerWatermark", 1.01, FRACTION),
    (E, "eviction.evictionRatio", 0, FRACTION),
    (E, "eviction.evictionRatio", 1, None),
    (E, "eviction.evictionRatio", 1.5, FRACTION),
    # prometheus
    (E, "prometheus.port", 0, PORT_1),
    (E, "prometheus.port", 1, None),
    (
        E,
        "prometheus.serviceMonitor.interval",
        "30 seconds",
        "must match ^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
    ),
    (E, "prometheus.serviceMonitor.interval", "1m30s", None),
    # l2Backend
    (E, "l2Backend", {}, "Required value: exactly one of resp or raw must be set"),
    (
        E,
        "l2Backend",
        {"resp": {"host": "r", "port": 1}, "raw": {"type": "fs"}},
        "exactly one of resp or raw must be set, got multiple",
    ),
    (E, "l2Backend.raw.type", "fs", None),
    (E, "l2Backend.raw.type", "", "Required value: must be a non-empty string"),
    # coordinator link
    (E, "coordinator", {}, "Required value: exactly one of ref or url must be set"),
    (E, "coordinator", {"ref": {"name": ""}}, "Required value: exactly one of ref or url must be set"),
    (
        E,
        "coordinator",
        {"url": "http://c:9300", "ref": {"name": "c"}},
        "exactly one of ref or url must be set, got both",
    ),
    (E, "coordinator", {"url": "http://c:9300"}, None),
    (E, "coordinator.heartbeatInterval", 0, "must be greater than 0"),
    (E, "coordinator.eventFlushInterval", 0, "must be greater than 0"),
    # enums and types
    (E, "gpuVendor", "intel", 'Unsupported value: "intel": supported values: "nvidia", "amd"'),
    (E, "logLevel", "TRACE", 'Unsupported value: "TRACE": supported values: "DEBUG", "INFO", "WARNING", "ERROR"'),
    (
        E,
        "image.pullPolicy",
        "Sometimes",
        'Unsupported value: "Sometimes": supported values: "Always", "Never", "IfNotPresent"',
    ),
    (E, "hostIPC", "yes please", 'must be a boolean, got string "yes please"'),
    (E, "pd.nixlSideChannelPort", 1023, PORT_1024),
    (E, "pd.nixlLoadFailurePolicy", "retry", 'Unsupported value: "retry": supported values: "fail", "ignore"'),
    # CacheBlend blend and injection
    (CB, "blend.checkLayer", -1, "must be >= 0"),
    (CB, "blend.checkLayer", 0, None),
    (CB, "blend.recompRatio", 0, FRACTION),
    (CB, "blend.recompRatio", 1, None),
    (CB, "blend.recompRatio", 1.0001, FRACTION),
    (CB, "blend.partialBucket", 0, "must be >= 1"),
    (CB, "blend.partialBucket", 1, None),
    (CB, "injection.blockSize", 0, "must be >= 1"),
    (CB, "injection.blockSize", 1, None),
    (CB, "injection.attentionBackend", "", 'must be a backend name or "none" to omit the flag'),
    (
        CB,
        "injection.cudagraph",
        "full",
        'Unsupported value: "full": supported values: "eager", "piecewise", "full_decode_only"',
    ),
    (CB, "injection.payloadImage.repository", "", "Required value: must be a non-empty string"),
    # coordinator spec
    (C, "port", 0, PORT_1),
    (C, "port", 1, None),
    (C, "port", 65536, PORT_1),
    (C, "replicas", -1, "must be >= 0"),
    (C, "replicas", 0, None),
    (C, "instanceTimeout", 0, "must be greater than 0"),
    (C, "instanceTimeout", 0.1, None),
    (C, "healthCheckInterval", -0.1, "must be >= 0"),
    (C, "healthCheckInterval", 0, None),
    (C, "evictionCheckInterval", -1, "must be >= 0"),
    (C, "evictionRatio", -0.01, "must be in [0.0, 1.0]"),
    (C, "evictionRatio", 0, None),
    (C, "evictionRatio", 1, None),
    (C, "evictionRatio", 1.01, "must be in [0.0, 1.0]"),
    (C, "triggerWatermark", 0, FRACTION),
    (C, "triggerWatermark", 1, None),
    (C, "blendChunkSize", 0, "must be greater than 0"),
    (C, "blendChunkSize", 1, None),
    (C, "blendProbeStride", 0, "must be greater than 0"),
    # VllmRouter (operator-spec §b.5: CRD markers; the operator has no ValidateSpec for it)
    (R, "port", 1023, PORT_1024),
    (R, "port", 1024, None),
    (R, "port", 65535, None),
    (R, "port", 65536, PORT_1024),
    (R, "prefill.port", 0, PORT_1),
    (R, "decode.port", 65536, PORT_1),
    (R, "replicas", 0, AT_LEAST_1),
    (R, "replicas", 1, None),
    (R, "intraNodeDataParallelSize", 0, AT_LEAST_1),
    (R, "intraNodeDataParallelSize", 8, None),
    (R, "policy", "session_based", None),
    (R, "policy", "random", 'Unsupported value: "random": supported values: "round_robin", "session_based"'),
    (R, "serviceType", "LoadBalancer", None),
    (R, "serviceType", "", None),
    (
        R,
        "serviceType",
        "ExternalName",
        'Unsupported value: "ExternalName": supported values: "", "ClusterIP", "NodePort", "LoadBalancer"',
    ),
    (R, "prefill.serviceName", "", "Required value"),
    (
        R,
        "image.pullPolicy",
        "Sometimes",
        'Unsupported value: "Sometimes": supported values: "Always", "Never", "IfNotPresent"',
    ),
]


@pytest.mark.parametrize(("kind", "field", "value", "expected"), RULES, ids=[f"{k}-{f}={v!r}" for k, f, v, _ in RULES])
def test_rule(kind: str, field: str, value: object, expected: str | None) -> None:
    found = problems(resource(kind, **{field: value}), *companions(kind))
    assert found == ([f"spec.{field}: {expected}"] if expected else [])


RAW = {"type": "fs"}

# Rules that need other fields set, or that are reported at a path other than the field set.
RULES_AT = [
    (
        E,
        {"l2Backend": {"raw": RAW, "storePolicy": "never"}},
        ['spec.l2Backend.storePolicy: Unsupported value: "never": supported values: "default", "skip_l1"'],
    ),
    (
        E,
        {"l2Backend": {"raw": RAW, "prefetchMaxInFlight": 0}},
        ["spec.l2Backend.prefetchMaxInFlight: must be greater than or equal to 1"],
    ),
    (E, {"l2Backend": {"raw": RAW, "prefetchMaxInFlight": 1}}, []),
    (
        E,
        {"l2Backend.resp": {"host": "", "port": 6379}},
        ["spec.l2Backend.resp.host: Required value: must be a non-empty string"],
    ),
    (E, {"l2Backend.resp": {"host": "r", "port": 0}}, [f"spec.l2Backend.resp.port: {PORT_1}"]),
    (E, {"l2Backend.resp": {"host": "r", "port": 65535}}, []),
    (
        E,
        {"l2Backend.resp": {"host": "r", "port": 1, "numWorkers": 0}},
        ["spec.l2Backend.resp.numWorkers: must be greater than or equal to 1"],
    ),
    (E, {"l2Backend.resp": {"port": 1}}, ["spec.l2Backend.resp.host: Required value: must be a non-empty string"]),
    (
        E,
        {"l2Backend": {"raw": {"type": "fs"}, "serde": {}}},
        ["spec.l2Backend.serde: Required value: exactly one serde type must be set"],
    ),
    (
        E,
        {
            "l2Backend": {
                "raw": {"type": "fs", "config": {"serde": "x"}},
                "serde": {"aesgcm": {"masterKeySecretRef": {"name": "k"}}},
            }
        },
        ["spec.l2Backend.serde: cannot be combined with a raw adapter that sets a 'serde' config key"],
    ),
    (
        E,
        {"l2Backend": {"raw": {"type": "fs"}, "serde": {"aesgcm": {"masterKeySecretRef": {"name": ""}}}}},
        ["spec.l2Backend.serde.aesgcm.masterKeySecretRef.name: Required value: must be non-empty"],
    ),
    (
        E,
        {
            "l2Backend": {
                "raw": {"type": "fs"},
                "serde": {"aesgcm": {"masterKeySecretRef": {"name": "k"}, "aesBits": 192}},
            }
        },
        ["spec.l2Backend.serde.aesgcm.aesBits: Unsupported value: 192: supported values: 128, 256"],
    ),
    (
        E,
        {"l2Backend": {"raw": {"type": "fs", "config": {"type": "s3"}}}},
        ["spec.l2Backend.raw.config: must not set 'type': use raw.type"],
    ),
    (
        E,
        {"l2Backend": {"raw": {"type": "fs"}}, "l2Backends": [{"type": "fs"}]},
        ["spec.l2Backends: must not be set together with spec.l2Backend"],
    ),
    (
        E,
        {"l2Backend": {"resp": {"host": "r", "port": 1, "authSecretRef": {"name": ""}}}},
        ["spec.l2Backend.resp.authSecretRef.name: Required value: must be non-empty"],
    ),
    (
        E,
        {"l2Backend": {"resp": {"host": "r", "port": 1, "authSecretRef": {"name": "a", "namespace": "other"}}}},
        [
            'spec.l2Backend.resp.authSecretRef.namespace: must be the engine namespace "ns": lmcache-gitops references the Secret in place and never copies Secrets across namespaces'
        ],
    ),
    (E, {"l2Backend": {"resp": {"host": "r", "port": 1, "authSecretRef": {"name": "a", "namespace": "ns"}}}}, []),
    (
        E,
        {"coordinator": {"url": "u", "eventReporting": True, "l2EventReporting": False}},
        ["spec.coordinator.l2EventReporting: conflicts with the newer name of this field; set only one of them"],
    ),
    (E, {"coordinator": {"url": "u", "eventReporting": True, "l2EventReporting": True}}, []),
    (
        CB,
        {"injection": {}},
        ["spec.injection.payloadImage: Required value: must be specified for CacheBlend injection"],
    ),
    (CB, {"injection": None}, ["spec.injection: Required value: must be specified for CacheBlend injection"]),
    (
        CB,
        {
            "injection": {
                "payloadImage": {"repository": "p"},
                "env": [{"name": "A"}, {"name": "PYTHONPATH", "value": "/x"}],
            }
        },
        ["spec.injection.env[1]: PYTHONPATH is managed by the CacheBlend plugin staging and cannot be set here"],
    ),
    (E, {"l1": {}}, ["spec.l1.sizeGB: Required value"]),
    (E, {"l1": {"sizeGB": 1, "initSizeGB": 1}}, ["spec.l1.initSizeGB: unknown field; did you mean sizeGB?"]),
    (E, {"l1": {"sizeGB": "60"}}, ['spec.l1.sizeGB: must be a number, got string "60"']),
    (E, {"l1": {"sizeGB": float("inf")}}, ["spec.l1.sizeGB: must be a finite number"]),
    (E, {"server": {"port": 6000.0}}, ["spec.server.port: must be an integer, got number 6000.0"]),
    (
        E,
        {"tolerations": [{"key": "a", "efect": "NoSchedule"}]},
        ["spec.tolerations[0].efect: unknown field; did you mean effect?"],
    ),
    (E, {"env": [{"value": "1"}]}, ["spec.env[0].name: Required value"]),
    (
        E,
        {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "In", "values": [1]}]}]
                    }
                }
            }
        },
        [
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]: must be a string, got number 1"
        ],
    ),
    (
        E,
        {"resourceOverrides": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}},
        ["spec.resourceOverrides.requests.memory: must be less than or equal to the memory limit (1Gi)"],
    ),
    (E, {"resourceOverrides": {"requests": {"memory": "1Gi"}, "limits": {"memory": "1024Mi"}}}, []),
    (
        E,
        {"resourceOverrides": {"requests": {"cpu": "four"}}},
        ['spec.resourceOverrides.requests.cpu: must be a quantity such as 4, 500m or 70Gi, got "four"'],
    ),
    (
        E,
        {"resourceOverrides": {"requests": {"cpu": True}}},
        ["spec.resourceOverrides.requests.cpu: must be a number or a string"],
    ),
    (
        E,
        {"podLabels": {"app.kubernetes.io/name": "other"}},
        [
            'spec.podLabels[app.kubernetes.io/name]: must not change the selector label app.kubernetes.io/name (the selector needs "lmcache")'
        ],
    ),
    (E, {"podLabels": {"app.kubernetes.io/name": "lmcache", "team": "a"}}, []),
    (
        C,
        {"podLabels": {"app.kubernetes.io/instance": "x"}},
        [
            'spec.podLabels[app.kubernetes.io/instance]: must not change the selector label app.kubernetes.io/instance (the selector needs "test")'
        ],
    ),
    (
        E,
        {"podLabels": {"team": "a" * 64}},
        [
            f"spec.podLabels.team: value \"{'a' * 64}\" is invalid: must be 63 characters or less, empty or alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
        ],
    ),
    (
        E,
        {"volumeMounts": [{"name": "data", "mountPath": "/data"}]},
        ['spec.volumeMounts[0].name: no volume named "data" in the pod (spec.volumes)'],
    ),
    (
        E,
        {"volumes": [{"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}}]},
        ['spec.volumes[1].name: duplicate volume name "a"'],
    ),
    (
        R,
        {"prefill": {"serviceName": "vllm-prefil"}},
        [
            'spec.prefill.serviceName: no Service "vllm-prefil" in namespace "ns" among the input files (Services there: "vllm-decode", "vllm-prefill")'
        ],
    ),
    (R, {"decode.port": 8001}, ['spec.decode.port: Service "vllm-decode" has no port 8001 (its ports: 8000)']),
    (R, {"decode": {}}, ["spec.decode.serviceName: Required value"]),
    (R, {"prefill": None}, ["spec.prefill: Required value"]),
    (
        R,
        {"nodeSelector": {"a b": "x"}},
        [
            "spec.nodeSelector[a b]: key \"a b\" is invalid: the name part must be 63 characters or less, alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
        ],
    ),
    (R, {"podLabels": {"a": "b"}}, ["spec.podLabels: unknown field"]),
]


@pytest.mark.parametrize(("kind", "fields", "expected"), RULES_AT, ids=[str(i) for i in range(len(RULES_AT))])
def test_rule_at(kind: str, fields: dict[str, object], expected: list[str]) -> None:
    assert problems(resource(kind, **fields), *companions(kind)) == expected


def test_multiple_errors_are_reported_together() -> None:
    spec = {
        "l1.sizeGB": 0,
        "server.port": 80,
        "eviction.triggerWatermark": 2,
        "eviction.evictionRatio": 0,
        "coordinator": {"url": "http://c:9300", "ref": {"name": "c"}},
        "l2Backend": {"raw": {"type": ""}},
        "tolerations": [{"efect": "NoSchedule"}],
        "extraField": True,
    }
    assert sorted(problems(resource(E, **spec))) == [
        "spec.coordinator: exactly one of ref or url must be set, got both",
        f"spec.eviction.evictionRatio: {FRACTION}",
        f"spec.eviction.triggerWatermark: {FRACTION}",
        "spec.extraField: unknown field",
        "spec.l1.sizeGB: must be greater than 0",
        "spec.l2Backend.raw.type: Required value: must be a non-empty string",
        f"spec.server.port: {PORT_1024}",
        "spec.tolerations[0].efect: unknown field; did you mean effect?",
    ]
