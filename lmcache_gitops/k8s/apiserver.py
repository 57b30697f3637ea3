"""The API server's validation of pods that a schema cannot say (k8s.io/kubernetes
pkg/apis/core/validation and apps/validation), in its own words: enums, required fields, names,
uniqueness, one source per volume, tolerations, and a workload's selector and restart policy.

Each function takes a path and plain JSON data already checked against the schema's shapes
(types and unknown fields), and yields findings at the offending field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import FieldPath
from . import checks

Finding = checks.Finding

_TOLERATION_OPERATORS = ("Equal", "Exists")
_TAINT_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_RESTART_POLICIES = ("Always", "Never", "OnFailure")
_DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
_SELECTED = ("DaemonSet", "Deployment", "ReplicaSet", "StatefulSet")  # apps/v1: selector required
_JOBS = ("CronJob", "Job")
_PORT_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")  # IANA_SVC_NAME


def _unsupported(value: Any, supported: Iterable[str]) -> str:
    return f"Unsupported value: {json.dumps(value)}: supported values: {', '.join(map(json.dumps, supported))}"


def _enum(path: FieldPath, value: Any, supported: tuple[str, ...]) -> Iterator[Finding]:
    if value is not None and value not in supported:
        yield path, _unsupported(value, supported)


def _list(value: Any) -> list[Any]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def tolerations(path: FieldPath, items: Any) -> Iterator[Finding]:
    """ValidateTolerations."""
    for index, toleration in enumerate(_list(items)):
        at = (*path, index)
        operator = toleration.get("operator") or "Equal"
        yield from _enum((*at, "operator"), toleration.get("operator"), _TOLERATION_OPERATORS)
        yield from _enum((*at, "effect"), toleration.get("effect") or None, _TAINT_EFFECTS)
        if operator == "Exists" and toleration.get("value"):
            yield (
                (*at, "operator"),
                f"Invalid value: {json.dumps(toleration['value'])}: value must be empty when `operator` is 'Exists'",
            )
        if not toleration.get("key") and operator != "Exists":
            yield (
                (*at, "operator"),
                'Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"',
            )
        if toleration.get("tolerationSeconds") is not None and toleration.get("effect") != "NoExecute":
            yield (
                (*at, "effect"),
                (
                    f"Invalid value: {json.dumps(toleration.get('effect') or '')}: effect must be 'NoExecute' when "
                    "`tolerationSeconds` is set"
                ),
            )


def env(path: FieldPath, items: Any) -> Iterator[Finding]:
    """Environment variable names: printable ASCII without '=' (RelaxedEnvironmentVariableValidation, on in 1.33)."""
    for index, variable in enumerate(_list(items)):
        name = variable.get("name")
        if isinstance(name, str) and (not name or "=" in name or not all(" " <= c <= "~" for c in name)):
            yield (
                (*path, index, "name"),
                (
                    f"Invalid value: {json.dumps(name)}: a valid environment variable name must consist only of "
                    "printable ASCII characters other than '='"
                ),
            )


def volumes(path: FieldPath, items: Any) -> Iterator[Finding]:
    """ValidateVolumes: a DNS-1123 label for a name, and exactly one source."""
    for index, volume in enumerate(_list(items)):
        name = volume.get("name")
        if isinstance(name, str) and (reason := checks.dns1123_label(name)):
            yield (*path, index, "name"), f"Invalid value: {json.dumps(name)}: {reason}"
        sources = sorted(key for key, value in volume.items() if key != "name" and value is not None)
        if not sources:
            yield (*path, index), "Required value: must specify a volume type"
        elif len(sources) > 1:
            yield (
                (*path, index, sources[1]),
                f"Forbidden: may not specify more than 1 volume type (it also has {sources[0]})",
            )


def _names(path: FieldPath, items: list[dict[str, Any]], field: str) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, item in enumerate(items):
        name = item.get(field)
        if isinstance(name, str) and name:
            if name in seen:
                yield (*path, index, field), f"Duplicate value: {json.dumps(name)}"
            seen.add(name)


def container(path: FieldPath, spec: dict[str, Any], *, image_required: bool = True) -> Iterator[Finding]:
    """validateContainers, for one container."""
    name = spec.get("name")
    if isinstance(name, str) and (reason := checks.dns1123_label(name)):
        yield (*path, "name"), f"Invalid value: {json.dumps(name)}: {reason}"
    if image_required and not spec.get("image"):
        yield (*path, "image"), "Required value"
    yield from _enum((*path, "imagePullPolicy"), spec.get("imagePullPolicy"), _PULL_POLICIES)
    ports = _list(spec.get("ports"))
    for index, port in enumerate(ports):
        at = (*path, "ports", index)
        number = port.get("containerPort")
        if isinstance(number, int) and not 1 <= number <= 65535:
            yield (*at, "containerPort"), f"Invalid value: {number}: must be between 1 and 65535, inclusive"
        host = port.get("hostPort")
        if isinstance(host, int) and not 0 <= host <= 65535:
            yield (*at, "hostPort"), f"Invalid value: {host}: must be between 1 and 65535, inclusive"
        yield from _enum((*at, "protocol"), port.get("protocol"), _PROTOCOLS)
        port_name = port.get("name")
        if (
            isinstance(port_name, str)
            and port_name
            and (len(port_name) > 15 or not _PORT_NAME.fullmatch(port_name) or "--" in port_name or port_name.isdigit())
        ):
            yield (
                (*at, "name"),
                (
                    f"Invalid value: {json.dumps(port_name)}: must be no more than 15 characters, lowercase "
                    "alphanumerics or '-', with at least one letter, not starting or ending with '-' nor with '--' in it"
                ),
            )
    yield from _names((*path, "ports"), ports, "name")
    yield from env((*path, "env"), spec.get("env"))
    yield from checks.resources(
        (*path, "resources"), spec.get("resources") if isinstance(spec.get("resources"), dict) else None
    )


def containers(path: FieldPath, items: Any) -> Iterator[Finding]:
    """A list of containers: each, and their names unique."""
    found = _list(items)
    for index, item in enumerate(found):
        yield from container((*path, index), item)
    yield from _names(path, found, "name")


def pod_spec(path: FieldPath, spec: dict[str, Any]) -> Iterator[Finding]:
    """ValidatePodSpec: its containers, volumes, mounts, tolerations and policies."""
    containers = _list(spec.get("containers"))
    if not containers:
        yield (*path, "containers"), "Required value"
    init = _list(spec.get("initContainers"))
    for field, group in (("initContainers", init), ("containers", containers)):
        for index, item in enumerate(group):
            yield from container((*path, field, index), item)
    # Init and regular containers share one namespace of names.
    yield from _names((*path, "initContainers"), init, "name")
    taken = {item.get("name") for item in init}
    for index, item in enumerate(containers):
        if item.get("name") in taken:
            yield (*path, "containers", index, "name"), f"Duplicate value: {json.dumps(item['name'])}"
    yield from _names((*path, "containers"), containers, "name")
    volume_list = _list(spec.get("volumes"))
    yield from volumes((*path, "volumes"), volume_list)
    yield from _names((*path, "volumes"), volume_list, "name")
    volume_names = {v.get("name") for v in volume_list}
    for field, group in (("initContainers", init), ("containers", containers)):
        for index, item in enumerate(group):
            for mount_index, mount in enumerate(_list(item.get("volumeMounts"))):
                if mount.get("name") not in volume_names:
                    yield (
                        (*path, field, index, "volumeMounts", mount_index, "name"),
                        f"Not found: {json.dumps(mount.get('name'))}",
                    )
    yield from tolerations((*path, "tolerations"), spec.get("tolerations"))
    yield from _enum((*path, "restartPolicy"), spec.get("restartPolicy"), _RESTART_POLICIES)
    yield from _enum((*path, "dnsPolicy"), spec.get("dnsPolicy"), _DNS_POLICIES)


def _matches(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    """Whether a LabelSelector selects ``labels``."""
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for requirement in _list(selector.get("matchExpressions")):
        key, operator, values = requirement.get("key"), requirement.get("operator"), requirement.get("values") or []
        present = key in labels
        if (
            (operator == "In" and labels.get(key) not in values)
            or (operator == "NotIn" and present and labels[key] in values)
            or (operator == "Exists" and not present)
            or (operator == "DoesNotExist" and present)
        ):
            return False
    return True


def workload(obj: dict[str, Any], template_path: tuple[str, ...]) -> Iterator[Finding]:
    """A built-in workload: its template's pod spec, its selector, its restart policy."""
    kind = obj["kind"]
    template: Any = obj
    for part in template_path:
        template = template.get(part) if isinstance(template, dict) else None
    if not isinstance(template, dict):
        yield template_path, "Required value"
        return
    spec = template.get("spec")
    if not isinstance(spec, dict):
        yield (*template_path, "spec"), "Required value"
        return
    yield from pod_spec((*template_path, "spec"), spec)
    policy = spec.get("restartPolicy")
    if kind in _SELECTED and policy not in (None, "Always"):
        yield (*template_path, "spec", "restartPolicy"), _unsupported(policy, ("Always",))
    if kind in _JOBS and policy not in ("OnFailure", "Never"):
        path = (*template_path, "spec", "restartPolicy")
        yield path, "Required value" if policy is None else _unsupported(policy, ("OnFailure", "Never"))
    if kind in _SELECTED:
        selector = (obj.get("spec") or {}).get("selector")
        labels = (template.get("metadata") or {}).get("labels") or {}
        if not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            yield ("spec", "selector"), "Required value"
        elif not _matches(selector, labels):
            yield (
                (*template_path, "metadata", "labels"),
                (f"Invalid value: {json.dumps(labels, sort_keys=True)}: `selector` does not match template `labels`"),
            )
