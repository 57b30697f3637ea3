"""A seeded mutation fuzzer over lmcache-gitops projects: specs, workloads and project files.

Each case starts from a valid project of the corpus (the example project, the render fixtures, the
operator's samples), applies 1-3 mutations (hostile values at random paths, deleted or unknown
keys, odd kinds and names, swapped types, or edits of the YAML text itself), writes the project to
a folder, runs one command of the CLI in-process and checks the contract every input must keep:

- the exit code is 0 or 1 (3 is an internal error, anything else a crash or a bad command line);
- stderr never holds a traceback, and every line of it is a problem (``<file>:<line>: <message>``,
  one printable line, the line a positive number within the file) or the ``lmcache-gitops:``
  summary, whose count matches the problems;
- nothing is written outside the project folder, and nothing inside it by ``render``,
  ``validate``, ``compile --check`` or a compile of invalid input;
- what succeeds is well formed: render gives YAML documents (optionally valid against the
  Kubernetes 1.33 schema, strictly, and the ServiceMonitor CRD), ``--format json`` gives JSON.

Everything is derived from ``random.Random(seed)``: the same seed always builds the same case.
Used by tests/test_fuzz.py and bench/fuzz.py (``python bench/fuzz.py --seed N`` replays a case).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import io
import json
import os
import random
import re
import signal
import sys
import threading
import time
import traceback
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from lmcache_gitops.cli import main as cli_main
from lmcache_gitops.models import OWN_API_VERSION
from lmcache_gitops.naming import TOP_FOLDERS

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "operator-samples"
OPERATOR_API = "lmcache.lmcache.ai/"
OPERATOR_KINDS = ("LMCacheEngine", "CacheBlendEngine", "LMCacheCoordinator")
PROJECT_FILE = "lmcache-gitops.yaml"
SPECS_FILE = "specs/specs.yaml"
WORKLOADS_FILE = "workloads/workloads.yaml"
CASE_TIMEOUT = 20.0  # seconds; a case that runs longer is a failure ("timeout")

Doc = Any  # a YAML document: usually a dict, any value once mutated
FieldPath = tuple[str | int, ...]

# ---------------------------------------------------------------------------------------------
# The corpus: valid projects to start from.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    """A valid starting project: its specs, its workloads, and (for the example project) its own
    project file; the others get environments generated per case."""

    name: str
    specs: tuple[Doc, ...]
    workloads: tuple[Doc, ...]
    project: dict[str, Any] | None = None


def _load(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _is_spec(doc: Doc) -> bool:
    return isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith((OPERATOR_API, OWN_API_VERSION))


def _projectable(doc: Doc) -> Doc:
    """A spec that deploys into any environment's namespace: an environment moves every object into
    its namespace, so a Secret reference may not name another one."""
    secret = doc
    for key in ("spec", "l2Backend", "resp", "authSecretRef"):
        secret = secret.get(key) or {}
    secret.pop("namespace", None)
    return doc


def _engines_named(doc: Doc) -> set[str]:
    """The engines a workload's pod template names in its opt-in annotations."""
    text = json.dumps(doc)
    return set(re.findall(r'"lmcache\.ai/(?:lmcache|cacheblend)-engine": "([^"]+)"', text))


@functools.cache
def corpus() -> tuple[Base, ...]:
    """Every starting project, in a fixed order."""
    bases = [
        Base(
            "example",
            tuple(doc for path in sorted((ROOT / "specs").glob("*.yaml")) for doc in _load(path)),
            tuple(doc for path in sorted((ROOT / "workloads").glob("*.yaml")) for doc in _load(path)),
            yaml.safe_load((ROOT / PROJECT_FILE).read_text()),
        )
    ]
    for path in sorted((ROOT / "fixtures" / "render").glob("*.yaml")):
        if path.name.endswith(".expected.yaml"):
            continue
        docs = _load(path)
        bases.append(
            Base(
                f"fixture:{path.stem}",
                tuple(_projectable(d) for d in docs if _is_spec(d)),
                tuple(d for d in docs if not _is_spec(d)),
            )
        )
    samples = [
        p for p in sorted(SAMPLES.glob("*.yaml")) if p.name != "kustomization.yaml" and "vllmrouter" not in p.name
    ]
    sample_specs = {p: _load(p) for p in samples if p.name.startswith("lmcache_v1alpha1_")}
    for path, docs in sample_specs.items():
        bases.append(Base(f"sample:{path.stem}", tuple(docs), ()))
    for path in samples:
        if path in sample_specs:
            continue
        workloads = _load(path)
        wanted = set().union(*(_engines_named(doc) for doc in workloads)) or {"my-cache"}
        specs: list[Doc] = []
        for name in sorted(wanted):  # the first sample that defines each engine the workloads name
            for docs in sample_specs.values():
                found = [d for d in docs if d["metadata"]["name"] == name]
                if found:
                    specs.extend(found)
                    break
        bases.append(Base(f"sample:{path.stem}", tuple(specs), tuple(workloads)))
    return tuple(bases)


# ---------------------------------------------------------------------------------------------
# Hostile values and the mutations that use them.
# ---------------------------------------------------------------------------------------------

