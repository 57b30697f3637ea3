"""Reports of what a compile changed, or would change: per file, and per field of changed objects."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import Problem

if TYPE_CHECKING:  # the reports of a compile with nothing to do load neither
    from .diff import FieldDiff

Change = Literal["created", "changed", "deleted"]


@dataclass(frozen=True)
class FileChange:
    """One file of the tree that differs on disk: its path below the output folder and both texts."""

    path: str
    change: Change
    old: str | None = field(repr=False)
    new: str | None = field(repr=False)


def text_hash(text: str) -> str:
    """The hash of a file's text: what the compile cache knows a file by."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hashes(tree: Mapping[str, str]) -> dict[str, str]:
    """The hash of each file's text."""
    return {path: text_hash(text) for path, text in tree.items()}


def field_changes(change: FileChange) -> list[FieldDiff] | None:
    """The fields that differ between the old and the new object of a changed file, or None when
    the old file is not a readable object (edited by hand, for example)."""
    from .diff import field_diffs

    old, new = _object(change.old), _object(change.new)
    return None if old is None or new is None else field_diffs(old, new)


def build_differences(expected: list[dict[str, Any]], built: list[dict[str, Any]]) -> list[str]:
    """How the objects a folder builds to differ from those expected, one line per object."""
    from .diff import field_diffs

    lines: list[str] = []

    def key(obj: dict[str, Any]) -> str:
        metadata = obj.get("metadata") or {}
        where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
        return f"{obj.get('kind')} {where}{metadata.get('name')}"

    want, got = {key(obj): obj for obj in expected}, {key(obj): obj for obj in built}
    for name in sorted(want.keys() | got.keys()):
        if name not in got:
            lines.append(f"{name}: missing from the build")
        elif name not in want:
            lines.append(f"{name}: built, but the project does not deploy it")
        elif want[name] != got[name]:
            lines.append(f"{name}: " + "; ".join(str(c) for c in field_diffs(want[name], got[name])))
    if not lines and [key(o) for o in expected] != [key(o) for o in built]:
        lines.append("the same objects, in another order")
    return lines


def _object(text: str | None) -> dict[str, Any] | None:
    from ..read.yamlio import load_documents

    documents, problems = load_documents(text or "", "")
    if problems or len(documents) != 1 or not isinstance(documents[0].data, dict):
        return None
    return documents[0].data


@dataclass(frozen=True)
class Report:
    """The outcome of `compile` (``written``) or `compile --check`: every file that differs."""

    changes: list[FileChange]
    written: bool
    output: str  # the output folder as the user names it, to print paths they can open
    warnings: list[Problem] = field(default_factory=list)  # the webhook skips that were allowed

    @property
    def up_to_date(self) -> bool:
        return not self.changes

    def _path(self, change: FileChange) -> str:
        return change.path if self.output in ("", ".") else f"{self.output.rstrip('/')}/{change.path}"

    def to_json(self) -> dict[str, Any]:
        files = []
        for change in self.changes:
            entry: dict[str, Any] = {"path": self._path(change), "change": change.change}
            if change.change == "changed":
                fields = field_changes(change)
                if fields is not None:
                    entry["fields"] = [item.to_json() for item in fields]
            files.append(entry)
        return {
            "upToDate": self.up_to_date,
            "written": self.written,
            "files": files,
            "warnings": [warning.to_json() for warning in self.warnings],
        }

    def text(self) -> str:
        if self.up_to_date:
            return "lmcache-gitops: the tree is up to date\n"
        verb = "was updated" if self.written else "is out of date"
        noun = "file" if len(self.changes) == 1 else "files"
        lines = [f"lmcache-gitops: the tree {verb} ({len(self.changes)} {noun}):"]
        for change in self.changes:
            lines.append(f"  {change.change:<8} {self._path(change)}")
            if change.change == "changed" and not self.written:
                fields = field_changes(change)
                lines += (
                    [f"      {item}" for item in fields] if fields is not None else ["      (not a readable object)"]
                )
        if not self.written:
            lines.append("Run `lmcache-gitops compile` to update it.")
        return "\n".join(lines) + "\n"
