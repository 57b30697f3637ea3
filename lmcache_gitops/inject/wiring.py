"""The user's workloads, wired to their engines at compile time (compat row 14).

A workload whose pod template opts in (the webhook's label and engine annotation) is admitted by
`webhook.admit` exactly as the operator's webhook would admit its pods. Where the webhook would
skip the pod, leaving vLLM silently unwired, this is an error naming the reason and the fix;
allowed skips (`--allow-skip`, or the annotation below) are warnings and keep the webhook's
skip-reason annotation. Mistakes the webhook never noticed are errors too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..build.fleet import Built, BuiltConfig, BuiltEngine
from ..errors import FieldPath, Problem
from ..k8s import kinds
from ..naming import DEV_SHM, PD_ROLE
from ..read.inputs import Manifest, ResourceKey
from . import inprocess
from .webhook import (
    BLOCK_SIZE,
    CACHEBLEND,
    COMMAND_OVERRIDE,
    ENGINE_NOT_FOUND,
    KV_TRANSFER_CONFIG,
    PAYLOAD_IMAGE_UNSET,
    TARGET_CONTAINER_NOT_FOUND,
    TRUE,
    WEBHOOKS,
    Admission,
    Webhook,
    admit,
    connection_key,
    engine_ref,
    find_flag,
)

ALLOW_SKIP = "lmcache-gitops/allow-skip"
ALLOW_HINT = f'or allow the skip with --allow-skip or the annotation {ALLOW_SKIP}: "true"'
_ROLES = ("prefiller", "decoder")


Engines = dict[tuple[str, str, str], BuiltEngine]  # (kind, namespace, name) -> an engine, built


@dataclass(frozen=True)
class Deployed:
    """One of the user's objects and what it deploys: itself, or wired to its engine."""

    manifest: Manifest
    object: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Wired:
    """Every manifest with the object it deploys, the allowed skips as warnings, and the workloads
    left unwired because their engine is excused (with the engine's key)."""

    workloads: list[Deployed]
    warnings: list[Problem]
    unresolved: list[tuple[Manifest, ResourceKey]]


class _Workload:
    """One manifest being wired: where its pod template is, and what is found about it."""

    def __init__(self, manifest: Manifest, allow_skip: bool) -> None:
        self.manifest = manifest
        self.at: FieldPath = kinds.POD_TEMPLATES[manifest.kind]
        template = kinds.get_path(manifest.data, self.at)
        self.template: dict[str, Any] = {"metadata": template.get("metadata") or {}, "spec": template.get("spec") or {}}
        meta = self.template["metadata"]
        self.labels: dict[str, str] = meta.get("labels") or {}
        self.annotations: dict[str, str] = meta.get("annotations") or {}
        self.allowed_everywhere = allow_skip
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.unresolved: ResourceKey | None = None

    @property
    def allow_skip(self) -> bool:
        """--allow-skip, or the annotation on the workload or its pod template."""
        own = self.manifest.data["metadata"].get("annotations") or {}
        return self.allowed_everywhere or TRUE in (self.annotations.get(ALLOW_SKIP), own.get(ALLOW_SKIP))

    def path(self, *parts: str | int) -> FieldPath:
        return (*self.at, *parts)

    def error(self, path: FieldPath, message: str) -> None:
        self.problems.append(self.manifest.problem(path, message))

    def deployed(self, template: dict[str, Any]) -> dict[str, Any]:
        """The manifest's object with ``template`` as its pod template."""
        if not self.at:
            return {**self.manifest.data, **template}
        # A copy of each mapping on the way to the template; the rest is shared, never changed.
        out = dict(self.manifest.data)
        node: Any = out
        for part in self.at[:-1]:
            node[part] = dict(node[part])
            node = node[part]
        node[self.at[-1]] = template
        return out