HOSTILE_VALUES: tuple[Any, ...] = (
    None,
    "",
    " ",
    "x" * 300,
    "a" * 50_000,
    "line\nbreak",
    "tab\there",
    "nul\x00byte",
    "bell\x07",
    "esc\x1b[31mred",
    "del\x7f",
    "next\x85line",
    "sep\u2028line",
    "para\u2029graph",
    "zero\u200bwidth",
    "\ufeffbom",
    "rtl\u202eevil",
    "ünïcödé",
    "日本語",
    "😀",
    "../../x",
    "/etc/passwd",
    "${VAR}",
    "$(id)",
    "{{ .Values.x }}",
    "*",
    "-",
    "--flag",
    "1e3",
    "0x10",
    "true",
    "null",
    "~",
    "'\"",
    "a: b",
    "- x",
    "#comment",
    "%",
    "\\",
    "10Gi",
    "-1Gi",
    "1e400",
    10**40,
    -(10**40),
    -1,
    0,
    1,
    2**31,
    2**63,
    1e308,
    -1e308,
    1e-320,
    0.5,
    -0.0,
    float("inf"),
    float("-inf"),
    float("nan"),
    True,
    False,
    [],
    {},
    [None],
    [None, None],
    [[[]]],
    [""],
    {"a": {"b": {"c": None}}},
    {"": ""},
    {"x": [1, "2", None]},
    {"name": None},
)

EXTREME_INTS: tuple[int, ...] = (
    0,
    -1,
    1,
    2,
    1023,
    1024,
    65535,
    65536,
    2**31 - 1,
    2**31,
    2**53 + 1,
    2**63,
    10**40,
    -(10**40),
)
EXTREME_FLOATS: tuple[float, ...] = (
    0.0,
    -0.0,
    1e308,
    1.7976931348623157e308,
    1e-320,
    float("inf"),
    float("-inf"),
    float("nan"),
    0.1 + 0.2,
    1.0,
    1e16,
    0.999999999,
    -0.5,
)
ODD_KINDS: tuple[Any, ...] = (
    "List",
    "Secret",
    "../x",
    "[x]",
    "Namespace",
    "v1",
    "",
    "ConfigMap",
    "Kustomization",
    "CustomResourceDefinition",
    "ClusterRole",
    "Pod",
    "Deployment",
    "Service",
    *OPERATOR_KINDS,
    "lmcacheengine",
    None,
    1,
    [],
)
ODD_API_VERSIONS: tuple[Any, ...] = (
    "v1",
    "example.com/v1",
    "../x",
    "[x]",
    "",
    "apps/v1",
    "batch/v1",
    "lmcache.lmcache.ai/v1alpha1",
    "lmcache.lmcache.ai/v1",
    "lmcache.lmcache.ai/",
    "kustomize.config.k8s.io/v1beta1",
    "monitoring.coreos.com/v1",
    "/",
    None,
    1.0,
)
ODD_NAMES: tuple[Any, ...] = (
    "",
    "UPPER",
    "a" * 63,
    "a" * 64,
    "a" * 254,
    "-leading",
    "trailing-",
    "dot.name",
    "under_score",
    "../../etc",
    "/abs",
    "x\ny",
    "é",
    "a b",
    ".",
    "..",
    "bases",
    "_workloads",
    "kustomization",
    "patches",
    "x-metrics",
    "1",
    "0x1",
    1,
    None,
    True,
    ["x"],
)
UNKNOWN_KEYS: tuple[Any, ...] = ("unknownField", "", "$patch", "x\ny", "status", "0", "metadata", "spec", 1, None)
ODD_NAMESPACES: tuple[str, ...] = ("default", "llm", "UPPER", "", "a" * 70, "kube-system", "x.y")

YAML_TAGS: tuple[str, ...] = (
    "!!int abc",
    "!!float x",
    "!!bool abc",
    "!!python/object:os.system {}",
    "!!python/object/apply:os.getcwd []",
    "!!python/name:os.system",
    "!!binary AAAA",
    "!!binary '%%%'",
    "!!timestamp x",
    "!!timestamp 2001-12-14t21:59:43.10-05:00",
    "!!set {a}",
    "!!omap [a: 1]",
    "!!pairs [a: 1]",
    "!!null x",
    "!!str",
    "!!map []",
    "!!seq {}",
    "!custom x",
    "!<tag:yaml.org,2002:int> x",
    "!!merge x",
    "!!value x",
)
CONTROL_CHARACTERS: tuple[str, ...] = (
    "\x00",
    "\x01",
    "\x07",
    "\x08",
    "\x1b",
    "\x7f",
    "\x85",
    "\u2028",
    "\ufeff",
    "\udcff",  # written as the invalid UTF-8 byte 0xff (surrogateescape)
    "\r",
    "\t",
)
ALIAS_BOMB = "\n".join(
    ["---", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
)


@dataclass
class Case:
    """One fuzz case, fully determined by its seed."""

    seed: int
    base: str
    argv: list[str]
    data: dict[str, list[Doc]]  # file -> its documents, after the structural mutations
    original: dict[str, list[Doc]]  # file -> its documents, unmutated
    texts: dict[str, str]  # file -> its text, after the text mutations
    mutations: list[str]
    precompile: bool  # compile the unmutated project first, so that a tree is there

    def describe(self) -> str:
        return (
            f"seed {self.seed}: base {self.base}, {'precompiled, ' if self.precompile else ''}"
            f"`lmcache-gitops {' '.join(self.argv)}`; mutations: {'; '.join(self.mutations) or 'none'}"
        )


def _walk(value: Doc, path: FieldPath = ()) -> Iterator[tuple[FieldPath, Doc]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def _get(doc: Doc, path: FieldPath) -> Doc:
    for part in path:
        doc = doc[part]
    return doc


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}...({len(text)} chars)"


def _show(path: FieldPath) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path) or "(document)"


