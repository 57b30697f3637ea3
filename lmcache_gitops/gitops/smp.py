"""Strategic-merge patches that turn a base object into an environment's, as kustomize applies them.

Kustomize merges some lists item by item on a key (the schema's list metadata, `merge_keys`) and
replaces every other list whole, so a patch carries such a list whole. When it
merges a list keyed on one field, the items the patch names come first, in the patch's order, then
the base's other items in their order (kyaml's "prepend" merge); patches here name just enough
items to keep the target's order. Lists keyed on two fields (ports) are replaced whole with the
`$patch: replace` directive.
"""

from __future__ import annotations

from typing import Any

from ..errors import FieldPath, format_path
from ..k8s.kinds import merge_keys

_SAME: Any = object()  # "no difference": distinct from every value, None included (null deletes)

Key = tuple[str, ...]  # the fields that identify an item (x-kubernetes-list-map-keys)


class Unpatchable(Exception):
    """A keyed list with two items of the same key, or an item without one: no strategic-merge
    patch can express the change."""

    def __init__(self, path: FieldPath, key: Key) -> None:
        self.path, self.key = path, " and ".join(key)
        super().__init__(f"{format_path(path)}: every item needs its own {self.key}")


def _diff(base: Any, target: Any, kind: str, path: FieldPath) -> Any:
    if base == target:
        return _SAME
    if isinstance(base, dict) and isinstance(target, dict):
        out = {}
        for key, value in target.items():
            change = _diff(base[key], value, kind, (*path, key)) if key in base else value
            if change is not _SAME:
                out[key] = change
        out.update({key: None for key in base if key not in target})
        return out
    if isinstance(base, list) and isinstance(target, list):
        key = merge_keys(kind, path)
        if key is not None:
            return _keyed_list(base, target, key, kind, path)
    return target


def _keys(items: list[Any], key: Key, path: FieldPath) -> list[tuple[Any, ...]]:
    keys = [tuple(item.get(field) for field in key) if isinstance(item, dict) else (None,) for item in items]
    if any(None in k for k in keys) or len(set(keys)) != len(keys):
        raise Unpatchable(path, key)
    return keys


def _keyed_list(base: list[Any], target: list[Any], key: Key, kind: str, path: FieldPath) -> list[Any]:
    base_keys, target_keys = _keys(base, key, path), _keys(target, key, path)
    if len(key) > 1:  # kustomize orders lists merged on two fields differently: carry the list whole
        return [{"$patch": "replace"}, *target]
    by_key = dict(zip(base_keys, base, strict=True))
    entries, needed = [], 0
    for index, (item, name) in enumerate(zip(target, target_keys, strict=True)):
        change = _diff(by_key[name], item, kind, path) if name in by_key else item
        if change is not _SAME:
            needed = index + 1
        entries.append({**(change if change is not _SAME else {}), **dict(zip(key, name, strict=True))})
    kept = set(target_keys)
    deleted = [name for name in base_keys if name not in kept]
    count = next(
        n
        for n in range(needed, len(target) + 1)
        if [name for name in base_keys if name in kept and name not in target_keys[:n]] == target_keys[n:]
    )
    return entries[:count] + [{**dict(zip(key, name, strict=True)), "$patch": "delete"} for name in deleted]


def _identity(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
    }


def patch(base: dict[str, Any], target: dict[str, Any]) -> dict[str, Any] | None:
    """The patch that turns ``base`` into ``target`` (the same object in the same namespace), or
    None when they are equal. Raises Unpatchable when a keyed list repeats a key."""
    change = _diff(base, target, base["kind"], ())
    if change is _SAME:
        return None
    identity = _identity(base)
    return {**change, **identity, "metadata": {**change.get("metadata", {}), **identity["metadata"]}}


def deletion(base: dict[str, Any]) -> dict[str, Any]:
    """The patch that removes ``base`` from the build."""
    return {**_identity(base), "$patch": "delete"}


def apply(base: Any, change: Any, kind: str, path: FieldPath = ()) -> Any:
    """``base`` with the strategic-merge patch ``change`` applied, as kustomize applies it:
    mappings merge and null removes a field; a list keyed on one field merges item by item, the
    patch's items first (an item with `$patch: delete` removes its match); any other list, or
    one with a `$patch: replace` item, is replaced whole."""
    if isinstance(change, dict) and isinstance(base, dict):
        out = dict(base)
        for key, value in change.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = apply(base.get(key), value, kind, (*path, key)) if key in base else _plain(value)
        return out
    key = merge_keys(kind, path) if isinstance(change, list) and isinstance(base, list) else None
    if key is None or len(key) != 1 or any(isinstance(i, dict) and i.get("$patch") == "replace" for i in change):
        return _plain(change)
    field = key[0]
    by_key = {item.get(field): item for item in base if isinstance(item, dict)}
    named = [item for item in change if isinstance(item, dict) and field in item]
    merged = [
        apply(by_key[item[field]], {k: v for k, v in item.items() if k != "$patch"}, kind, path)
        if item[field] in by_key
        else _plain(item)
        for item in named
        if item.get("$patch") != "delete"
    ]
    touched = {item[field] for item in named}
    return [*merged, *(item for item in base if not (isinstance(item, dict) and item.get(field) in touched))]


def _plain(value: Any) -> Any:
    """``value`` without the patch directives and nulls a patch may hold where nothing is merged."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None and k != "$patch"}
    if isinstance(value, list):
        return [_plain(item) for item in value if not (isinstance(item, dict) and item.get("$patch") == "replace")]
    return value