def _opted_in(work: _Workload) -> list[Webhook]:
    """The webhooks the pod template opts in to; a half opt-in is an error (the webhook would
    silently leave the pod alone)."""
    opted = []
    own = work.manifest.data["metadata"]
    for hook in WEBHOOKS:
        label, named = work.labels.get(hook.label), work.annotations.get(hook.engine, "").strip()
        if label == TRUE and named:
            opted.append(hook)
        elif label == TRUE:
            work.error(
                work.path("metadata", "labels", hook.label),
                f"opts in to {hook.title} injection but names no engine: set the annotation {hook.engine} "
                f"to the name of a {hook.engine_kind}",
            )
        elif named:
            work.error(
                work.path("metadata", "annotations", hook.engine),
                f'names {hook.engine_kind} "{named}" but the pod template lacks the label {hook.label}: "true", '
                "so the webhook never sees the pod: add the label, or remove the annotation",
            )
        if work.at and label is None and not named:
            for field, key in (("labels", hook.label), ("annotations", hook.engine)):
                if key in (own.get(field) or {}):
                    work.error(
                        ("metadata", field, key),
                        f"belongs on the pod template ({'.'.join(map(str, work.at))}.metadata.{field}): the webhook "
                        "reads the pod's labels and annotations, never the workload's",
                    )
    if len(opted) > 1:
        work.error(
            work.path("metadata", "annotations", CACHEBLEND.engine),
            "opts in to both LMCache and CacheBlend injection: a vLLM pod takes one KV connector, keep one",
        )
        return []
    return opted


def _skip_why(
    work: _Workload, hook: Webhook, admission: Admission, ref: tuple[str, str], found: Engines
) -> tuple[FieldPath, str, str]:
    """Where to point, why the webhook skips, and what to change."""
    namespace, name = ref
    spec = work.template["spec"]
    reason = admission.skip
    if reason == ENGINE_NOT_FOUND:
        why = f'no {hook.engine_kind} "{name}" in namespace "{namespace}" among the specs'
        elsewhere = sorted(
            f'{kind} "{n}" is in namespace "{ns}"'
            for kind, ns, n in found
            if n == name and (kind, ns) != (hook.engine_kind, namespace)
        )
        if elsewhere:
            why += f" ({'; '.join(elsewhere)}: wiring is within one namespace and one engine kind)"
        return (
            work.path("metadata", "annotations", hook.engine),
            why,
            "add the engine to the specs, or name one that is there",
        )
    if reason == TARGET_CONTAINER_NOT_FOUND:
        names = [c.get("name") for c in spec.get("containers") or ()]
        wanted = work.annotations.get(hook.container, "").strip()
        injection = found[(hook.engine_kind, namespace, name)].engine.injection
        source = (
            f"the annotation {hook.container}"
            if wanted
            else f'spec.injection.targetContainer of {hook.engine_kind} "{name}"'
        )
        named = wanted or (injection.target_container.strip() if injection else "")
        why = (
            f'{source} names container "{named}", which the pod template '
            f"does not have (it has {', '.join(json.dumps(n) for n in names)})"
            if names
            else "the pod template has no containers"
        )
        path = work.path("metadata", "annotations", hook.container) if wanted else work.path("spec", "containers")
        return path, why, f"set {hook.container} to the vLLM container's name"
    index = admission.container
    assert index is not None  # every later skip comes after the webhook found the target container
    container = spec["containers"][index]
    if reason == COMMAND_OVERRIDE:
        return (
            work.path("spec", "containers", index, "command"),
            f'container "{container.get("name")}" sets command, so the flags the webhook appends would never reach `vllm serve`',
            "remove command and give everything as args to the image's ENTRYPOINT (vllm serve)",
        )
    if reason == PAYLOAD_IMAGE_UNSET:
        resource = found[(hook.engine_kind, namespace, name)].resource
        field = ("spec", "injection", "payloadImage", "repository")
        return (
            work.path("metadata", "annotations", hook.engine),
            f'{hook.engine_kind} "{name}" has no payload image ({resource.document.source}:{resource.document.line(field)})',
            "set its spec.injection.payloadImage.repository to the cacheblend-plugin image",
        )
    given = find_flag(container.get("args") or [], KV_TRANSFER_CONFIG)
    assert given is not None  # the webhook's last skip: the pod's own flag
    flag = given[0]
    return (
        work.path("spec", "containers", index, "args", flag),
        f'container "{container.get("name")}" passes its own {KV_TRANSFER_CONFIG}, so the connection to the engine is not injected',
        f"remove {KV_TRANSFER_CONFIG} from args: lmcache-gitops injects the connection of each environment's engine",
    )