class _Mutator:
    """The structural mutations: each takes one document and returns it changed (the same object
    where it changes inside), and a description."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, doc: Doc, want: Callable[[Doc], bool] = lambda _: True) -> FieldPath | None:
        paths = [path for path, value in _walk(doc) if want(value)]
        return self.rng.choice(paths) if paths else None

    def put(self, doc: Doc, path: FieldPath, value: Doc) -> Doc:
        if not path:
            return value
        _get(doc, path[:-1])[path[-1]] = value
        return doc

    def replace(self, doc: Doc) -> tuple[Doc, str]:
        path = self.pick(doc)
        assert path is not None
        value = copy.deepcopy(self.rng.choice(HOSTILE_VALUES))
        return self.put(doc, path, value), f"{_show(path)} = {_short(value)}"

    def retype(self, doc: Doc) -> tuple[Doc, str]:
        """A scalar replaced by an extreme value of its own type, which type checks let through."""
        path = self.pick(doc, lambda v: isinstance(v, str | int | float) and not isinstance(v, bool))
        if path is None:
            return self.replace(doc)
        value = _get(doc, path)
        if isinstance(value, str):
            pool: tuple[Any, ...] = tuple(v for v in (*HOSTILE_VALUES, *ODD_NAMES) if isinstance(v, str))
            if self.rng.random() < 0.3:  # keep the value, add a hostile tail
                pool = tuple(value + v for v in pool)
        elif isinstance(value, int):
            pool = EXTREME_INTS + EXTREME_FLOATS[:3]
        else:
            pool = EXTREME_FLOATS + EXTREME_INTS[:3]
        new = self.rng.choice(pool)
        return self.put(doc, path, new), f"{_show(path)} = {_short(new)} (was {_short(value)})"

    def flip(self, doc: Doc) -> tuple[Doc, str]:
        path = self.pick(doc, lambda v: isinstance(v, bool))
        if path is None:
            return self.retype(doc)
        return self.put(doc, path, not _get(doc, path)), f"{_show(path)} flipped"

    def delete_key(self, doc: Doc) -> tuple[Doc, str]:
        path = self.pick(doc, lambda v: isinstance(v, dict) and bool(v))
        if path is None:
            return self.replace(doc)
        target = _get(doc, path)
        key = self.rng.choice(list(target))
        del target[key]
        return doc, f"delete {_show((*path, key))}"

    def duplicate_item(self, doc: Doc) -> tuple[Doc, str]:
        path = self.pick(doc, lambda v: isinstance(v, list) and bool(v))
        if path is None:
            return self.add_key(doc)
        target = _get(doc, path)
        index = self.rng.randrange(len(target))
        target.insert(index, copy.deepcopy(target[index]))
        return doc, f"duplicate {_show((*path, index))}"

    def add_key(self, doc: Doc) -> tuple[Doc, str]:
        path = self.pick(doc, lambda v: isinstance(v, dict))
        if path is None:
            return self.replace(doc)
        key = self.rng.choice(UNKNOWN_KEYS)
        value = copy.deepcopy(self.rng.choice(HOSTILE_VALUES))
        _get(doc, path)[key] = value
        return doc, f"add {_show(path)}[{key!r}] = {_short(value)}"

    def odd_kind(self, doc: Doc) -> tuple[Doc, str]:
        if not isinstance(doc, dict):
            return self.replace(doc)
        key, pool = self.rng.choice((("kind", ODD_KINDS), ("apiVersion", ODD_API_VERSIONS)))
        doc[key] = copy.deepcopy(self.rng.choice(pool))
        return doc, f"{key} = {_short(doc[key])}"

    def odd_name(self, doc: Doc) -> tuple[Doc, str]:
        if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
            return self.replace(doc)
        key = self.rng.choice(("name", "name", "namespace"))
        doc["metadata"][key] = copy.deepcopy(self.rng.choice(ODD_NAMES))
        return doc, f"metadata.{key} = {_short(doc['metadata'][key])}"

    def swap_type(self, doc: Doc) -> tuple[Doc, str]:
        path = self.pick(doc)
        assert path is not None
        value = _get(doc, path)
        if isinstance(value, dict):
            new: Doc = self.rng.choice((list(value.values()), [value], json.dumps(value)))
        elif isinstance(value, list):
            new = self.rng.choice(({str(i): v for i, v in enumerate(value)}, value[0] if value else None, ""))
        else:
            new = self.rng.choice(([value], {"value": value}, str(value), 1 if isinstance(value, str) else "1"))
        return self.put(doc, path, new), f"swap {_show(path)}: {type(value).__name__} -> {_short(new)}"

    def rename_key(self, doc: Doc) -> tuple[Doc, str]:
        """An existing key under another name (its typo, its case changed): an unknown field."""
        path = self.pick(doc, lambda v: isinstance(v, dict) and bool(v))
        if path is None:
            return self.replace(doc)
        target = _get(doc, path)
        key = self.rng.choice(list(target))
        new = self.rng.choice((str(key).upper(), f"{key}s", str(key)[:-1], f" {key}"))
        target[new] = target.pop(key)
        return doc, f"rename {_show((*path, key))} -> {new!r}"

    def mutate(self, doc: Doc) -> tuple[Doc, str]:
        operations = (
            (self.replace, 4),
            (self.retype, 6),
            (self.flip, 1),
            (self.delete_key, 2),
            (self.duplicate_item, 1),
            (self.add_key, 2),
            (self.odd_kind, 1),
            (self.odd_name, 1),
            (self.swap_type, 2),
            (self.rename_key, 1),
        )
        operation = self.rng.choices([op for op, _ in operations], [w for _, w in operations])[0]
        return operation(doc)


_SCALAR_LINE = re.compile(r"^(\s*(?:- )?)([^\s#'\"{\[-][^:#]*?): (\S.*)$")
_OPEN_LINE = re.compile(r"^(\s*(?:- )?)([^\s#'\"{\[-][^:#]*?):$")


class _TextMutator:
    """Edits of a file's YAML text (the structure is no longer known afterwards)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _line(self, lines: list[str], pattern: re.Pattern[str]) -> int | None:
        found = [i for i, line in enumerate(lines) if pattern.match(line)]
        return self.rng.choice(found) if found else None

    def _set_value(self, text: str, value: str, what: str) -> tuple[str, str]:
        lines = text.split("\n")
        index = self._line(lines, _SCALAR_LINE)
        if index is None:
            return text + f"\nfuzz: {value}\n", f"append `fuzz: {_short(value)}`"
        match = _SCALAR_LINE.match(lines[index])
        assert match
        lines[index] = f"{match[1]}{match[2]}: {value}"
        return "\n".join(lines), f"line {index + 1}: {match[2]}: {what}"

    def tag(self, text: str) -> tuple[str, str]:
        tag = self.rng.choice(YAML_TAGS)
        return self._set_value(text, tag, tag)

    def huge_int(self, text: str) -> tuple[str, str]:
        digits = self.rng.choice((4301, 5000, 20000))
        return self._set_value(text, "9" * digits, f"an int of {digits} digits")

    def alias(self, text: str) -> tuple[str, str]:
        lines = text.split("\n")
        choice = self.rng.randrange(5)
        if choice == 0:  # an alias to an anchor that does not exist
            return self._set_value(text, "*undefined", "*undefined")
        if choice == 1:  # a bomb of aliases, as its own document
            return text + "\n" + ALIAS_BOMB + "\n", "an alias bomb document"
        if choice == 2:  # a recursive structure
            return self._set_value(text, "&loop [*loop]", "&loop [*loop]")
        scalars = [i for i, line in enumerate(lines) if _SCALAR_LINE.match(line)]
        if len(scalars) < 2:
            return self._set_value(text, "*undefined", "*undefined")
        first, second = sorted(self.rng.sample(scalars, 2))
        anchored, aliased = _SCALAR_LINE.match(lines[first]), _SCALAR_LINE.match(lines[second])
        assert anchored and aliased
        if choice == 3:  # a shared scalar
            lines[first] = f"{anchored[1]}{anchored[2]}: &shared {anchored[3]}"
        else:  # an anchor reused in place of another value, before its definition is complete
            lines[first] = f"{anchored[1]}{anchored[2]}: &shared {anchored[3]}"
            lines.insert(first + 1, f"{' ' * len(anchored[1])}fuzzAnchored: &other {{a: 1}}")
            second += 1
        lines[second] = f"{aliased[1]}{aliased[2]}: *shared"
        return "\n".join(lines), f"lines {first + 1}/{second + 1}: anchor and alias"

    def merge_key(self, text: str) -> tuple[str, str]:
        lines = text.split("\n")
        index = self._line(lines, _OPEN_LINE)
        if index is None or index + 1 >= len(lines):
            return self._set_value(text, "{<<: {a: 1}}", "{<<: {a: 1}}")
        indent = len(lines[index + 1]) - len(lines[index + 1].lstrip(" "))
        value = self.rng.choice(("{unknownMerged: 1}", "[{a: 1}, {b: 2}]", "1", "*undefined", "{}"))
        lines.insert(index + 1, " " * indent + f"<<: {value}")
        return "\n".join(lines), f"line {index + 2}: <<: {value}"

    def truncate(self, text: str) -> tuple[str, str]:
        at = self.rng.randrange(len(text) + 1)
        return text[:at], f"truncated at {at} of {len(text)}"

    def control(self, text: str) -> tuple[str, str]:
        char = self.rng.choice(CONTROL_CHARACTERS)
        at = self.rng.randrange(len(text) + 1)
        return text[:at] + char + text[at:], f"{char!r} at {at}"

    def duplicate_key(self, text: str) -> tuple[str, str]:
        lines = text.split("\n")
        found = [i for i, line in enumerate(lines) if _SCALAR_LINE.match(line) and not line.lstrip().startswith("-")]
        if not found:
            return self.control(text)
        index = self.rng.choice(found)
        lines.insert(index + 1, lines[index])
        return "\n".join(lines), f"line {index + 1} duplicated"

    def tab(self, text: str) -> tuple[str, str]:
        lines = text.split("\n")
        found = [i for i, line in enumerate(lines) if line.startswith(" ")]
        if not found:
            return "\t" + text, "a tab at the start"
        index = self.rng.choice(found)
        stripped = lines[index].lstrip(" ")
        lines[index] = self.rng.choice(("\t", "\t" * 2, " \t")) + stripped
        return "\n".join(lines), f"line {index + 1}: tab indentation"

    def layout(self, text: str) -> tuple[str, str]:
        """The file as a whole: empty, a BOM, CRLF line ends, extra document separators, JSON."""
        choice = self.rng.randrange(7)
        if choice == 0:
            return "", "empty file"
        if choice == 1:
            return "\ufeff" + text, "a BOM"
        if choice == 2:
            return text.replace("\n", "\r\n"), "CRLF line ends"
        if choice == 3:
            return "---\n---\n" + text + "\n---\n...\n", "empty documents"
        if choice == 4:
            return "# only a comment\n", "only a comment"
        if choice == 5:
            return "%YAML 1.1\n---\n" + text, "a %YAML directive"
        return text + "\n---\n[1, 2, 3]\n---\nplain scalar\n", "a list and a scalar document"

    def mutate(self, text: str) -> tuple[str, str]:
        operations = (
            self.tag,
            self.huge_int,
            self.alias,
            self.merge_key,
            self.truncate,
            self.control,
            self.duplicate_key,
            self.tab,
            self.layout,
        )
        return self.rng.choice(operations)(text)


