"""A compile after some input documents changed: the files of the last compile's tree that the
change reaches, made again, or None when only a whole compile can tell.

Documents are grouped by what they name: one mentions another when a word of its keys or values
is the other's name, or starts with it followed by `-` or `.` (what the operator generates and
dials: `<name>-connection`, `<name>.<namespace>.svc`); an LMCacheConfig, which selects pods by
their labels, is grouped with every object of the user's. Every check and every reference of a
compile stays inside such a group, so a group compiled alone, as a project of its own, makes
the same files for its resources and objects as the whole project does. The files every input
adds to (the kustomizations that list them, an environment's Namespace, clusters/) are made
whole only by a whole compile: the group must make the same ones before and after the change.

Anything else is a whole compile: another set of files or documents, a document renamed, a
problem in the group or a change to its warnings, a file of the group that the last tree does
not have as the group makes it, a group that holds most of the project.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..errors import InvalidInput, Problem
from ..models.project_file import Project
from ..read import inputs as reading
from ..read.source import Source
from ..read.yamlio import Document, load_documents
from .drift import hashes
from .environments import build_project, resolves, selectors
from .tree import Tree, build_tree, shared_file

_WORD = re.compile(r"[a-z0-9][a-z0-9.-]*")
_CUT = re.compile(r"[-.]")
_ESCAPE = re.compile(r"\\(u[0-9a-f]{4}|.)")  # in JSON text: a line break, a quote, ...
_CONFIG = "LMCacheConfig"  # selects the pods it wires by labels, not by name
MOST = 0.5  # of the documents: a larger group compiles about as fast whole


class Entry(NamedTuple):
    """What a compile remembers of one input document: where it starts, what it is, and the
    names of the project's documents it mentions (a tuple: thousands are read back at once)."""

    line: int
    identity: tuple[str, ...]  # apiVersion, kind, namespace as written, name
    mentions: tuple[str, ...]

    def to_json(self) -> list[object]:
        return [self.line, list(self.identity), list(self.mentions)]

    @classmethod
    def from_json(cls, data: Any) -> Entry:
        line, identity, mentions = data
        return cls(int(line), tuple(identity), tuple(mentions))


Entries = dict[str, list[Entry]]  # input file -> its documents, in order


def _identity(data: Any) -> tuple[str, ...]:
    body = data if isinstance(data, dict) else {}
    metadata = body.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    found = (body.get("apiVersion"), body.get("kind"), metadata.get("namespace"), metadata.get("name"))
    return tuple("" if value is None else str(value) for value in found)


def _mentions(data: Any, names: frozenset[str]) -> tuple[str, ...]:
    """The ``names`` that a word of ``data``'s keys and scalars is, or starts with before a `-` or `.`."""
    found = set()
    text = _ESCAPE.sub(" ", json.dumps(data, ensure_ascii=False).lower())  # every key and scalar, at C speed
    for word in set(_WORD.findall(text)):
        if word in names:
            found.add(word)
        for cut in (match.start() for match in _CUT.finditer(word)):
            if word[:cut] in names:
                found.add(word[:cut])
    return tuple(sorted(found))


def _start(document: Document) -> int:
    return document.lines.get((), 1)


def _entries(documents: Sequence[Document], names: frozenset[str]) -> list[Entry]:
    return [Entry(_start(d), _identity(d.data), _mentions(d.data, names)) for d in documents]


def entries(resources: Iterable[reading.Resource], manifests: Iterable[reading.Manifest]) -> Entries:
    """The entry of every document of the inputs, by file and in file order."""
    found: dict[str, list[Document]] = {}
    for document in [*(r.document for r in resources), *(m.document for m in manifests)]:
        found.setdefault(document.source, []).append(document)
    names = frozenset(_identity(d.data)[3] for documents in found.values() for d in documents)
    return {source: _entries(sorted(docs, key=_start), names) for source, docs in found.items()}


