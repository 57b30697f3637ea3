"""Service addresses the user wrote with a namespace in them (`<service>.<namespace>.svc`, with or
without `.cluster.local`): kustomize's namespace transformer never rewrites strings, so in an
environment of another namespace such an address silently points at the base's namespace."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from ..errors import FieldPath, Problem
from ..k8s.checks import leaves
from ..read.inputs import Manifest

_ADDRESS = re.compile(r"(?<![-a-z0-9.])([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.svc\b")
SETTING = "rewriteServiceAddresses"


def _set(data: Any, path: FieldPath, value: str) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: _set(data[head], rest, value)}
    copied = list(data)
    copied[head] = _set(copied[head], rest, value)  # type: ignore[index]
    return copied


def check(
    env_name: str, namespace: str, manifest: Manifest, services: set[str], *, rewrite: bool
) -> tuple[Manifest, list[Problem]]:
    """``manifest`` (already in ``namespace``) with the addresses of ``services`` in another
    namespace rewritten when ``rewrite``; otherwise each such string is a problem at its field."""
    data, problems = manifest.data, []
    for path, value in leaves(manifest.document.data):
        if not isinstance(value, str):
            continue
        wrong = [m for m in _ADDRESS.finditer(value) if m.group(1) in services and m.group(2) != namespace]
        if not wrong:
            continue
        if rewrite:
            fixed = _ADDRESS.sub(
                lambda m: f"{m.group(1)}.{namespace}.svc" if m.group(1) in services else m.group(0), value
            )
            data = _set(data, path, fixed)
            continue
        first = wrong[0]
        problems.append(
            manifest.document.problem(
                path,
                f'addresses Service "{first.group(1)}" in namespace "{first.group(2)}", but environment '
                f'"{env_name}" deploys it in "{namespace}" (kustomize does not rewrite strings): write the '
                f"short name {json.dumps(first.group(1))}, or set {SETTING}: true in the project file",
            )
        )
    return Manifest(data, manifest.document), problems


def services(objects: Iterator[dict[str, Any]]) -> set[str]:
    return {obj["metadata"]["name"] for obj in objects if obj.get("kind") == "Service"}