def dump(documents: list[Doc]) -> str:
    """Documents as YAML; every scalar on one line, so that text mutations see whole values."""
    return yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True, width=10**9)


def _project_file(rng: random.Random, base: Base) -> dict[str, Any]:
    """A project file for a base without one: 1-3 environments, sometimes labels and overrides."""
    if base.project is not None:
        return copy.deepcopy(base.project)
    project: dict[str, Any] = {"specs": ["specs/**/*.yaml"]}
    if base.workloads:
        # The samples' routers address Services by their namespace: each environment moves them.
        project["workloads"], project["rewriteServiceAddresses"] = ["workloads/**/*.yaml"], True
    names = [str(d["metadata"]["name"]) for d in base.specs]
    environments: dict[str, Any] = {}
    for env, namespace in list(zip(("dev", "staging", "prod"), ("llm-dev", "llm-staging", "llm"), strict=True))[
        : rng.randint(1, 3)
    ]:
        settings: dict[str, Any] = {"namespace": namespace}
        if rng.random() < 0.3:
            settings["labels"] = {"lmcache.example.com/environment": env}
        if rng.random() < 0.2:
            settings["annotations"] = {"lmcache.example.com/owner": "fuzz"}
        if names and rng.random() < 0.5:
            target = rng.choice(base.specs)
            override: dict[str, Any] = {"spec": copy.deepcopy(rng.choice(_OVERRIDES[target["kind"]]))}
            if rng.random() < 0.3:
                override["labels"] = {"lmcache.example.com/tier": "critical"}
            settings["overrides"] = {str(target["metadata"]["name"]): override}
        environments[env] = settings
    project["environments"] = environments
    return project