def _checks(work: _Workload, hook: Webhook, target: BuiltEngine, template: dict[str, Any], index: int) -> None:
    """What the webhook never checked: /dev/shm shadowing, CacheBlend block size, PD roles."""
    spec = template["spec"]
    container = spec["containers"][index]
    engine = target.engine
    kind_name = f'{hook.engine_kind} "{target.resource.name}"'
    if not engine.isolated_ipc:
        volumes = {v.get("name"): v for v in spec.get("volumes") or ()}
        for m_index, mount in enumerate(container.get("volumeMounts") or ()):
            if mount.get("mountPath") == DEV_SHM and "emptyDir" in volumes.get(mount.get("name"), {}):
                mode = "hostIPC" if spec.get("hostIPC") else "the host's /dev/shm"
                work.error(
                    work.path("spec", "containers", index, "volumeMounts", m_index),
                    f"an emptyDir at /dev/shm hides the host's /dev/shm, which vLLM shares with {kind_name} through {mode}, "
                    "and breaks CUDA IPC: remove this mount and its volume",
                )
    if hook is CACHEBLEND:
        found_flag = find_flag(container.get("args") or [], BLOCK_SIZE)
        block = found_flag[1] if found_flag else None
        chunk = engine.spec.server.chunk_size
        if block is not None and (not block.isdigit() or int(block) * 4 != chunk):
            where = target.resource.document
            line = where.line(("spec", "injection", "blockSize"))
            work.error(
                work.path("metadata", "annotations", hook.engine),
                f"vLLM gets {BLOCK_SIZE} {block} (spec.injection.blockSize of {kind_name}, {where.source}:{line}); times 4 "
                f"it must equal the engine's chunk size {chunk}: set spec.injection.blockSize to {chunk // 4}",
            )
    role = work.annotations.get(PD_ROLE)
    if role is not None:
        path = work.path("metadata", "annotations", PD_ROLE)
        key = connection_key(work.template, engine)
        if engine.spec.pd is None:
            work.error(
                path,
                f"{kind_name} has no spec.pd, so the role is ignored and the plain connection wired: remove the annotation, or add spec.pd",
            )
        elif role.strip() not in _ROLES:
            work.error(
                path, f'must be "prefiller" or "decoder"; any other value wires the plain connection of {kind_name}'
            )
        elif key not in target.connection:
            work.error(
                path,
                f"{kind_name} uses the first PD design (spec.pd.role), whose connection has no {key}: remove the annotation",
            )


def _mentions_injection(work: _Workload) -> bool:
    """Whether any label or annotation of the workload or its pod template is an injection key."""
    own = work.manifest.data["metadata"]
    maps = (
        work.template["metadata"].get("labels"),
        work.template["metadata"].get("annotations"),
        own.get("labels"),
        own.get("annotations"),
    )
    return any(isinstance(m, dict) and any(str(key).startswith("lmcache.ai/") for key in m) for m in maps)


def _wire_inprocess(
    work: _Workload, configs: dict[str, BuiltConfig], excused: frozenset[ResourceKey]
) -> dict[str, Any]:
    """A pod template that takes in-process LMCache: the configuration it names or that selects it."""
    names = list(inprocess.named_config(work.annotations, work.labels, configs))
    if not names:
        return work.manifest.data
    named = work.annotations.get(inprocess.CONFIG, "").strip()
    if _mentions_injection(work):
        work.error(
            work.path("metadata", "annotations", inprocess.CONFIG) if named else work.path("metadata", "labels"),
            "takes in-process LMCache and an operator engine's injection: a vLLM pod takes one KV connector, keep one",
        )
        return work.manifest.data
    if len(names) > 1:
        work.error(
            work.path("metadata", "labels"),
            f"matches the podSelector of LMCacheConfigs {', '.join(json.dumps(n) for n in names)}: "
            f"name one with the annotation {inprocess.CONFIG}",
        )
        return work.manifest.data
    if work.annotations.get(inprocess.INJECTED) == TRUE:
        return work.manifest.data
    config = configs.get(names[0])
    if config is None:
        key = ("LMCacheConfig", work.manifest.namespace, names[0])
        if key in excused:
            work.unresolved = key
        else:
            work.error(
                work.path("metadata", "annotations", inprocess.CONFIG),
                f'no LMCacheConfig "{names[0]}" in namespace "{work.manifest.namespace}" among the specs',
            )
        return work.manifest.data
    outcome = inprocess.wire(work.template, config)
    for path, message in outcome.errors:
        work.error(work.path(*path), message)
    for path, message in outcome.warnings:
        work.warnings.append(work.manifest.problem(work.path(*path), message).warning())
    return work.manifest.data if outcome.errors else work.deployed(outcome.template)


