"""The one place that reads and writes YAML: documents with the line of every field, and output.

Reading builds plain JSON-like data from the YAML node graph (never Python objects), records the
line of each field, rejects duplicate keys instead of letting the last one win, and bounds what
aliases may expand to. Writing is canonical: sorted keys, block style, no wrapping, LF.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import FieldPath, Problem, format_path

try:  # LibYAML when present: same bytes, several times faster
    _Loader: type = yaml.CSafeLoader
    _Dumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader
    _Dumper = yaml.SafeDumper

MAX_ALIAS_NODES = 10_000  # nodes that aliases may add to one file; real specs use few or none
MAX_DEPTH = 100  # nesting levels; Kubernetes objects stay far below
MAX_DOCUMENTS = 10_000  # documents in one file: a fleet's specs split over a few files stay below

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
# Timestamps and binary stay the text the user wrote, as Kubernetes' YAML-to-JSON step keeps them.
_TEXT_TAGS = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"}
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Override:
    """A merge patch laid over part of a document (an environment's override of a spec): problems
    in the fields it sets are located where it is written, in ``document`` at ``root``."""

    document: Document
    root: FieldPath
    patch: Any
    target: FieldPath = ("spec",)  # the part of the overridden document that the patch applies to

    def sets(self, path: FieldPath) -> bool:
        """Whether the value at ``path`` (in the overridden document) comes from the patch."""
        if path[: len(self.target)] != self.target or len(path) == len(self.target):
            return False
        node = self.patch
        for part in path[len(self.target) :]:
            if isinstance(node, dict) and isinstance(part, str):
                if part not in node:
                    return False
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int):
                # A list replaced whole, or merged by key with the patch's items first: either
                # way the item at this index is the patch's.
                if part >= len(node):
                    return False
                node = node[part]
            else:
                return True  # the patch replaced this subtree whole (a scalar)
        return True


@dataclass(frozen=True)
class Document:
    """One YAML document: its data, the file it came from, and the line of each field path.

    ``context`` ends every message located in it (an environment compiling it says so), and an
    ``override`` relocates the problems of the fields it sets.
    """

    source: str
    data: Any = field(repr=False)
    lines: Mapping[FieldPath, int] = field(repr=False)
    context: str = ""
    override: Override | None = field(default=None, repr=False)

    def line(self, path: FieldPath) -> int:
        """The line of ``path``, or of its nearest ancestor present in the file."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return 1

    def where(self, path: FieldPath) -> str:
        """``file:line`` of ``path``, for messages that point at another place."""
        return f"{self.source}:{self.line(path)}"

    def problem(self, path: FieldPath, message: str) -> Problem:
        if self.override is not None and self.override.sets(path):
            override = self.override
            return override.document.problem((*override.root, *path[len(override.target) :]), message)
        return Problem(self.source, self.line(path), format_path(path), message + self.context)


class _Invalid(Exception):
    def __init__(self, line: int, path: FieldPath, message: str) -> None:
        self.line, self.path, self.message = line, path, message


class _Reader:
    """Turns one document's node graph into data, recording lines and checking the rules above."""

    def __init__(self) -> None:
        self.lines: dict[FieldPath, int] = {}
        self.seen: set[int] = set()
        self.sizes: dict[int, int] = {}
        self.alias_budget = MAX_ALIAS_NODES
        self.scalars = yaml.constructor.SafeConstructor()

    def value(self, node: yaml.Node, path: FieldPath) -> Any:
        if len(path) > MAX_DEPTH:
            raise _Invalid(_line(node), path, f"nesting deeper than {MAX_DEPTH} levels")
        if id(node) in self.seen:  # an alias: count what it expands to
            self.alias_budget -= self._size(node)
            if self.alias_budget < 0:
                raise _Invalid(
                    _line(node), path, f"aliases expand to more than {MAX_ALIAS_NODES} nodes (a YAML alias bomb?)"
                )
        self.seen.add(id(node))
        self.lines.setdefault(path, _line(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                raise _Invalid(_line(node), path, f"unsupported YAML tag {node.tag}")
            out = []
            for index, item in enumerate(node.value):
                self.lines[(*path, index)] = _line(item)
                out.append(self.value(item, (*path, index)))
            return out
        if node.tag in _TEXT_TAGS:
            return node.value
        if node.tag not in _PLAIN_TAGS:
            raise _Invalid(_line(node), path, f"unsupported YAML tag {node.tag}")
        try:
            return self.scalars.construct_object(node)
        except (ValueError, LookupError, TypeError, OverflowError):  # "!!int abc", "!!int ''", 5,000 digits
            kind = node.tag.rpartition(":")[2]
            shown = node.value if len(node.value) <= 40 else node.value[:40] + "..."
            raise _Invalid(_line(node), path, f"{json.dumps(shown)} is not a valid YAML {kind}") from None

    def _mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[str, Any]:
        if node.tag != _MAP_TAG:
            raise _Invalid(_line(node), path, f"unsupported YAML tag {node.tag}")
        out: dict[str, Any] = {}
        merged: list[yaml.MappingNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:  # "<<: *defaults": explicit keys win, as in YAML 1.1
                merged.extend(self._merge_sources(value_node, path))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Invalid(_line(key_node), path, "mapping keys must be plain scalars")
            key = key_node.value
            child = (*path, key)
            if key in out:
                first = self.lines[child]
                raise _Invalid(_line(key_node), child, f"duplicate key (first set at line {first})")
            self.lines[child] = _line(key_node)
            out[key] = self.value(value_node, child)
        for source in merged:
            for key_node, value_node in source.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                    raise _Invalid(_line(key_node), path, "a mapping merged with << must have plain scalar keys")
                key = key_node.value
                if key not in out:
                    self.lines.setdefault((*path, key), _line(key_node))
                    out[key] = self.value(value_node, (*path, key))
        return out

    def _merge_sources(self, node: yaml.Node, path: FieldPath) -> list[yaml.MappingNode]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise _Invalid(_line(source), path, "a merge key (<<) must name a mapping or a list of mappings")
        return list(sources)

    def _size(self, node: yaml.Node) -> int:
        size = self.sizes.get(id(node))
        if size is None:
            if isinstance(node, yaml.MappingNode):
                size = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                size = 1 + sum(self._size(item) for item in node.value)
            else:
                size = 1
            self.sizes[id(node)] = size
        return size


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def load_documents(text: str, source: str) -> tuple[list[Document], list[Problem]]:
    """Every non-empty document of ``text``, or the problems that stop it from being read.

    A file with no document at all is a problem; empty documents between ``---`` are skipped,
    as kubectl does.
    """
    documents: list[Document] = []
    try:
        for root in yaml.compose_all(text, Loader=_Loader):
            if root is None or (root.tag == "tag:yaml.org,2002:null" and isinstance(root, yaml.ScalarNode)):
                continue
            if len(documents) == MAX_DOCUMENTS:
                raise _Invalid(_line(root), (), f"more than {MAX_DOCUMENTS} documents in one file: split it")
            reader = _Reader()
            data = reader.value(root, ())
            documents.append(Document(source, data, reader.lines))
    except _Invalid as err:
        return [], [Problem(source, err.line, format_path(err.path), err.message)]
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 1
        return [], [Problem(source, line, "", f"invalid YAML: {err.problem or err.context}")]
    except yaml.reader.ReaderError as err:  # a character YAML does not allow
        line = text.count("\n", 0, err.position) + 1
        code = err.character if isinstance(err.character, int) else ord(err.character)
        return [], [Problem(source, line, "", f"invalid YAML: {err.reason} (U+{code:04X})")]
    except yaml.YAMLError as err:
        return [], [Problem(source, 1, "", f"invalid YAML: {err}")]
    except RecursionError:
        return [], [Problem(source, 1, "", f"invalid YAML: nesting deeper than {MAX_DEPTH} levels")]
    if not documents:
        return [], [Problem(source, 1, "", "no YAML document in the file (it is empty)")]
    return documents, []


class _OutputDumper(_Dumper):  # type: ignore[misc]  # the base is chosen at run time (LibYAML or not)
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line text (the connection JSON) reads best as a literal block, as kubectl shows it.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_OutputDumper.add_representer(str, _represent_str)


def dump_all(objects: Iterable[Any], *, sort_keys: bool = True) -> str:
    """Objects as a multi-document YAML stream (``---`` between documents); mapping keys sorted
    unless ``sort_keys`` is false (then in insertion order, for kustomization files).

    The bytes are those of LibYAML's emitter (through PyYAML) with block style, no wrapping and
    LF. A document made only of what the tree uses is written by `_emit`, several times faster
    and to the same bytes (tests/test_yamlio.py proves it on random documents); any other by PyYAML.
    """
    documents = list(objects)
    try:
        texts = [_emit(obj, sort_keys) for obj in documents]
    except _Unusual:
        return pyyaml_dump_all(documents, sort_keys=sort_keys)
    # LibYAML starts every document but the first explicitly, a flow collection on the same line.
    return (
        "".join([texts[0], *(("--- " if text[0] in "{[" else "---\n") + text for text in texts[1:])]) if texts else ""
    )


def pyyaml_dump_all(objects: Iterable[Any], *, sort_keys: bool = True) -> str:
    """``dump_all`` by PyYAML alone: the reference for `_emit`, and what writes any other document."""
    return yaml.dump_all(
        objects,
        Dumper=_OutputDumper,
        sort_keys=sort_keys,
        default_flow_style=False,
        allow_unicode=True,
        width=2**31 - 1,
        line_break="\n",
    )


class _Unusual(Exception):
    """A document `_emit` leaves to PyYAML: a scalar at its root, a type other than JSON's, text
    beyond printable ASCII, a key longer than LibYAML's simple keys, a literal block needing an
    indentation or keep indicator, or text LibYAML would double-quote."""


_MAX_SIMPLE_KEY = 128  # LibYAML writes a longer key as "? key"
_BLOCK_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
_resolver = yaml.resolver.Resolver()
_represent = yaml.representer.SafeRepresenter()
_plain_cache: dict[str, str] = {}  # text -> how it is written as a value or a key (identical)


def _scalar_text(value: str) -> str:
    """A one-line ASCII string as LibYAML writes it in block context (`yaml_emitter_analyze_scalar`
    and `select_scalar_style`): plain when nothing in it is an indicator and PyYAML's resolver
    reads it back as a string, else single-quoted; raises _Unusual where it would double-quote."""
    found = _plain_cache.get(value)
    if found is not None:
        return found
    if not value:
        return "''"  # plain "" reads as null
    if not value.isascii() or not value.isprintable():  # tabs, controls, DEL or beyond ASCII
        raise _Unusual
    first = value[0]
    indicator = (
        first in _BLOCK_INDICATORS
        or value.startswith(("---", "..."))
        or (first in "?:-" and (len(value) == 1 or value[1] == " "))
        or value[-1] == " "
        or first == " "
        or ": " in value
        or value.endswith(":")
        or " #" in value
    )
    resolved = _resolver.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    plain = not indicator and resolved == "tag:yaml.org,2002:str"
    text = value if plain else "'" + value.replace("'", "''") + "'"
    _plain_cache[value] = text
    return text


def _literal(value: str, indent: str) -> str:
    """A multi-line string as a literal block (its lines at ``indent``), as LibYAML writes it."""
    clipped = value.endswith("\n")  # "|" keeps the one final line break, "|-" has none
    body = value[:-1] if clipped else value
    if (
        not value.isascii()
        or not body.replace("\n", "").isprintable()
        or value[0] in " \n"  # LibYAML adds an indentation indicator
        or body.endswith("\n")  # a keep indicator ("|+")
        or value[-1] == " "
        or " \n" in value  # these two it double-quotes
    ):
        raise _Unusual
    lines = "".join(f"{indent}{line}\n" if line else "\n" for line in body.split("\n"))
    return ("|\n" if clipped else "|-\n") + lines


def _value(value: Any, indent: str) -> str:
    """A scalar after ``key: `` or ``- `` with its newline; a literal block's lines at ``indent``."""
    kind = type(value)
    if kind is str:
        return _literal(value, indent) if "\n" in value else _scalar_text(value) + "\n"
    if kind is bool:
        return "true\n" if value else "false\n"
    if kind is int:
        return f"{value}\n"
    if kind is float:
        return f"{_represent.represent_float(value).value}\n"
    if value is None:
        return "null\n"
    raise _Unusual


def _key(key: Any) -> str:
    if type(key) is not str or "\n" in key or len(key) > _MAX_SIMPLE_KEY:
        raise _Unusual
    return _scalar_text(key)


def _emit(obj: Any, sort_keys: bool) -> str:
    """One document in block style; raises _Unusual for what it leaves to PyYAML."""
    out: list[str] = []

    def mapping(node: dict[Any, Any], indent: str) -> None:
        inner = indent + "  "
        for key, value in sorted(node.items()) if sort_keys else node.items():
            kind = type(value)
            if kind is dict:
                if value:
                    out.append(f"{indent}{_key(key)}:\n")
                    mapping(value, inner)
                else:
                    out.append(f"{indent}{_key(key)}: {{}}\n")
            elif kind is list:
                if value:
                    out.append(f"{indent}{_key(key)}:\n")
                    sequence(value, indent)  # LibYAML does not indent a sequence in a mapping
                else:
                    out.append(f"{indent}{_key(key)}: []\n")
            else:
                out.append(f"{indent}{_key(key)}: {_value(value, inner)}")

    def sequence(node: list[Any], indent: str) -> None:
        inner = indent + "  "
        for item in node:
            kind = type(item)
            if (kind is dict or kind is list) and item:
                first = len(out)
                if kind is dict:
                    mapping(item, inner)
                else:
                    sequence(item, inner)
                out[first] = f"{indent}- {out[first][len(inner) :]}"  # the first line follows the dash
            elif kind is dict:
                out.append(f"{indent}- {{}}\n")
            elif kind is list:
                out.append(f"{indent}- []\n")
            else:
                out.append(f"{indent}- {_value(item, inner)}")

    kind = type(obj)
    if kind is dict:
        if not obj:
            return "{}\n"
        mapping(obj, "")
    elif kind is list:
        if not obj:
            return "[]\n"
        sequence(obj, "")
    else:
        raise _Unusual
    return "".join(out)