_ENGINE_OVERRIDES: tuple[dict[str, Any], ...] = (
    {"l1": {"sizeGB": 20}},
    {"logLevel": "DEBUG"},
    {"nodeSelector": {"pool": "gpu"}},
    {"prometheus": {"serviceMonitor": {"enabled": True}}},
    {"tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]},
    {"podLabels": {"team": "ml"}},
)
_OVERRIDES: dict[str, tuple[dict[str, Any], ...]] = {
    "LMCacheEngine": _ENGINE_OVERRIDES,
    "CacheBlendEngine": _ENGINE_OVERRIDES,
    "LMCacheCoordinator": (
        {"replicas": 2},
        {"logLevel": "DEBUG"},
        {"prometheus": {"serviceMonitor": {"enabled": True}}},
        {"nodeSelector": {"pool": "cpu"}},
    ),
    "LMCacheConfig": ({"chunkSize": 512}, {"maxLocalCpuSize": 40}, {"format": "env"}),
    "LMCacheServer": ({"port": 65000}, {"nodeSelector": {"pool": "cpu"}}),
    "VllmRouter": (
        {"replicas": 2},
        {"policy": "session_based"},
        {"port": 31000, "serviceType": "NodePort"},
        {"nodeSelector": {"pool": "cpu"}},
    ),
}


def _files(rng: random.Random, base: Base) -> dict[str, list[Doc]]:
    files = {PROJECT_FILE: [_project_file(rng, base)], SPECS_FILE: copy.deepcopy(list(base.specs))}
    if base.workloads:
        files[WORKLOADS_FILE] = copy.deepcopy(list(base.workloads))
    return files


def unmutated(base: Base, seed: int = 0) -> dict[str, str]:
    """The text of each file of ``base`` as a project, unmutated (its environments drawn from ``seed``)."""
    return {name: dump(documents) for name, documents in _files(random.Random(seed), base).items()}


def _command(rng: random.Random, environments: list[str], has_workloads: bool) -> list[str]:
    files = ["specs/", "workloads/"] if has_workloads else ["specs/"]
    choice = rng.choices(("compile", "check", "json", "env", "validate", "render"), weights=(25, 15, 10, 25, 12, 13))[0]
    if choice == "compile":
        argv = ["compile"]
    elif choice == "check":
        argv = ["compile", "--check"]
    elif choice == "json":
        argv = ["compile", "--format", "json", *(["--check"] if rng.random() < 0.5 else [])]
    elif choice == "env":
        argv = ["render", "--env", rng.choice(environments) if environments else "dev"]
    else:
        argv = [choice, *files]
        if rng.random() < 0.2:
            argv.append(f"--namespace={rng.choice(ODD_NAMESPACES)}")
    if rng.random() < 0.2:
        argv.append("--allow-skip")
    return argv


def build_case(seed: int) -> Case:
    """The case of ``seed``: a base of the corpus, a command, and 1-3 mutations."""
    rng = random.Random(seed)
    base = rng.choice(corpus())
    original = _files(rng, base)
    environments = list(original[PROJECT_FILE][0]["environments"])
    argv = _command(rng, environments, bool(base.workloads))
    # file commands read no project file: mutating it would be wasted
    targets = [f for f in original if argv[0] == "compile" or argv[:2] == ["render", "--env"] or f != PROJECT_FILE]
    data = copy.deepcopy(original)
    mutator, text_mutator = _Mutator(rng), _TextMutator(rng)
    texts: dict[str, str] = {}
    mutations: list[str] = []
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):  # mostly one: more cases get past validation
        target = rng.choice(targets)
        if target in texts or rng.random() < 0.25:  # text edits come last: the structure is gone
            texts.setdefault(target, dump(data[target]))
            texts[target], what = text_mutator.mutate(texts[target])
        else:
            documents = data[target]
            index = rng.randrange(len(documents))
            documents[index], what = mutator.mutate(documents[index])
        mutations.append(f"{target}: {what}")
    for name, documents in data.items():
        texts.setdefault(name, dump(documents))
    precompile = argv[0] == "compile" and rng.random() < 0.4
    return Case(seed, base.name, argv, data, original, texts, mutations, precompile)