@dataclass(frozen=True)
class Last:
    """What the last compile of the project read and made."""

    inputs: dict[str, str]  # input file -> text, in the order read
    entries: Entries
    tree: Mapping[str, str]  # file -> the hash of its text (tree.hashes)


@dataclass(frozen=True)
class Recompiled:
    """The files of the last tree that the change reaches, ``old`` as they are there and ``new``
    as they are now (the rest of the tree stays as it is), and the entries of the inputs now."""

    old: Tree
    new: Tree
    entries: Entries


DocumentId = tuple[str, int]  # input file, index in it


class _Groups:
    """Union-find over the documents."""

    def __init__(self) -> None:
        self.parent: dict[DocumentId, DocumentId] = {}

    def find(self, item: DocumentId) -> DocumentId:
        root = self.parent.setdefault(item, item)
        while root != self.parent[root]:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def join(self, one: DocumentId, other: DocumentId) -> None:
        self.parent[self.find(one)] = self.find(other)


def _overridden(document: Document, names: frozenset[str]) -> list[tuple[str, tuple[str, ...]]]:
    """What the environments' overrides in the project file make a document name: an override
    may point an engine at another coordinator, or wire a workload to another engine."""
    found, mentioned = [], {}
    for env in _mapping(document.data, "environments").values():
        for key, override in _mapping(env, "overrides").items():
            text = json.dumps(override, sort_keys=True)  # most overrides are alike: each is read once
            if text not in mentioned:
                mentioned[text] = _mentions(override, names)
            found.append((key.rpartition("/")[2], mentioned[text]))
    return found


def _mapping(data: Any, key: str) -> dict[str, Any]:
    found = data.get(key) if isinstance(data, dict) else None
    return found if isinstance(found, dict) else {}


def _group(
    reached: set[DocumentId],
    entries: Entries,
    mentions: Iterable[tuple[DocumentId, tuple[str, ...]]],
    overridden: Sequence[tuple[str, tuple[str, ...]]],
) -> set[DocumentId]:
    """The documents grouped with ``reached``: of ``entries`` (their names and kinds), by what
    they name in ``mentions`` and what the ``overridden`` documents name in an environment."""
    groups = _Groups()
    named: dict[str, list[DocumentId]] = {}
    manifests, configs = [], []
    for source, found in entries.items():
        for index, entry in enumerate(found):
            named.setdefault(entry.identity[3], []).append((source, index))
            if reading.is_manifest({"apiVersion": entry.identity[0], "kind": entry.identity[1]}):
                manifests.append((source, index))
            elif entry.identity[1] == _CONFIG:
                configs.append((source, index))
    for document, names in mentions:
        for name in names:
            for other in named.get(name, ()):
                groups.join(document, other)
    for config in configs:
        for manifest in manifests:
            groups.join(config, manifest)
    for name, mentioned in overridden:
        for one in named.get(name, ()):
            for other in (found for other_name in mentioned for found in named.get(other_name, ())):
                groups.join(one, other)
    roots = {groups.find(item) for item in reached}
    return {item for item in groups.parent if groups.find(item) in roots} | reached