def _wire(
    work: _Workload, found: Engines, configs: dict[str, BuiltConfig], excused: frozenset[ResourceKey]
) -> dict[str, Any]:
    # Its shape (the opt-in keys are strings, not an unquoted true) was checked when it was read.
    if inprocess.CONFIG in work.annotations or any(inprocess.named_config(work.annotations, work.labels, configs)):
        return _wire_inprocess(work, configs, excused)
    if not _mentions_injection(work):
        return work.manifest.data
    opted = _opted_in(work)
    if not opted:
        return work.manifest.data
    hook = opted[0]
    if work.annotations.get(hook.injected) == TRUE:
        return work.manifest.data  # already injected: the webhook leaves it alone
    ref = engine_ref(hook, work.annotations[hook.engine], work.manifest.namespace)
    if ref[0] != work.manifest.namespace:
        work.error(
            work.path("metadata", "annotations", hook.engine),
            f'names {hook.engine_kind} "{ref[1]}" in namespace "{ref[0]}", but the workload runs in "{work.manifest.namespace}": '
            f'an environment deploys both into one namespace, so name the engine without its namespace ("{ref[1]}")',
        )
        return work.manifest.data
    target = found.get((hook.engine_kind, *ref))
    if target is None and (key := (hook.engine_kind, *ref)) in excused:
        work.unresolved = key  # the engine is missing for a reason reported elsewhere
        return work.manifest.data
    admission = admit(hook, work.template, target.engine if target else None, target.connection if target else {})
    if admission.skip is not None:
        path, why, fix = _skip_why(work, hook, admission, ref, found)
        message = f"the {hook.title} webhook would skip this pod ({admission.skip}): {why}"
        if work.allow_skip:
            marked = f"{hook.skip_reason}: {admission.skip}"
            work.warnings.append(work.manifest.problem(path, f"{message}; allowed, deployed with {marked}").warning())
        else:
            work.error(path, f"{message}; {fix}, {ALLOW_HINT}")
    if admission.wired and target is not None and admission.container is not None:  # wired: both found
        _checks(work, hook, target, admission.template, admission.container)
    return work.deployed(admission.template)


def wire(
    manifests: Iterable[Manifest],
    built: Iterable[Built],
    *,
    allow_skip: bool = False,
    excused: frozenset[ResourceKey] = frozenset(),
) -> tuple[Wired, list[Problem]]:
    """Each manifest with the object it deploys (workloads wired to the built engines), and every
    problem (none for a reference to an ``excused`` engine)."""
    built = list(built)
    found = {item.resource.key: item for item in built if isinstance(item, BuiltEngine)}
    configs: dict[str, dict[str, BuiltConfig]] = {}
    for item in built:
        if isinstance(item, BuiltConfig):
            configs.setdefault(item.resource.namespace, {})[item.resource.name] = item
    workloads, warnings, problems = [], [], []
    unresolved: list[tuple[Manifest, ResourceKey]] = []
    for manifest in manifests:
        if kinds.pod_template(manifest.data) is None:
            workloads.append(Deployed(manifest, manifest.data))
            continue
        work = _Workload(manifest, allow_skip)
        builtin = kinds.WORKLOAD_API_VERSIONS[manifest.kind]
        if manifest.data["apiVersion"] != builtin:
            if _mentions_injection(work):
                work.error(
                    ("apiVersion",),
                    f"opts in to injection, but only the built-in {manifest.kind} ({builtin}) runs the pods the "
                    f"webhooks wire: set apiVersion to {builtin}, or remove the lmcache.ai/ labels and annotations",
                )
            workloads.append(Deployed(manifest, manifest.data))
        else:
            namespace_configs = configs.get(manifest.namespace, {})
            workloads.append(Deployed(manifest, _wire(work, found, namespace_configs, excused)))
            if work.unresolved is not None:
                unresolved.append((manifest, work.unresolved))
        problems += work.problems
        warnings += work.warnings
    return Wired(workloads, warnings, unresolved), problems