# ---------------------------------------------------------------------------------------------
# Running a case and checking its outcome.
# ---------------------------------------------------------------------------------------------

PASSING = ("ok", "invalid", "drift")
# A failing outcome's category is its first failure in this order.
FAILURES = (
    "traceback",
    "timeout",
    "internal-error",
    "bad-exit",
    "wrote-outside",
    "wrote-inside",
    "bad-message",
    "bad-output",
    "schema",
)


@dataclass
class Outcome:
    seed: int
    command: list[str]
    exit_code: int
    stdout: str
    stderr: str
    category: str
    failures: list[tuple[str, str]] = field(default_factory=list)  # (category, what went wrong)
    internal_traceback: str = ""  # the traceback behind an internal error (exit 3)
    elapsed: float = 0.0
    description: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    @property
    def signature(self) -> str:
        """What tells one bug from another: the category, and where it broke or its first line."""
        if not self.failures:
            return self.category
        detail = next(what for category, what in self.failures if category == self.category)
        if self.internal_traceback:
            frames = traceback_frames(self.internal_traceback)
            last = self.internal_traceback.strip().splitlines()[-1]
            detail = f"{last.split(':')[0]} at {frames[-1] if frames else '?'}"
        return f"{self.category}: {_normalise(detail)}"

    def report(self) -> str:
        lines = [
            self.description,
            f"  exit {self.exit_code}, category {self.category}, {self.elapsed * 1000:.0f} ms",
            *(f"  FAILED {category}: {what}" for category, what in self.failures),
            "  stderr:",
            *(f"    {line!r}" for line in self.stderr.splitlines()[:20]),
        ]
        if self.internal_traceback:
            lines += ["  internal traceback:", *(f"    {line}" for line in self.internal_traceback.splitlines())]
        lines.append(f"  replay: python bench/fuzz.py --seed {self.seed}")
        return "\n".join(lines)


def traceback_frames(text: str) -> list[str]:
    """``module.py:line in function`` of every frame in lmcache_gitops of a formatted traceback."""
    found = re.findall(r'File "([^"]*lmcache_gitops[^"]*)", line (\d+), in (\S+)', text)
    return [f"{path.split('lmcache_gitops', 1)[1].lstrip('/')}:{line} in {func}" for path, line, func in found]


def _normalise(text: str) -> str:
    text = re.sub(r"\d+", "N", text)
    return text if len(text) <= 120 else text[:117] + "..."


class _CaseTimeout(BaseException):
    """Raised in the main thread when a case runs too long (a BaseException, so that the CLI's
    ``except Exception`` does not turn it into an internal error)."""


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise _CaseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Stderr(io.StringIO):
    """stderr that keeps the traceback of the exception being handled when the CLI reports an
    internal error (it does so inside its ``except`` block)."""

    captured = ""

    def write(self, text: str) -> int:
        if "internal error" in text and not self.captured and sys.exc_info()[0] is not None:
            self.captured = traceback.format_exc()
        return super().write(text)


def run_cli(argv: list[str], cwd: Path) -> tuple[int, str, str, str]:
    """The CLI in-process in ``cwd``: exit code, stdout, stderr, and the traceback of an internal
    error or of an exception that escaped ``main`` (then the exit code is -1)."""
    out, err = io.StringIO(), _Stderr()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli_main(argv)
            except Exception:
                code, err.captured = -1, traceback.format_exc()
    finally:
        os.chdir(previous)
    return code, out.getvalue(), err.getvalue(), err.captured