def recompile(
    project: Project,
    document: Document,
    last: Last,
    now: Sequence[Source],
    *,
    allow_skip: bool,
    tree: str | None,
    rendered: bool,
    most: float = MOST,
) -> Recompiled | None:
    """What changes in ``last``'s tree with the inputs ``now``, or None (see above); also None
    when the change reaches more than ``most`` of the documents."""
    if [source.name for source in now] != list(last.inputs):
        return None
    changed = [source for source in now if source.text != last.inputs[source.name]]
    if not changed:
        return None
    names = frozenset(entry.identity[3] for found in last.entries.values() for entry in found)
    new_entries = dict(last.entries)
    reached: set[DocumentId] = set()
    old_documents: dict[str, list[Document]] = {}
    new_documents: dict[str, list[Document]] = {}
    for source in changed:
        new_documents[source.name], problems = load_documents(source.text, source.name)
        new_entries[source.name] = _entries(new_documents[source.name], names)
        if problems or [e.identity for e in new_entries[source.name]] != [
            e.identity for e in last.entries.get(source.name, [])
        ]:
            return None  # what the project's names are, or a problem: a whole compile says
        old_documents[source.name], _ = load_documents(last.inputs[source.name], source.name)
        for index, (old, new) in enumerate(zip(old_documents[source.name], new_documents[source.name], strict=True)):
            # JSON tells 1 from 1.0 and true; the lines, where a problem or warning points
            if old.lines != new.lines or json.dumps(old.data) != json.dumps(new.data):
                reached.add((source.name, index))
    if not reached:
        return None
    mentions = [
        ((source, index), entry.mentions)
        for version in (last.entries, {name: new_entries[name] for name in new_documents})
        for source, found in version.items()
        for index, entry in enumerate(found)
    ]  # before and after the change: the names are the same
    group = _group(reached, last.entries, mentions, _overridden(document, names))
    if len(group) > most * sum(len(found) for found in new_entries.values()):
        return None
    for name in {source for source, _ in group} - set(old_documents):  # unchanged: read once for both
        old_documents[name] = new_documents[name] = load_documents(last.inputs[name], name)[0]
    in_order = [name for name in last.inputs if name in old_documents]  # as a whole compile reads them
    old_documents = {name: old_documents[name] for name in in_order}
    new_documents = {name: new_documents[name] for name in in_order}
    try:
        before = _compile_group(project, document, old_documents, last.entries, group, allow_skip, tree, rendered)
        after = _compile_group(project, document, new_documents, new_entries, group, allow_skip, tree, rendered)
    except InvalidInput:
        return None
    if before.warnings != after.warnings:
        return None
    for path in before.files.keys() | after.files.keys():
        if shared_file(path) and before.files.get(path) != after.files.get(path):
            return None
    old_own = {path: text for path, text in before.files.items() if not shared_file(path)}
    new_own = {path: text for path, text in after.files.items() if not shared_file(path)}
    if any(last.tree.get(path) != digest for path, digest in hashes(old_own).items()):
        return None  # the group alone does not make what the whole project made
    if any(path in last.tree and path not in old_own for path in new_own):
        return None  # a file another group has
    return Recompiled(old_own, new_own, new_entries)


@dataclass(frozen=True)
class _Made:
    files: Tree
    warnings: list[Problem]


def _compile_group(
    project: Project,
    document: Document,
    documents: Mapping[str, Sequence[Document]],
    found: Entries,
    group: set[DocumentId],
    allow_skip: bool,
    tree: str | None,
    rendered: bool,
) -> _Made:
    """The tree of ``group``'s documents (of ``documents`` by file, in the order read, with the
    entries ``found``) compiled as a project of their own: the environments include and
    override only what they name of the group."""
    starts = {(source, found[source][index].line) for source, index in group}
    chosen = [d for source, found_there in documents.items() for d in found_there if (source, _start(d)) in starts]
    inputs, problems = reading.parse_all(chosen, project.namespace)
    if problems:
        raise InvalidInput(problems)
    known = selectors(inputs)
    environments = {
        name: env.narrowed(
            include=None if env.include is None else [n for n in env.include if resolves(n, known)],
            overrides={n: o for n, o in env.overrides.items() if resolves(n, known)},
        )
        for name, env in project.environments.items()
    }
    objects = {f"{r.kind}/{r.name}" for r in inputs.resources} | {f"{m.kind}/{m.name}" for m in inputs.manifests}
    alone = project.narrowed(
        environments=environments,
        not_secrets={key: paths for key, paths in project.not_secrets.items() if key in objects},
    )
    build = build_project(alone, document, inputs, allow_skip=allow_skip, tree=tree)
    return _Made(build_tree(build, rendered=rendered), list(build.warnings))
