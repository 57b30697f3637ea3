"""Pod Security Standards: whether a pod needs the `privileged` level, that is, breaks a rule of
`baseline` (kubernetes.io/docs/concepts/security/pod-security-standards). The engines do by
default (hostIPC, privileged, a hostPath), and so do vLLM pods once wired to them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .kinds import pod_template

LABELS = tuple(f"pod-security.kubernetes.io/{mode}" for mode in ("enforce", "audit", "warn"))

_BASELINE_CAPABILITIES = frozenset(
    [
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    ]
)
_SAFE_SYSCTLS = frozenset(
    [
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    ]
)
_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
_APPARMOR = "container.apparmor.security.beta.kubernetes.io/"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _context_breaks(context: dict[str, Any]) -> Iterator[str]:
    """The baseline rules a pod's or container's securityContext breaks."""
    if _dict(context.get("seccompProfile")).get("type") == "Unconfined":
        yield "an unconfined seccomp profile"
    if _dict(context.get("appArmorProfile")).get("type") == "Unconfined":
        yield "an unconfined AppArmor profile"
    selinux = _dict(context.get("seLinuxOptions"))
    if selinux.get("type", "") not in _SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
        yield "custom SELinux options"


def breaks(pod: dict[str, Any]) -> Iterator[str]:
    """Each baseline rule that the pod (``{metadata, spec}``) breaks, in words."""
    spec = _dict(pod.get("spec"))
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field) is True:
            yield field
    if any(_dict(volume).get("hostPath") is not None for volume in _list(spec.get("volumes"))):
        yield "a hostPath volume"
    pod_context = _dict(spec.get("securityContext"))
    yield from _context_breaks(pod_context)
    if any(_dict(s).get("name") not in _SAFE_SYSCTLS for s in _list(pod_context.get("sysctls"))):
        yield "an unsafe sysctl"
    if any(
        str(value) == "unconfined"
        for key, value in _dict(_dict(pod.get("metadata")).get("annotations")).items()
        if key.startswith(_APPARMOR)
    ):
        yield "an unconfined AppArmor annotation"
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for container in map(_dict, _list(spec.get(group))):
            context = _dict(container.get("securityContext"))
            if context.get("privileged") is True:
                yield "a privileged container"
            if set(map(str, _list(_dict(context.get("capabilities")).get("add")))) - _BASELINE_CAPABILITIES:
                yield "added capabilities"
            if context.get("procMount", "Default") != "Default":
                yield "an unmasked /proc"
            yield from _context_breaks(context)
            if any(_dict(port).get("hostPort") for port in _list(container.get("ports"))):
                yield "a host port"


def needs_privileged(obj: dict[str, Any]) -> bool:
    """Whether ``obj`` runs a pod that Pod Security's baseline level would reject."""
    template = pod_template(obj)
    return template is not None and next(breaks(template), None) is not None
