"""The API server's checks of names, labels, quantities and selectors, made at compile time.

The operator accepts these specs and then fails to create its objects at runtime; here they are
errors on the field that causes them: object names, label syntax, quantities, selectors.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ..errors import FieldPath
from ..naming import selector_labels

Finding = tuple[FieldPath, str]

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$")
_MAX_EXPONENT = 100  # far beyond any resource amount (2^63 is about 9.2e18)
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def dns1123_subdomain(value: str) -> str | None:
    """Why ``value`` is not a DNS-1123 subdomain (object names), or None."""
    if len(value) > 253:
        return "must be no more than 253 characters"
    if not all(_DNS1123_LABEL.match(part) for part in value.split(".")):
        return "must be a lowercase RFC 1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
    return None


def _label(value: str, pattern: re.Pattern[str], rule: str) -> str | None:
    if len(value) > 63:
        return "must be no more than 63 characters"
    return None if pattern.match(value) else rule


def dns1123_label(value: str) -> str | None:
    """Why ``value`` is not a DNS-1123 label (namespaces), or None."""
    return _label(
        value,
        _DNS1123_LABEL,
        "must be a lowercase RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
    )


def dns1035_label(value: str) -> str | None:
    """Why ``value`` is not a DNS-1035 label (Service names), or None."""
    return _label(
        value,
        _DNS1035_LABEL,
        "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit",
    )


_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def kind(value: Any) -> str | None:
    """Why ``value`` is not a Kubernetes kind (an identifier such as Deployment), or None."""
    if not isinstance(value, str) or not _KIND.match(value) or len(value) > 63:
        return f"must be a kind such as Deployment: a letter, then letters and digits, got {_shown(value)}"
    return None


def api_version(value: Any) -> str | None:
    """Why ``value`` is not ``<group>/<version>`` or ``<version>`` (apps/v1, v1), or None."""
    if value is None or value == "":
        return "Required value"
    group, slash, version = value.rpartition("/") if isinstance(value, str) else ("", "", "")
    if (
        not isinstance(value, str)
        or (slash and (not group or dns1123_subdomain(group)))
        or not version
        or dns1035_label(version)
    ):
        return f"must be <group>/<version> or <version>, such as apps/v1 or v1, got {_shown(value)}"
    return None


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "a mapping"
    return "a list" if isinstance(value, list) else json.dumps(value)


def leaves(value: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, Any]]:
    """Every scalar of JSON-like ``value`` with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def non_finite(value: Any, path: FieldPath) -> Iterator[FieldPath]:
    """The paths of the infinite and NaN numbers in ``value``."""
    return (where for where, leaf in leaves(value, path) if isinstance(leaf, float) and not math.isfinite(leaf))


def _label_key(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if prefix and (reason := dns1123_subdomain(prefix)):
        return f"key prefix {json.dumps(prefix)} {reason}"
    if len(name) > 63 or not _LABEL_NAME.match(name):
        return (
            f"key {json.dumps(key)} is invalid: the name part must be 63 characters or less, alphanumerics, '-', '_' "
            "or '.', starting and ending with an alphanumeric"
        )
    return None


def _label_value(value: str) -> str | None:
    if value and (len(value) > 63 or not _LABEL_NAME.match(value)):
        return (
            f"value {json.dumps(value)} is invalid: must be 63 characters or less, empty or alphanumerics, '-', '_' "
            "or '.', starting and ending with an alphanumeric"
        )
    return None


def labels(path: FieldPath, mapping: dict[str, str] | None) -> Iterator[Finding]:
    for key, value in sorted((mapping or {}).items()):
        reason = _label_key(key) or _label_value(value)
        if reason:
            yield (*path, key), reason


def annotation_keys(path: FieldPath, mapping: dict[str, str] | None) -> Iterator[Finding]:
    for key in sorted(mapping or {}):
        reason = _label_key(key)
        if reason:
            yield (*path, key), reason


def parse_quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity (``"1.5Gi"``, ``"500m"``, ``4``) as a number, or None if malformed."""
    if isinstance(value, bool):
        return None
    match = _QUANTITY.match(value if isinstance(value, str) else str(value))
    if not match:
        return None
    number = Decimal(match.group(1))  # the pattern admits only decimal numbers
    suffix = match.group(2) or ""
    if suffix in _BINARY:
        return number * (1 << _BINARY[suffix])
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix])
    if not suffix:
        return number
    exponent = suffix[1:]
    if len(exponent.lstrip("+-")) > 3 or abs(int(exponent)) > _MAX_EXPONENT:  # nor can the API server hold it
        return None
    return number.scaleb(int(exponent))


def resources(path: FieldPath, requirements: dict[str, Any] | None) -> Iterator[Finding]:
    """Quantities parse and are not negative; each limit is at least its request."""
    given = requirements or {}
    parsed: dict[str, dict[str, Decimal]] = {}
    for section in ("limits", "requests"):
        for name, value in sorted(given.get(section, {}).items()):
            amount = parse_quantity(value)
            if amount is None:
                yield (*path, section, name), f"must be a quantity such as 4, 500m or 70Gi, got {json.dumps(value)}"
            elif amount < 0:
                yield (*path, section, name), "must be greater than or equal to 0"
            else:
                parsed.setdefault(section, {})[name] = amount
    for name, request in sorted(parsed.get("requests", {}).items()):
        limit = parsed.get("limits", {}).get(name)
        if limit is not None and request > limit:
            yield (*path, "requests", name), f"must be less than or equal to the {name} limit ({given['limits'][name]})"


def pod_labels(
    path: FieldPath, app: str, name: str, mapping: dict[str, str] | None, *manager: str
) -> Iterator[Finding]:
    """podLabels may add labels but not change a selector label: the selector would miss the pods."""
    yield from labels(path, mapping)
    for key, value in sorted(selector_labels(app, name, *manager).items()):
        if mapping and key in mapping and mapping[key] != value:
            yield (*path, key), f"must not change the selector label {key} (the selector needs {json.dumps(value)})"


def mounts(path: FieldPath, volume_mounts: list[Any] | None, volume_names: set[str]) -> Iterator[Finding]:
    for index, mount in enumerate(volume_mounts or ()):
        if mount["name"] not in volume_names:
            yield (*path, index, "name"), f"no volume named {json.dumps(mount['name'])} in the pod (spec.volumes)"


def volumes(path: FieldPath, volume_list: list[Any], reserved: set[str]) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, volume in enumerate(volume_list):
        name = volume.get("name")
        if name in seen:
            yield (*path, index, "name"), f"duplicate volume name {json.dumps(name)}"
        elif name in reserved:
            yield (*path, index, "name"), f"volume name {json.dumps(name)} is used by the generated pod; choose another"
        seen.add(name)
