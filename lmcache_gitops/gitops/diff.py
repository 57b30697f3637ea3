"""What changed between two sets of objects, object by object and field by field, for review.

deepdiff compares; this module only shapes the input and words the output. Lists of named items
(containers, env, volumes, ports) are compared by name, so a container is `containers[vllm]` and
a new env var is one insertion, not every later index changed. Lists of values (args, command)
are compared in order, so an inserted flag reads `inserted "--max-model-len 8192" after "--model m"`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import FieldPath, format_path

ObjectChange = Literal["added", "removed", "changed"]


class _Name(str):
    """The key of a list item that has a unique `name`: printed as `[name]`, as kubectl does."""

    __slots__ = ()


def _by_name(value: Any) -> Any:
    """``value`` with every list of uniquely named mappings made a mapping by name (order kept)."""
    if isinstance(value, dict):
        return {key: _by_name(item) for key, item in value.items()}
    if isinstance(value, list):
        names = [item.get("name") if isinstance(item, dict) else None for item in value]
        if value and all(isinstance(name, str) for name in names) and len(set(names)) == len(names):
            return {_Name(name): _by_name(item) for name, item in zip(names, value, strict=True)}
        return [_by_name(item) for item in value]
    return value


def _path(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, _Name):
            out += f"[{part}]" if part.isprintable() and not set(part) & set('[]"') else f"[{json.dumps(part)}]"
            continue
        piece = format_path((part,))
        out += piece if piece.startswith("[") or not out else f".{piece}"
    return out


def show(value: Any) -> str:
    """A value as a review line shows it: printable text as is, anything else as JSON."""
    if isinstance(value, str) and value.strip() == value and value.isprintable() and value and " -> " not in value:
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class FieldDiff:
    """One difference in an object: where, what kind, and the values (``after``: the item an
    insertion or removal follows in its list, for reading it in place)."""

    path: str
    change: Literal["changed", "added", "removed", "inserted", "deleted", "replaced", "moved"]
    old: Any = None
    new: Any = None
    after: str | None = None

    def __str__(self) -> str:
        if self.change == "changed":
            return f"{self.path}: {show(self.old)} -> {show(self.new)}"
        if self.change == "added":
            return f"{self.path}: added {show(self.new)}"
        if self.change == "removed":
            return f"{self.path}: removed (was {show(self.old)})"
        if self.change == "moved":
            return f"{self.path}: moved from position {self.old + 1} to {self.new + 1}"
        place = "at the start" if self.after is None else f"after {_quoted(self.after)}"
        if self.change == "replaced":
            return f"{self.path}: replaced {_run(self.old)} with {_run(self.new)} {place}"
        return f"{self.path}: {self.change} {_run(self.new if self.change == 'inserted' else self.old)} {place}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "change": self.change}
        for key in ("old", "new", "after"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _run(items: Sequence[Any]) -> str:
    """Consecutive list items as one quoted string (`"--max-model-len 8192"`)."""
    return _quoted(" ".join(item if isinstance(item, str) else json.dumps(item) for item in items))


def _anchor(items: Sequence[Any], index: int) -> str | None:
    """What an item at ``index`` follows: the item before it, with its flag before that
    (`--model m`), or None at the start."""
    if index <= 0:
        return None
    before = str(items[index - 1])
    if index >= 2 and str(items[index - 2]).startswith("-") and not before.startswith("-"):
        return f"{items[index - 2]} {before}"
    return before


def _list_diffs(path: str, old: list[Any], new: list[Any]) -> Iterator[FieldDiff]:
    """An ordered list of values: runs inserted and removed where they are, replacements in place."""
    matcher = difflib.SequenceMatcher(a=[json.dumps(v) for v in old], b=[json.dumps(v) for v in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "insert":
            yield FieldDiff(path, "inserted", new=new[j1:j2], after=_anchor(new, j1))
        elif tag == "delete":
            yield FieldDiff(path, "deleted", old=old[i1:i2], after=_anchor(old, i1))
        elif tag == "replace":
            yield FieldDiff(path, "replaced", old=old[i1:i2], new=new[j1:j2], after=_anchor(new, j1))


def _text_diffs(path: str, old: str, new: str) -> Iterator[FieldDiff]:
    """A multi-line string (a connection JSON, a config file): the lines that changed."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        where = f"{path} (line {j1 + 1})"
        before, after = "\n".join(old_lines[i1:i2]).strip(), "\n".join(new_lines[j1:j2]).strip()
        if not before:
            yield FieldDiff(where, "added", new=after)
        elif not after:
            yield FieldDiff(where, "removed", old=before)
        else:
            yield FieldDiff(where, "changed", before, after)


