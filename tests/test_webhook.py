"""The webhooks' mutations, step by step (operator-spec §f.3 M0-M7, §g.1), and their skips.

Each test compiles an engine and one opted-in Deployment through the library, as `render` does,
and looks at the Deployment's pod template.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lmcache_gitops as lg
from lmcache_gitops.build.connection import connection_data
from lmcache_gitops.build.view import engine as resolve_engine
from lmcache_gitops.inject import webhook
from lmcache_gitops.read import yamlio

from .helpers import CB, LMC, compile_all, resource, wiring_problems, workload


def pod(*documents: dict[str, Any], allow_skip: bool = False) -> dict[str, Any]:
    """The wired Deployment's pod template."""
    objects, _ = compile_all(*documents, allow_skip=allow_skip)
    return next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "vllm")["spec"]["template"]


def vllm(template: dict[str, Any]) -> dict[str, Any]:
    return template["spec"]["containers"][0]


def env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def connection(objects: list[dict[str, Any]], name: str = "test", key: str = "kv-transfer-config.json") -> str:
    return next(o for o in objects if o["metadata"]["name"] == f"{name}-connection")["data"][key]


# ---- LMCache (§g.1) ----


def test_lmcache_adds_the_connection_hostipc_and_the_hash_seed() -> None:
    objects, _ = compile_all(resource(LMC), workload())
    template = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]
    container = vllm(template)
    assert container["args"] == ["Qwen/Qwen3-8B", "--kv-transfer-config", connection(objects)]
    assert container["env"] == [{"name": "PYTHONHASHSEED", "value": "0"}]
    assert template["spec"]["hostIPC"] is True
    assert template["metadata"]["annotations"]["lmcache.ai/lmcache-injected"] == "true"
    assert "lmcache.ai/lmcache-skip-reason" not in template["metadata"]["annotations"]
    assert "volumes" not in template["spec"] and "initContainers" not in template["spec"]


