"""vLLM pods wired to in-process LMCache (an LMCacheConfig), at compile time, in the opt-in style
of the operator's webhooks: the pod template names the configuration (or the configuration's
podSelector matches its labels), and the vLLM container gets the file or the LMCACHE_* variables,
`VLLM_USE_V1=1` and `--kv-transfer-config` with LMCacheConnectorV1 in the pod's role.
LMCache's documented limitations are errors or warnings at their line.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..build.fleet import BuiltConfig
from ..build.inprocess import env_vars
from ..errors import FieldPath
from ..naming import CONFIG_FILE, OWN_PREFIX
from .webhook import KV_TRANSFER_CONFIG, PYTHONHASHSEED, TRUE, apply_arg, find_flag, has_flag

CONFIG = OWN_PREFIX + "lmcache-config"  # annotation: the LMCacheConfig's name
CONTAINER = OWN_PREFIX + "lmcache-container"  # annotation: the vLLM container, if not the first
ROLE = OWN_PREFIX + "kv-role"  # annotation: kv_both (default), kv_producer or kv_consumer
INJECTED = OWN_PREFIX + "lmcache-injected"
ROLES = ("kv_both", "kv_producer", "kv_consumer")
CONNECTOR = "LMCacheConnectorV1"
VOLUME, MOUNT = "lmcache-config", "/etc/lmcache"
IMAGE = "lmcache/vllm-openai"  # LMCache's vLLM image: LMCacheConnectorV1 needs LMCache installed
# The seed's prefill/decode form: the transfer goes over NIXL with UCX.
PD_EXTRA = {"nixl_backends": ["UCX"]}

Finding = tuple[FieldPath, str]  # a path below the pod template, and the message


@dataclass
class Outcome:
    """The wired pod template, and what is wrong (errors) or doubtful (warnings) about it."""

    template: dict[str, Any]
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)


def named_config(annotations: dict[str, str], labels: dict[str, str], configs: dict[str, BuiltConfig]) -> Iterator[str]:
    """The configurations a pod template takes: the one it names, else those whose podSelector
    matches its labels."""
    named = annotations.get(CONFIG, "").strip()
    if named:
        yield named
        return
    for name, config in sorted(configs.items()):
        selector = config.spec.pod_selector
        if selector and all(labels.get(key) == value for key, value in selector.items()):
            yield name


def kv_transfer_config(role: str) -> str:
    config: dict[str, Any] = {"kv_connector": CONNECTOR, "kv_role": role}
    if role != "kv_both":
        config["kv_connector_extra_config"] = PD_EXTRA
    return json.dumps(config, separators=(",", ":"))


def wire(template: dict[str, Any], config: BuiltConfig) -> Outcome:
    """``template`` wired to ``config`` (a copy), with the problems found on the way."""
    out = Outcome(copy.deepcopy(template))
    pod = out.template
    meta, spec = pod.setdefault("metadata", {}), pod.setdefault("spec", {})
    annotations = meta.get("annotations") or {}
    containers = spec.get("containers") or []
    wanted = annotations.get(CONTAINER, "").strip()
    index = next((i for i, c in enumerate(containers) if c.get("name") == wanted), None) if wanted else 0
    if index is None or not containers:
        names = ", ".join(json.dumps(c.get("name")) for c in containers) or "none"
        where: FieldPath = ("metadata", "annotations", CONTAINER) if wanted else ("spec", "containers")
        out.errors.append((where, f'names container "{wanted}", which the pod template does not have (it has {names})'))
        return out
    container = containers[index]
    at: FieldPath = ("spec", "containers", index)
    role = annotations.get(ROLE, "kv_both").strip()
    if role not in ROLES:
        out.errors.append((("metadata", "annotations", ROLE), f"must be one of {', '.join(ROLES)}"))
        return out
    if container.get("command"):
        out.errors.append(
            ((*at, "command"), "sets command, so --kv-transfer-config would never reach `vllm serve`: give args only")
        )
        return out
    args = list(container.get("args") or [])
    own = find_flag(args, KV_TRANSFER_CONFIG)
    if own is not None:
        connector = _connector(own[1])
        if connector != CONNECTOR:
            out.errors.append(
                (
                    (*at, "args", own[0]),
                    f"names the KV connector {json.dumps(connector)}, not {CONNECTOR}: remove it, "
                    "lmcache-gitops writes the connection to LMCache",
                )
            )
            return out
    else:
        args = apply_arg(args, KV_TRANSFER_CONFIG, kv_transfer_config(role))
    if has_flag(args, "--enable-chunked-prefill"):
        out.warnings.append(
            (
                (*at, "args"),
                "--enable-chunked-prefill: LMCache's vLLM integration documents chunked prefill as unsupported "
                "(newer LMCache and vLLM releases support it): check your versions",
            )
        )
    env = list(container.get("env") or [])
    use_v1 = next((e for e in env if e.get("name") == "VLLM_USE_V1"), None)
    if use_v1 is not None and str(use_v1.get("value")) != "1":
        out.errors.append(
            (
                (*at, "env", env.index(use_v1)),
                "turns vLLM's V1 engine off: LMCacheConnectorV1 runs on V1 only (set it to 1)",
            )
        )
        return out
    image = str(container.get("image", ""))
    if not image.startswith(IMAGE + ":") and image != IMAGE:
        out.warnings.append(
            (
                (*at, "image"),
                f"is not LMCache's vLLM image ({IMAGE}): LMCacheConnectorV1 needs LMCache installed in the image",
            )
        )
    additions = [{"name": "VLLM_USE_V1", "value": "1"}] if use_v1 is None else []
    if not any(e.get("name") == PYTHONHASHSEED for e in env):  # one hash of a prompt in every pod
        additions.append({"name": PYTHONHASHSEED, "value": "0"})
    if config.spec.format == "env":
        additions += env_vars(config.settings)
    else:
        additions.append({"name": "LMCACHE_CONFIG_FILE", "value": f"{MOUNT}/{CONFIG_FILE}"})
        mounts = list(container.get("volumeMounts") or [])
        mounts.append({"mountPath": MOUNT, "name": VOLUME, "readOnly": True})
        container["volumeMounts"] = mounts
        volumes = list(spec.get("volumes") or [])
        volumes.append({"configMap": {"name": config.resource.name}, "name": VOLUME})
        spec["volumes"] = volumes
    taken = {e.get("name") for e in env}
    clashes = [e["name"] for e in additions if e["name"] in taken]
    if clashes:
        out.errors.append(((*at, "env"), f"sets {', '.join(clashes)}, which the LMCache wiring sets: remove it"))
        return out
    container["env"] = [*env, *additions]
    container["args"] = args
    meta["annotations"] = {**annotations, INJECTED: TRUE}
    return out


def _connector(value: str | None) -> str | None:
    try:
        parsed = json.loads(value or "")
    except json.JSONDecodeError:
        return None
    return parsed.get("kv_connector") if isinstance(parsed, dict) else None
