"""The operator's two pod-mutating webhooks, applied to a pod template at compile time.

`admit` takes a pod template ({metadata, spec}) and the engine its annotation names, and returns
the template as the operator's webhook would have admitted the pod: the CacheBlend injector of
operator-spec §f.3 (steps M0-M7) and the LMCache injector of §g.1, with compat rows 2 (the engine's
hostIPC, on by default) and 11 (the docs' CacheBlend flags). Pure functions; no checks of our own
(those are in `wiring`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..build.view import Engine
from ..models.kinds import CacheBlendInjectionSpec, LMCacheInjectionSpec
from ..models.shared import ImageSpec
from ..naming import CONNECTION_KEY, DEV_SHM, DEV_SHM_VOLUME, PD_ROLE, ROLE_KEYS

TRUE = "true"
KV_TRANSFER_CONFIG = "--kv-transfer-config"
BLOCK_SIZE = "--block-size"
PYTHONPATH = "PYTHONPATH"
PYTHONHASHSEED = "PYTHONHASHSEED"

# Skip reasons, the exact strings the webhooks stamp (operator-spec §f.3).
ENGINE_NOT_FOUND = "engine-not-found"
TARGET_CONTAINER_NOT_FOUND = "target-container-not-found"
COMMAND_OVERRIDE = "command-override"
PAYLOAD_IMAGE_UNSET = "payload-image-unset"
KV_TRANSFER_CONFIG_PRESENT = "kv-transfer-config-present"

Pod = dict[str, Any]  # a pod template: {metadata, spec}


@dataclass(frozen=True)
class Staging:
    """Where an injector stages its payload: an emptyDir, the init container that fills it, and
    the read-only mount and PYTHONPATH entry on the vLLM container (the operator's payloadStaging)."""

    volume: str
    path: str
    init: str

    def init_container(self, image: ImageSpec) -> dict[str, Any]:
        # No command: the payload image's ENTRYPOINT copies /payload to $SHARED_DIR. The mount's
        # readOnly false is left out, as Go's omitempty leaves it out.
        return {
            "env": [{"name": "SHARED_DIR", "value": self.path}],
            "image": f"{image.repository}:{image.tag or 'latest'}",
            "imagePullPolicy": image.pull_policy,
            "name": self.init,
            "volumeMounts": [{"mountPath": self.path, "name": self.volume}],
        }


@dataclass(frozen=True)
class Webhook:
    """One injector: the engine kind it binds pods to, and its label and annotation keys."""

    engine_kind: str
    title: str  # how messages name it
    label: str  # the opt-in label: the webhook's objectSelector matches it set to "true"
    engine: str
    container: str
    pull_secrets: str
    injected: str
    skip_reason: str
    staging: Staging


def _webhook(engine_kind: str, title: str, prefix: str, staging: Staging) -> Webhook:
    def key(suffix: str) -> str:
        return f"lmcache.ai/{prefix}-{suffix}"

    return Webhook(
        engine_kind,
        title,
        label=key("inject"),
        engine=key("engine"),
        container=key("container"),
        pull_secrets=key("image-pull-secrets"),
        injected=key("injected"),
        skip_reason=key("skip-reason"),
        staging=staging,
    )


LMCACHE = _webhook(
    "LMCacheEngine", "LMCache", "lmcache", Staging("lmcache-payload", "/lmcache-payload", "lmcache-payload-stage")
)
CACHEBLEND = _webhook(
    "CacheBlendEngine", "CacheBlend", "cacheblend", Staging("cb-plugin", "/cb-plugin", "cb-plugin-stage")
)
WEBHOOKS = (LMCACHE, CACHEBLEND)


@dataclass(frozen=True)
class Admission:
    """A pod template as admitted: ``skip`` is the skip reason stamped on it, ``container`` the index
    of the target container (None when the webhook stopped before resolving it)."""

    template: Pod
    skip: str | None = None
    container: int | None = None

    @property
    def wired(self) -> bool:
        """Whether the pod was injected (a user's own --kv-transfer-config still counts, as in the operator)."""
        return self.container is not None and self.skip in (None, KV_TRANSFER_CONFIG_PRESENT)


def engine_ref(webhook: Webhook, value: str, namespace: str) -> tuple[str, str]:
    """(namespace, name) of the engine an annotation value names. CacheBlend also takes
    `<namespace>/<name>` (a blank namespace means the pod's); LMCache takes a bare name only."""
    name = value.strip()
    if webhook is CACHEBLEND and "/" in name:
        ns, _, name = name.partition("/")
        return ns.strip() or namespace, name.strip()
    return namespace, name


def connection_key(template: Pod, engine: Engine) -> str:
    """The connection ConfigMap key the webhook reads: chosen by the pod's PD role, for PD engines."""
    role = _annotations(template).get(PD_ROLE, "").strip() if engine.spec.pd is not None else ""
    return ROLE_KEYS.get(role, CONNECTION_KEY)


def target_index(template: Pod, engine: Engine, webhook: Webhook) -> int | None:
    """The container to wire: the annotation's, else the engine's injection.targetContainer, else
    the first. A name that matches no container (or no containers at all) gives None."""
    containers = (template.get("spec") or {}).get("containers") or []
    if not containers:
        return None
    injection = engine.injection
    name = _annotations(template).get(webhook.container, "").strip()
    if not name and injection is not None:
        name = injection.target_container.strip()
    if not name:
        return 0
    return next((i for i, c in enumerate(containers) if c.get("name") == name), None)


def admit(webhook: Webhook, template: Pod, engine: Engine | None, connection: Mapping[str, str]) -> Admission:
    """``template`` as ``webhook`` admits it, given the engine its annotation names (None: not
    found) and that engine's connection ConfigMap data."""
    annotations = _annotations(template)
    if annotations.get(webhook.injected) == TRUE or not annotations.get(webhook.engine, "").strip():
        return Admission(template)  # already injected, or not opted in: unchanged
    pod = copy.deepcopy(template)
    if engine is None:
        return _skip(webhook, pod, ENGINE_NOT_FOUND)
    kv_json = connection.get(connection_key(template, engine), "")
    index = target_index(template, engine, webhook)
    if index is None:
        return _skip(webhook, pod, TARGET_CONTAINER_NOT_FOUND)
    spec = pod["spec"]
    target = spec["containers"][index]
    if target.get("command"):
        return _skip(webhook, pod, COMMAND_OVERRIDE, index)
    user_kv = has_flag(target.get("args") or [], KV_TRANSFER_CONFIG)
    kv_arg = "" if user_kv else kv_json
    injection = engine.injection
    if isinstance(injection, CacheBlendInjectionSpec):  # the CacheBlend webhook's engines have it
        if not _cacheblend(pod, target, engine, injection, kv_arg):
            return _skip(CACHEBLEND, pod, PAYLOAD_IMAGE_UNSET, index)
    else:
        _lmcache(pod, target, engine, injection, kv_arg)
    metadata = pod.setdefault("metadata", {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), webhook.injected: TRUE}
    if user_kv:
        metadata["annotations"][webhook.skip_reason] = KV_TRANSFER_CONFIG_PRESENT
    return Admission(pod, KV_TRANSFER_CONFIG_PRESENT if user_kv else None, index)


def _cacheblend(
    pod: Pod, target: dict[str, Any], engine: Engine, injection: CacheBlendInjectionSpec, kv_json: str
) -> bool:
    """§f.3 M0-M7 on a pod that passed the gates; False when M2 skips (keeping M0 and M1, as the
    webhook's patch of the whole pod does)."""
    spec = pod["spec"]
    _share_ipc(spec, target, engine)  # M0
    _append_named(spec, "volumes", {"emptyDir": {}, "name": CACHEBLEND.staging.volume})  # M1
    if not injection.payload_image.repository:  # M2
        return False
    _stage(spec, target, CACHEBLEND.staging, injection.payload_image)  # M2-M4
    for variable in injection.env or ():
        _set_env(target, variable)
    _pd_env(target, engine)
    args = list(target.get("args") or ())  # M5
    if injection.attention_backend != "none":
        args = apply_arg(args, "--attention-backend", injection.attention_backend)
    if kv_json:
        args = apply_arg(args, KV_TRANSFER_CONFIG, kv_json)
    args = apply_bare_flag(args, "--no-enable-chunked-prefill")
    args = apply_arg(args, BLOCK_SIZE, str(injection.block_size))
    args = apply_arg(args, "--pipeline-parallel-size", "1")
    args = apply_bare_flag(args, "--no-async-scheduling")
    if injection.cudagraph == "full_decode_only":
        args = apply_arg(args, "--compilation-config", '{"cudagraph_mode":"FULL_DECODE_ONLY"}')
    elif injection.cudagraph != "piecewise":
        args = apply_bare_flag(args, "--enforce-eager")
    target["args"] = args
    _merge_pull_secrets(pod, CACHEBLEND, injection.image_pull_secrets)  # M7
    return True


def _lmcache(
    pod: Pod, target: dict[str, Any], engine: Engine, injection: LMCacheInjectionSpec | None, kv_json: str
) -> None:
    """§g.1 steps 5-9 on a pod that passed the gates."""
    spec = pod["spec"]
    _share_ipc(spec, target, engine)
    if kv_json:
        target["args"] = apply_arg(list(target.get("args") or ()), KV_TRANSFER_CONFIG, kv_json)
    if not any(e.get("name") == PYTHONHASHSEED for e in target.get("env") or ()):
        target["env"] = [*(target.get("env") or ()), {"name": PYTHONHASHSEED, "value": "0"}]
    payload = injection.payload_image if injection is not None else None
    if injection is not None and payload is not None and payload.repository:  # unset: connection only, not a skip
        _append_named(spec, "volumes", {"emptyDir": {}, "name": LMCACHE.staging.volume})
        _stage(spec, target, LMCACHE.staging, payload)
        _merge_pull_secrets(pod, LMCACHE, injection.image_pull_secrets)
    _pd_env(target, engine)


def _share_ipc(spec: dict[str, Any], target: dict[str, Any], engine: Engine) -> None:
    """How the pod reaches the engine's shared memory (operator-spec §g.1 step 5): hostIPC when the
    engine has it; else the host's /dev/shm (or, isolated, a pod-private one) mounted on the target,
    unless the target already mounts /dev/shm or the pod has a volume of that name."""
    if engine.host_ipc:
        spec["hostIPC"] = True
    if spec.get("hostIPC") and not engine.isolated_ipc:
        return
    if any(m.get("mountPath") == DEV_SHM for m in target.get("volumeMounts") or ()) or any(
        v.get("name") == DEV_SHM_VOLUME for v in spec.get("volumes") or ()
    ):
        return
    source = (
        {"emptyDir": {"medium": "Memory"}}
        if engine.isolated_ipc
        else {"hostPath": {"path": DEV_SHM, "type": "Directory"}}
    )
    spec["volumes"] = [*(spec.get("volumes") or ()), {**source, "name": DEV_SHM_VOLUME}]
    target["volumeMounts"] = [*(target.get("volumeMounts") or ()), {"mountPath": DEV_SHM, "name": DEV_SHM_VOLUME}]


def _stage(spec: dict[str, Any], target: dict[str, Any], staging: Staging, image: ImageSpec) -> None:
    """The payload init container, its read-only mount on the target and the PYTHONPATH entry."""
    _append_named(spec, "initContainers", staging.init_container(image))
    _append_named(target, "volumeMounts", {"mountPath": staging.path, "name": staging.volume, "readOnly": True})
    env, found = [], False
    for variable in target.get("env") or ():
        if variable.get("name") == PYTHONPATH:
            found = True
            old = None if "valueFrom" in variable else variable.get("value")
            # A valueFrom cannot be prepended to: the staged path replaces it.
            variable = {"name": PYTHONPATH, "value": f"{staging.path}:{old}" if old else staging.path}
        env.append(variable)
    target["env"] = env if found else [*env, {"name": PYTHONPATH, "value": staging.path}]


def _pd_env(target: dict[str, Any], engine: Engine) -> None:
    """NIXL side-channel variables for PD engines, each unless the container sets it (§g.2)."""
    pd = engine.spec.pd
    if pd is None:
        return
    names = {e.get("name") for e in target.get("env") or ()}
    added: list[dict[str, Any]] = [
        {"name": "VLLM_NIXL_SIDE_CHANNEL_HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "VLLM_NIXL_SIDE_CHANNEL_PORT", "value": str(pd.nixl_side_channel_port)},
    ]
    target["env"] = [*(target.get("env") or ()), *(e for e in added if e["name"] not in names)]


def _set_env(target: dict[str, Any], variable: dict[str, Any]) -> None:
    env = list(target.get("env") or ())
    index = next((i for i, e in enumerate(env) if e.get("name") == variable["name"]), None)
    if index is None:
        env.append(variable)
    else:
        env[index] = variable
    target["env"] = env


def _merge_pull_secrets(pod: Pod, webhook: Webhook, from_spec: list[Any] | None) -> None:
    """The pod's pull secrets, then the injected ones it lacks (M7): the annotation's comma-separated
    names when it has any, else the engine's injection.imagePullSecrets."""
    listed = _annotations(pod).get(webhook.pull_secrets, "").strip()
    injected = [{"name": n.strip()} for n in listed.split(",") if n.strip()] if listed else list(from_spec or ())
    spec = pod["spec"]
    merged = list(spec.get("imagePullSecrets") or ())
    seen = {ref.get("name") for ref in merged}
    for ref in injected:
        if ref.get("name") not in seen:
            seen.add(ref.get("name"))
            merged.append(ref)
    if merged:
        spec["imagePullSecrets"] = merged


def _append_named(owner: dict[str, Any], field: str, item: dict[str, Any]) -> None:
    """Append ``item`` to the list ``owner[field]`` unless an item has its name."""
    items = owner.get(field) or []
    if not any(existing.get("name") == item["name"] for existing in items):
        owner[field] = [*items, item]


def _skip(webhook: Webhook, pod: Pod, reason: str, container: int | None = None) -> Admission:
    metadata = pod.setdefault("metadata", {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), webhook.skip_reason: reason}
    return Admission(pod, reason, container)


def _annotations(template: Pod) -> dict[str, str]:
    return (template.get("metadata") or {}).get("annotations") or {}


def find_flag(args: list[str], flag: str) -> tuple[int, str | None] | None:
    """Where ``flag`` first is in ``args`` (`--flag v` or `--flag=v`) and its value (None for a
    trailing `--flag`), or None."""
    for index, arg in enumerate(args):
        if arg == flag:
            return index, args[index + 1] if index + 1 < len(args) else None
        if arg.startswith(flag + "="):
            return index, arg[len(flag) + 1 :]
    return None


def has_flag(args: list[str], flag: str) -> bool:
    """Whether ``args`` carry ``flag`` as `--flag` or `--flag=value` (the operator's argsHasFlag)."""
    return any(arg == flag or arg.startswith(flag + "=") for arg in args)


def apply_arg(args: list[str], flag: str, value: str) -> list[str]:
    """Append-or-replace (the operator's applyArg): the first `--flag v` or `--flag=v` gets the new
    value in its own form; a trailing `--flag` gets the value after it; otherwise both are appended."""
    out = list(args)
    for index, arg in enumerate(out):
        if arg == flag:
            if index + 1 < len(out):
                out[index + 1] = value
                return out
            return [*out, value]
        if arg.startswith(flag + "="):
            out[index] = f"{flag}={value}"
            return out
    return [*out, flag, value]


def apply_bare_flag(args: list[str], flag: str) -> list[str]:
    """Append a flag without a value unless `--flag` or `--flag=...` is there already."""
    return list(args) if has_flag(args, flag) else [*args, flag]