def _snapshot(folder: Path, skip: Path | None = None) -> dict[str, str]:
    """Every file and folder below ``folder`` (but ``skip``), with a hash of each file's bytes."""
    found: dict[str, str] = {}
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        if skip is not None and here == skip:
            dirs.clear()
            continue
        for name in dirs:
            if skip is None or here / name != skip:
                found[str((here / name).relative_to(folder)) + "/"] = ""
        for name in files:
            path = here / name
            found[str(path.relative_to(folder))] = hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest()
    return found


def _diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted({k for k in before.keys() | after.keys() if before.get(k) != after.get(k)})


_PROBLEM = re.compile(r"^(?P<file>[^:\n]+):(?P<line>[0-9]+): (?P<warning>warning: )?(?P<message>.+)$")
_SUMMARY = re.compile(r"^lmcache-gitops: (?P<count>[0-9]+) problems? found; nothing was written$", re.MULTILINE)
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what YAML counts as a line break
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def unprintable(text: str) -> list[str]:
    """The characters of ``text`` that do not print (controls, formats, line separators)."""
    return sorted({repr(c) for c in text if unicodedata.category(c) in _UNPRINTABLE})


def _check_stderr(stderr: str, texts: dict[str, str], project: Path) -> list[str]:
    """What is wrong with the lines on stderr (none when every line is a problem or a summary)."""
    wrong: list[str] = []
    problems = 0
    summaries: list[int] = []
    lines = stderr.split("\n")  # not splitlines(): a line separator inside a message is an error
    if lines[-1] == "":
        lines.pop()
    for line in lines:
        if bad := unprintable(line):
            wrong.append(f"characters {', '.join(bad)} in {line[:200]!r}")
            continue
        if summary := _SUMMARY.match(line):
            summaries.append(int(summary["count"]))
            continue
        problem = _PROBLEM.match(line)
        if problem is None:
            wrong.append(f"not a problem line: {line[:200]!r}")
            continue
        number = int(problem["line"])
        name = problem["file"]
        relative = os.path.relpath(name, project) if os.path.isabs(name) else name
        if number < 1:
            wrong.append(f"line {number} in {line[:200]!r}")
        elif relative in texts and number > len(_LINE_BREAK.findall(texts[relative])) + 2:
            wrong.append(f"line {number} beyond the end of {relative} in {line[:200]!r}")
        if not problem["warning"]:
            problems += 1
    if len(summaries) > 1 or (summaries and summaries[0] != problems):
        wrong.append(f"summary counts {summaries} for {problems} problem lines")
    if problems and not summaries:
        wrong.append(f"{problems} problem lines without a summary")
    return wrong


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _is_builtin(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


@functools.cache
def _k8s_validator(kind: str, api_version: str) -> Any:
    """A strict Kubernetes 1.33 validator of one kind, built once: exactly what
    ``kubernetes_validate.validate(obj, "1.33", strict=True)`` checks, which reloads its schema
    files on every call (about 15 ms an object)."""
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    version = [v for v in utils.all_versions() if utils.major_minor(v) <= "1.33"][-1]
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = utils.schema_contents(f"{folder}/{kind.lower()}-{api}.json", "1.33")
    definitions = utils.schema_contents(f"{folder}/_definitions.json", "1.33")
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def schema_errors(obj: dict[str, Any]) -> list[str]:
    """Why ``obj`` is not valid Kubernetes 1.33 (strictly) or a valid ServiceMonitor; [] if it is."""
    api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
    name = f"{kind} {obj.get('metadata', {}).get('name')}"
    if api_version == "monitoring.coreos.com/v1":
        from .helpers import validate_object

        try:
            validate_object(obj)
        except AssertionError as err:
            return [str(err)]
        return []
    if not _is_builtin(api_version):
        return []
    try:
        validator = _k8s_validator(kind, api_version)
    except FileNotFoundError:
        return [f"{name}: no Kubernetes 1.33 schema for {api_version} {kind}"]
    return [f"{name}: {e.json_path}: {e.message[:200]}" for e in validator.iter_errors(json.loads(json.dumps(obj)))]


def _pod_template(obj: dict[str, Any]) -> Any:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
    return spec.get("template")


def _wiring_errors(obj: dict[str, Any]) -> list[str]:
    """Why a wired workload is not valid Kubernetes 1.33 where lmcache-gitops answers for it: its
    kind exists, and its pod template (all of a Pod) is valid. The rest is the user's, as written."""
    api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
    if kind == "Pod":
        return schema_errors(obj)
    name = f"{kind} {obj['metadata'].get('name')}"
    try:
        _k8s_validator(kind, api_version)
    except FileNotFoundError:
        return [f"{name}: wired, but Kubernetes 1.33 has no {kind} in {api_version}"]
    template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": _pod_template(obj)}
    return [f"{name}: {error}" for error in schema_errors(template)]


def _check_render(stdout: str, case: Case, schemas: bool) -> tuple[list[str], list[str]]:
    """(bad output, schema errors) of a successful render."""
    try:
        objects = list(yaml.safe_load_all(stdout))
    except yaml.YAMLError as err:
        return [f"stdout is not YAML: {str(err).splitlines()[0]}"], []
    bad = [f"document {i} is {_short(o)}" for i, o in enumerate(objects) if not isinstance(o, dict) or "kind" not in o]
    if bad or not schemas:
        return bad, []
    # The user's objects pass through as written: only what was generated or wired must be valid,
    # and of a wired workload only its pod template (a template already marked injected is left alone).
    already = {
        (doc.get("kind"), doc["metadata"].get("name"))
        for doc in case.data.get(WORKLOADS_FILE, [])
        if isinstance(doc, dict) and isinstance(doc.get("metadata"), dict) and "-injected" in json.dumps(doc)
    }
    errors: list[str] = []
    for obj in objects:
        metadata = obj.get("metadata") or {}
        if (metadata.get("labels") or {}).get("app.kubernetes.io/managed-by") == "lmcache-operator":
            errors += schema_errors(obj)
        elif "-injected" in json.dumps(obj) and (obj.get("kind"), metadata.get("name")) not in already:
            errors += _wiring_errors(obj)
    return [], errors


def _check_tree(project: Path) -> list[str]:
    """The generated files of a compiled tree must be YAML and carry the header."""
    bad = []
    for folder in TOP_FOLDERS:
        for path in sorted((project / folder).rglob("*.yaml")):
            text = path.read_text()
            if not text.startswith("# Generated by lmcache-gitops"):
                continue  # the user's own files are never the compiler's
            try:
                list(yaml.safe_load_all(text))
            except yaml.YAMLError as err:
                bad.append(f"{path.relative_to(project)} is not YAML: {str(err).splitlines()[0]}")
    return bad


def write_files(project: Path, texts: dict[str, str]) -> None:
    for name, text in texts.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8", errors="surrogateescape"))


def run_case(seed: int, workdir: Path, *, schemas: bool = False) -> Outcome:
    """Build the case of ``seed`` in ``workdir`` (``workdir/project`` beside ``workdir/outside``),
    run its command in-process and check its outcome."""
    case = build_case(seed)
    project, outside = workdir / "project", workdir / "outside"
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "keep.txt").write_text("not the project's\n")
    project.mkdir(parents=True, exist_ok=True)
    if case.precompile:
        write_files(project, {name: dump(docs) for name, docs in case.original.items()})
        run_cli(["compile"], project)
    write_files(project, case.texts)
    before_outside, before_inside = _snapshot(workdir, skip=project), _snapshot(project)

    start = time.perf_counter()
    try:
        with _deadline(CASE_TIMEOUT):
            code, stdout, stderr, captured = run_cli(case.argv, project)
    except _CaseTimeout:
        code, stdout, stderr, captured = -2, "", "", ""
    elapsed = time.perf_counter() - start

    failures: list[tuple[str, str]] = []
    if code == -2:
        failures.append(("timeout", f"still running after {CASE_TIMEOUT:.0f} s"))
    if code == -1 or "Traceback" in stderr:
        failures.append(("traceback", (captured or stderr).strip().splitlines()[-1]))
    if code == 3:
        failures.append(("internal-error", next(iter(stderr.splitlines()), "")))
    elif code not in (0, 1, -1, -2):
        failures.append(("bad-exit", f"exit code {code}: {next(iter(stderr.splitlines()), '')}"))
    if changed := _diff(before_outside, _snapshot(workdir, skip=project)):
        failures.append(("wrote-outside", f"changed outside the project: {changed[:5]}"))
    invalid = bool(_SUMMARY.search(stderr))
    writes = case.argv[0] == "compile" and "--check" not in case.argv
    if (not writes or invalid) and (changed := _diff(before_inside, _snapshot(project))):
        failures.append(("wrote-inside", f"{' '.join(case.argv)} changed {changed[:5]}"))
    if code in (0, 1):
        failures += [("bad-message", what) for what in _check_stderr(stderr, case.texts, project)]
        failures += [("bad-output", what) for what in _check_stdout(case, code, stdout, stderr, project)]
        if code == 0 and case.argv[0] == "render":
            bad, errors = _check_render(stdout, case, schemas)
            failures += [("bad-output", what) for what in bad] + [("schema", what) for what in errors]

    categories = [category for category, _ in failures]
    if categories:
        category = min(categories, key=FAILURES.index)
    elif code == 0:
        category = "ok"
    else:
        category = "invalid" if invalid else "drift"
    return Outcome(seed, case.argv, code, stdout, stderr, category, failures, captured, elapsed, case.describe())


def _check_stdout(case: Case, code: int, stdout: str, stderr: str, project: Path) -> list[str]:
    """What is wrong with stdout, for the command and its exit code."""
    invalid = bool(_SUMMARY.search(stderr))
    if "json" in case.argv:
        try:
            document = _strict_json(stdout)
        except ValueError as err:
            return [f"--format json printed no JSON: {err}: {stdout[:200]!r}"]
        if not isinstance(document, dict) or invalid != ("problems" in document):
            return [f"--format json printed {_short(document)} with exit {code}"]
        return []
    if invalid and stdout:
        return [f"stdout is not empty on invalid input: {stdout[:200]!r}"]
    if case.argv[0] == "compile":
        bad = [f"stdout line {line[:200]!r}" for line in stdout.splitlines() if unprintable(line)]
        if code == 1 and not invalid and not stdout:
            bad.append("exit 1 with neither problems nor changes")
        if not invalid and "--check" not in case.argv:
            bad += _check_tree(project)
        return bad
    if case.argv[0] == "validate" and stdout:
        return [f"validate printed {stdout[:200]!r}"]
    return []