def field_diffs(old: Any, new: Any) -> list[FieldDiff]:
    """Every difference between two objects, in path order."""
    from deepdiff import DeepDiff  # only when there is something to compare: off every command's start-up

    before, after = _by_name(old), _by_name(new)
    found: list[FieldDiff] = []
    tree = DeepDiff(before, after, view="tree", verbose_level=2)
    lists: set[str] = set()
    for change, levels in tree.items():
        for level in levels:
            parts = level.path(output_format="list")
            owner = parts[:-1]
            if change in ("iterable_item_added", "iterable_item_removed") or (
                parts and isinstance(parts[-1], int) and isinstance(_at(before, owner), list)
            ):
                key = _path(owner)
                if key not in lists:  # a list of values: the whole list at once, in order
                    lists.add(key)
                    found += _list_diffs(key, _at(before, owner), _at(after, owner))
                continue
            path = _path(parts)
            if change in ("dictionary_item_added", "attribute_added"):
                found.append(FieldDiff(path, "added", new=_plain(level.t2)))
            elif change in ("dictionary_item_removed", "attribute_removed"):
                found.append(FieldDiff(path, "removed", old=_plain(level.t1)))
            elif isinstance(level.t1, str) and isinstance(level.t2, str) and "\n" in level.t1 + level.t2:
                found += _text_diffs(path, level.t1, level.t2)
            else:
                found.append(FieldDiff(path, "changed", _plain(level.t1), _plain(level.t2)))
    found += _moves(before, after, ())
    return sorted(found, key=lambda d: (d.path, d.change))


def _moves(old: Any, new: Any, parts: FieldPath) -> Iterator[FieldDiff]:
    """Named items whose order changed (a container moved before another)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return
    named = [k for k in old if isinstance(k, _Name)]
    if named:
        kept_old = [k for k in old if k in new]
        kept_new = [k for k in new if k in old]
        if kept_old != kept_new:
            for key in kept_new:
                if kept_old.index(key) != kept_new.index(key):
                    yield FieldDiff(_path((*parts, key)), "moved", kept_old.index(key), kept_new.index(key))
    for key in old.keys() & new.keys():
        yield from _moves(old[key], new[key], (*parts, key))


def _at(value: Any, parts: Sequence[Any]) -> Any:
    for part in parts:
        value = value[part]
    return value


def _plain(value: Any) -> Any:
    """A value with named lists back as lists (for showing it)."""
    if isinstance(value, dict):
        if value and all(isinstance(k, _Name) for k in value):
            return [_plain(item) for item in value.values()]
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


@dataclass(frozen=True)
class ObjectDiff:
    """One object that differs: `<Kind>/<name>`, how, and (changed) its fields."""

    name: str
    change: ObjectChange
    fields: tuple[FieldDiff, ...] = ()

    def lines(self) -> list[str]:
        if self.change != "changed":
            return [f"{self.name}  {self.change}"]
        return [f"{self.name}  {field}" for field in self.fields]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"object": self.name, "change": self.change}
        if self.fields:
            out["fields"] = [field.to_json() for field in self.fields]
        return out


def _object_name(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def object_diffs(old: Iterable[dict[str, Any]], new: Iterable[dict[str, Any]]) -> list[ObjectDiff]:
    """The objects added, removed and changed from ``old`` to ``new`` (matched by kind and name:
    a namespace change is a field change), in name order."""
    before = {_object_name(obj): obj for obj in old}
    after = {_object_name(obj): obj for obj in new}
    out = []
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            out.append(ObjectDiff(name, "added"))
        elif name not in after:
            out.append(ObjectDiff(name, "removed"))
        elif before[name] != after[name]:
            out.append(ObjectDiff(name, "changed", tuple(field_diffs(before[name], after[name]))))
    return out


@dataclass(frozen=True)
class ProjectDiff:
    """Per environment, what a change deploys differently: the objects at ``base`` against now."""

    base: str
    environments: dict[str, list[ObjectDiff]]

    @property
    def differs(self) -> bool:
        return any(self.environments.values())

    def text(self) -> str:
        """One line per difference, `<env>  <Kind>/<name>  <field>: <old> -> <new>`, grouped by
        environment, then object."""
        width = max((len(env) for env, diffs in self.environments.items() if diffs), default=0)
        lines = [
            f"{env:<{width}}  {line}"
            for env, diffs in self.environments.items()
            for diff in diffs
            for line in diff.lines()
        ]
        if not lines:
            return f"lmcache-gitops: no environment deploys anything different from {self.base}\n"
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "differs": self.differs,
            "environments": {env: [diff.to_json() for diff in diffs] for env, diffs in self.environments.items()},
        }


def project_diff(
    base: str, old: dict[str, list[dict[str, Any]]], new: dict[str, list[dict[str, Any]]], only: Iterable[str] = ()
) -> ProjectDiff:
    """Each environment's objects at ``base`` (``old``) against now (``new``); an environment on
    one side only has every object added or removed. ``only``: these environments."""
    names = sorted(set(only) or old.keys() | new.keys())
    return ProjectDiff(base, {env: object_diffs(old.get(env, []), new.get(env, [])) for env in names})