@pytest.mark.parametrize("seed", [{"value": "7"}, {"valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}}])
def test_lmcache_keeps_the_users_hash_seed(seed: dict[str, Any]) -> None:
    container = vllm(pod(resource(LMC), workload(env=[{"name": "PYTHONHASHSEED", **seed}])))
    assert container["env"] == [{"name": "PYTHONHASHSEED", **seed}]


def test_lmcache_host_shm_when_the_engine_has_no_hostipc() -> None:
    template = pod(resource(LMC, hostIPC=False), workload())
    assert "hostIPC" not in template["spec"]
    assert template["spec"]["volumes"] == [
        {"hostPath": {"path": "/dev/shm", "type": "Directory"}, "name": "lmcache-dev-shm"}
    ]
    assert vllm(template)["volumeMounts"] == [{"mountPath": "/dev/shm", "name": "lmcache-dev-shm"}]


def test_lmcache_isolated_engine_gives_the_pod_its_own_shm() -> None:
    template = pod(resource(LMC, isolatedIPC=True), workload())
    assert "hostIPC" not in template["spec"]
    assert template["spec"]["volumes"] == [{"emptyDir": {"medium": "Memory"}, "name": "lmcache-dev-shm"}]


@pytest.mark.parametrize(
    "user",
    [
        {
            "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
            "volumes": [{"name": "shm", "hostPath": {"path": "/dev/shm"}}],
        },
        {"volumeMounts": [], "volumes": [{"name": "lmcache-dev-shm", "hostPath": {"path": "/run/shm"}}]},
    ],
)
def test_existing_shm_wiring_is_left_alone(user: dict[str, Any]) -> None:
    doc = workload(volumeMounts=user["volumeMounts"])
    doc["spec"]["template"]["spec"]["volumes"] = user["volumes"]
    template = pod(resource(LMC, hostIPC=False), doc)
    assert template["spec"]["volumes"] == user["volumes"]
    assert vllm(template).get("volumeMounts", []) == user["volumeMounts"]


def test_lmcache_payload_staging_and_pull_secrets() -> None:
    engine = resource(
        LMC,
        **{
            "injection.payloadImage": {"repository": "r/payload", "tag": "1"},
            "injection.imagePullSecrets": [{"name": "pull"}],
        },
    )
    doc = workload(env=[{"name": "PYTHONPATH", "value": "/opt"}])
    doc["spec"]["template"]["spec"]["imagePullSecrets"] = [{"name": "mine"}, {"name": "pull"}]
    template = pod(engine, doc)
    spec, container = template["spec"], vllm(template)
    assert spec["volumes"] == [{"emptyDir": {}, "name": "lmcache-payload"}]
    assert spec["initContainers"] == [
        {
            "env": [{"name": "SHARED_DIR", "value": "/lmcache-payload"}],
            "image": "r/payload:1",
            "imagePullPolicy": "IfNotPresent",
            "name": "lmcache-payload-stage",
            "volumeMounts": [{"mountPath": "/lmcache-payload", "name": "lmcache-payload"}],
        }
    ]
    assert container["volumeMounts"] == [{"mountPath": "/lmcache-payload", "name": "lmcache-payload", "readOnly": True}]
    assert env(container)["PYTHONPATH"] == "/lmcache-payload:/opt"
    assert spec["imagePullSecrets"] == [{"name": "mine"}, {"name": "pull"}]


def test_lmcache_pull_secrets_only_come_with_a_payload() -> None:
    template = pod(resource(LMC, **{"injection.imagePullSecrets": [{"name": "pull"}]}), workload())
    assert "imagePullSecrets" not in template["spec"]


@pytest.mark.parametrize(
    ("role", "key"),
    [
        ("prefiller", "kv-transfer-config-prefiller.json"),
        ("decoder", "kv-transfer-config-decoder.json"),
        (None, "kv-transfer-config.json"),
    ],
)
def test_pd_role_chooses_the_connection_and_adds_nixl_env(role: str | None, key: str) -> None:
    engine = resource(LMC, **{"pd.nixlSideChannelPort": 6000})
    objects, _ = compile_all(engine, workload(annotations={"lmcache.ai/pd-role": role} if role else {}))
    container = vllm(next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"])
    assert container["args"][-1] == connection(objects, key=key)
    assert container["env"][1:] == [
        {"name": "VLLM_NIXL_SIDE_CHANNEL_HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "VLLM_NIXL_SIDE_CHANNEL_PORT", "value": "6000"},
    ]


def test_pd_env_keeps_the_users_values() -> None:
    container = vllm(
        pod(resource(LMC, pd={}), workload(env=[{"name": "VLLM_NIXL_SIDE_CHANNEL_PORT", "value": "5557"}]))
    )
    assert [e["name"] for e in container["env"]] == [
        "VLLM_NIXL_SIDE_CHANNEL_PORT",
        "PYTHONHASHSEED",
        "VLLM_NIXL_SIDE_CHANNEL_HOST",
    ]
    assert env(container)["VLLM_NIXL_SIDE_CHANNEL_PORT"] == "5557"


# ---- CacheBlend (§f.3) ----


def test_cacheblend_m0_to_m7_in_order() -> None:
    engine = resource(CB, **{"injection.imagePullSecrets": [{"name": "plugin-pull"}]})
    objects, _ = compile_all(engine, workload("cacheblend", env=[{"name": "A", "value": "1"}]))
    template = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]
    spec, container = template["spec"], vllm(template)
    assert spec["hostIPC"] is True  # M0
    assert spec["volumes"] == [{"emptyDir": {}, "name": "cb-plugin"}]  # M1
    assert spec["initContainers"] == [  # M2
        {
            "env": [{"name": "SHARED_DIR", "value": "/cb-plugin"}],
            "image": "example.com/plugin:latest",
            "imagePullPolicy": "IfNotPresent",
            "name": "cb-plugin-stage",
            "volumeMounts": [{"mountPath": "/cb-plugin", "name": "cb-plugin"}],
        }
    ]
    assert container["volumeMounts"] == [{"mountPath": "/cb-plugin", "name": "cb-plugin", "readOnly": True}]  # M3
    assert container["env"] == [{"name": "A", "value": "1"}, {"name": "PYTHONPATH", "value": "/cb-plugin"}]  # M4
    assert container["args"] == [  # M5, compat row 11
        "Qwen/Qwen3-8B",
        "--attention-backend",
        "CUSTOM",
        "--kv-transfer-config",
        connection(objects),
        "--no-enable-chunked-prefill",
        "--block-size",
        "64",
        "--pipeline-parallel-size",
        "1",
        "--no-async-scheduling",
        "--enforce-eager",
    ]
    assert spec["imagePullSecrets"] == [{"name": "plugin-pull"}]  # M7
    assert template["metadata"]["annotations"]["lmcache.ai/cacheblend-injected"] == "true"  # M6


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (None, {"name": "PYTHONPATH", "value": "/cb-plugin"}),
        ({"name": "PYTHONPATH", "value": "/opt:/x"}, {"name": "PYTHONPATH", "value": "/cb-plugin:/opt:/x"}),
        ({"name": "PYTHONPATH", "value": ""}, {"name": "PYTHONPATH", "value": "/cb-plugin"}),
        (
            {"name": "PYTHONPATH", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
            {"name": "PYTHONPATH", "value": "/cb-plugin"},
        ),
    ],
    ids=["absent", "value", "empty", "valueFrom"],
)
def test_m4_pythonpath(existing: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    container = vllm(pod(resource(CB), workload("cacheblend", env=[existing] if existing else [])))
    assert container["env"] == [expected]


def test_injection_env_replaces_a_variable_of_the_same_name() -> None:
    engine = resource(CB, **{"injection.env": [{"name": "A", "value": "new"}, {"name": "B", "value": "b"}]})
    container = vllm(
        pod(engine, workload("cacheblend", env=[{"name": "A", "value": "old"}, {"name": "C", "value": "c"}]))
    )
    assert [(e["name"], e["value"]) for e in container["env"]] == [
        ("A", "new"),
        ("C", "c"),
        ("PYTHONPATH", "/cb-plugin"),
        ("B", "b"),
    ]


@pytest.mark.parametrize(
    ("injection", "tail"),
    [
        ({"attentionBackend": "none"}, ["--enforce-eager"]),
        ({"attentionBackend": "FLASHINFER", "cudagraph": "piecewise"}, []),
        ({"cudagraph": "full_decode_only"}, ["--compilation-config", '{"cudagraph_mode":"FULL_DECODE_ONLY"}']),
    ],
)
def test_m5_spec_driven_flags(injection: dict[str, Any], tail: list[str]) -> None:
    engine = resource(CB, **{f"injection.{k}": v for k, v in injection.items()})
    args = vllm(pod(engine, workload("cacheblend")))["args"]
    assert ("--attention-backend" in args) == (injection.get("attentionBackend") != "none")
    if "--attention-backend" in args:
        assert args[args.index("--attention-backend") + 1] == injection.get("attentionBackend", "CUSTOM")
    assert args[args.index("--no-async-scheduling") + 1 :] == tail


def test_m5_replaces_user_flags_in_place_in_both_forms() -> None:
    user = ["--block-size=16", "m", "--pipeline-parallel-size", "4", "--enforce-eager", "--attention-backend"]
    args = vllm(pod(resource(CB), workload("cacheblend", args=user)))["args"]
    assert args[:6] == [
        "--block-size=64",
        "m",
        "--pipeline-parallel-size",
        "1",
        "--enforce-eager",
        "--attention-backend",
    ]
    assert args[6] == "CUSTOM"  # a trailing flag gets its value after it
    assert args.count("--enforce-eager") == 1 and args.count("--block-size=64") == 1


def test_m7_annotation_replaces_the_engines_pull_secrets() -> None:
    engine = resource(CB, **{"injection.imagePullSecrets": [{"name": "from-spec"}]})
    doc = workload("cacheblend", annotations={"lmcache.ai/cacheblend-image-pull-secrets": " a , ,b,a "})
    doc["spec"]["template"]["spec"]["imagePullSecrets"] = [{"name": "b"}]
    assert pod(engine, doc)["spec"]["imagePullSecrets"] == [{"name": "b"}, {"name": "a"}]


def test_target_container_by_annotation_and_by_spec() -> None:
    doc = workload("cacheblend", annotations={"lmcache.ai/cacheblend-container": " vllm "})
    doc["spec"]["template"]["spec"]["containers"].insert(0, {"name": "sidecar", "image": "envoy"})
    template = pod(resource(CB), doc)
    assert "args" not in template["spec"]["containers"][0]
    assert "--no-async-scheduling" in template["spec"]["containers"][1]["args"]
    del doc["spec"]["template"]["metadata"]["annotations"]["lmcache.ai/cacheblend-container"]
    template = pod(resource(CB, **{"injection.targetContainer": "vllm"}), doc)
    assert "--no-async-scheduling" in template["spec"]["containers"][1]["args"]


def test_cacheblend_engine_reference_with_its_namespace() -> None:
    assert "--no-async-scheduling" in vllm(pod(resource(CB), workload("cacheblend", "ns/test")))["args"]
    assert webhook.engine_ref(webhook.CACHEBLEND, " /x ", "pod-ns") == ("pod-ns", "x")
    assert webhook.engine_ref(webhook.LMCACHE, "a/x", "pod-ns") == ("pod-ns", "a/x")


# ---- gates and skip reasons ----


def test_an_injected_pod_is_left_alone() -> None:
    doc = workload(annotations={"lmcache.ai/lmcache-injected": "true"}, command=["sh"])
    assert pod(resource(LMC), doc) == doc["spec"]["template"]


SKIPS = {
    "engine-not-found": (
        workload(engine="missing"),
        "spec.template.metadata.annotations[lmcache.ai/lmcache-engine]",
        'no LMCacheEngine "missing" in namespace "ns"',
    ),
    "target-container-not-found": (
        workload(annotations={"lmcache.ai/lmcache-container": "server"}),
        "spec.template.metadata.annotations[lmcache.ai/lmcache-container]",
        'names container "server", which the pod template does not have (it has "vllm")',
    ),
    "command-override": (workload(command=["sh", "-c"]), "spec.template.spec.containers[0].command", "sets command"),
    "kv-transfer-config-present": (
        workload(args=["m", "--kv-transfer-config={}"]),
        "spec.template.spec.containers[0].args[1]",
        "passes its own --kv-transfer-config",
    ),
}


@pytest.mark.parametrize("reason", sorted(SKIPS))
def test_each_skip_is_an_error_with_line_reason_and_fix(reason: str) -> None:
    doc, path, why = SKIPS[reason]
    [found] = wiring_problems(resource(LMC), doc)
    line, where, message = found.split(": ", 2)
    assert where == path and f"({reason})" in message and why in message
    assert "--allow-skip" in message and "lmcache-gitops/allow-skip" in message
    assert int(line) > 1


@pytest.mark.parametrize("reason", sorted(SKIPS))
def test_allowed_skip_is_a_warning_with_the_webhooks_annotation(reason: str) -> None:
    doc = copy.deepcopy(SKIPS[reason][0])
    doc["metadata"]["annotations"] = {"lmcache-gitops/allow-skip": "true"}
    objects, warnings = compile_all(resource(LMC), doc)
    template = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]
    assert template["metadata"]["annotations"]["lmcache.ai/lmcache-skip-reason"] == reason
    assert [w.severity for w in warnings] == ["warning"] and f"({reason})" in warnings[0].message
    assert str(warnings[0]).startswith("in.yaml:") and ": warning: " in str(warnings[0])
    wired = reason == "kv-transfer-config-present"  # the webhook still injects the rest
    assert (template["metadata"]["annotations"].get("lmcache.ai/lmcache-injected") == "true") == wired
    assert template["spec"].get("hostIPC", False) == wired


def test_payload_image_unset_is_reported_at_the_workload_and_keeps_m0_m1_when_allowed() -> None:
    engine = resource(CB, **{"injection.payloadImage.repository": ""})
    found = wiring_problems(engine, workload("cacheblend"))
    assert any("spec.injection.payloadImage.repository: Required value" in p for p in found)
    assert any("(payload-image-unset)" in p and "spec.template.metadata.annotations" in p for p in found)
    [parsed] = lg.load_inputs([lg.Source("in.yaml", yamlio.dump_all([engine]))]).resources
    resolved = resolve_engine(parsed.model, parsed.namespace, None)
    outcome = webhook.admit(
        webhook.CACHEBLEND, workload("cacheblend")["spec"]["template"], resolved, connection_data(resolved)
    )
    assert outcome.skip == "payload-image-unset"
    assert outcome.template["spec"]["hostIPC"] is True
    assert outcome.template["spec"]["volumes"] == [{"emptyDir": {}, "name": "cb-plugin"}]
    assert "initContainers" not in outcome.template["spec"]


# ---- properties ----

FLAG_FREE = st.lists(
    st.sampled_from(["Qwen/Qwen3-8B", "--port", "8000", "--max-model-len=4096", "--trust-remote-code", "-tp", "2"]),
    max_size=8,
)
INJECTED = [
    "--attention-backend",
    "--kv-transfer-config",
    "--no-enable-chunked-prefill",
    "--block-size",
    "--pipeline-parallel-size",
    "--no-async-scheduling",
    "--enforce-eager",
]


@settings(max_examples=60, deadline=None)
@given(user=FLAG_FREE, hook=st.sampled_from(["lmcache", "cacheblend"]), host_ipc=st.booleans())
def test_injecting_an_injected_workload_changes_nothing(user: list[str], hook: str, host_ipc: bool) -> None:
    engine = resource(CB if hook == "cacheblend" else LMC, hostIPC=host_ipc)
    once = pod(engine, workload(hook, args=user))
    twice_doc = workload(hook, args=user)
    twice_doc["spec"]["template"] = once
    assert pod(engine, twice_doc) == once


VALUED = [
    "--attention-backend",
    "--kv-transfer-config",
    "--block-size",
    "--pipeline-parallel-size",
    "--compilation-config",
]
BARE = ["--no-enable-chunked-prefill", "--no-async-scheduling", "--enforce-eager"]
USER_ITEMS = st.one_of(
    st.sampled_from(
        [["Qwen/Qwen3-8B"], ["--port", "8000"], ["--max-model-len=4096"], ["--trust-remote-code"], ["-tp", "2"]]
    ),
    st.tuples(st.sampled_from(VALUED), st.sampled_from(["16", "x"]), st.booleans()).map(
        lambda t: [f"{t[0]}={t[1]}"] if t[2] else [t[0], t[1]]
    ),
    st.sampled_from(BARE).map(lambda flag: [flag]),
)


def _without_injected(args: list[str]) -> list[str]:
    """``args`` without the flags the webhooks inject (and their values)."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in VALUED:
            skip = True
        elif arg not in BARE and not any(arg.startswith(flag + "=") for flag in VALUED):
            out.append(arg)
    return out


@settings(max_examples=80, deadline=None)
@given(items=st.lists(USER_ITEMS, max_size=6), hook=st.sampled_from(["lmcache", "cacheblend"]))
def test_user_args_other_than_the_injected_flags_keep_their_order(items: list[list[str]], hook: str) -> None:
    user = [arg for item in items for arg in item]
    user = [a for a in user if not a.startswith(webhook.KV_TRANSFER_CONFIG)]  # that one is a skip
    engine = resource(CB if hook == "cacheblend" else LMC)
    args = vllm(pod(engine, workload(hook, args=user)))["args"]
    assert _without_injected(args) == _without_injected(user)
    assert len(args) >= len(user)  # flags are replaced in place or appended, never removed
    for flag in INJECTED if hook == "cacheblend" else ["--kv-transfer-config"]:
        assert webhook.has_flag(args, flag)
