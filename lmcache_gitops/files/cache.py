"""The compile cache: what the last compile of a project made, so that a compile or `--check`
whose inputs have not changed answers without compiling (a pre-commit hook on a commit that
touched no spec). Kept out of git, beside the project file:

    .lmcache-gitops/cache/<project file name>.json

A record holds the digest of everything the tree is computed from (lmcache-gitops's own files,
the options, where the project is, the project file and each input file), the globs and output
folder the project file set, the warnings, and each file of the tree with the hash of its text
and the stat it had when a compile wrote or read it. It is used only when the digest matches and
the tree on disk is exactly the one it lists (a file whose stat changed is read and hashed);
anything else (no record, another lmcache-gitops, a changed input, an edited, added or missing
tree file, an interrupted compile) is a full compile, which writes a new record. The record never
changes what a compile writes or reports: it only skips the work when the answer is known.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Problem
from ..gitops.drift import Report
from ..naming import TOP_FOLDERS, VERSION
from ..read.source import Source
from . import sources, treeio

if TYPE_CHECKING:  # a compile that has nothing to do answers without loading the compiler
    from ..gitops import incremental

CACHE = "cache"  # below the state folder beside the project file
_FORMAT = 1  # of the record; another one is never read
_PACKAGE = Path(__file__).resolve().parents[1]

Stat = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode: what changes when a file is written


def _stat(info: os.stat_result) -> Stat:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hashes(tree: Mapping[str, str]) -> dict[str, str]:
    """The hash of each file's text, as records hold them."""
    return {relative: _hash(text) for relative, text in tree.items()}


def unchanged(project_file: Path, tree_hashes: Mapping[str, str]) -> treeio.Unchanged:
    """Whether a file of the tree, by its stat, still holds what the last compile wrote there and
    that is the new tree's text (so a compile need not read it), by the record."""
    record = _read(project_file)
    files = record.get("files") if record is not None else None
    known = files if isinstance(files, dict) else {}

    def holds(relative: str, info: os.stat_result) -> bool:
        entry = known.get(relative)
        return isinstance(entry, list) and entry[1:] == list(_stat(info)) and entry[0] == tree_hashes.get(relative)

    return holds


def _tool() -> list[tuple[str, int, int]]:
    """lmcache-gitops's own files (path, size, modification time): a new version, or any edit
    of a checkout's code, makes every record stale."""
    found = []
    for folder, dirs, files in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                info = os.stat(os.path.join(folder, name))
                found.append((os.path.relpath(os.path.join(folder, name), _PACKAGE), info.st_size, info.st_mtime_ns))
    return found


def _record_path(project_file: Path) -> Path:
    return project_file.parent / treeio.STATE / CACHE / f"{project_file.name}.json"


def _digest(project: Source, inputs: Iterable[Source], output: Path, options: Mapping[str, bool]) -> str:
    root = Path(project.name).resolve().parent  # where the tree is in the repository follows from it
    where = [str(root), str(sources.enclosing_repository(root)), str(output.resolve())]
    digest = hashlib.sha256(json.dumps([VERSION, _FORMAT, _tool(), where, sorted(options.items())]).encode())
    for source in [project, *inputs]:
        data = source.text.encode("utf-8")
        digest.update(f"{len(source.name)}:{source.name}:{len(data)}:".encode())
        digest.update(data)
    return digest.hexdigest()


_last_read: list[tuple[str, Stat, dict[str, object] | None]] = []  # a compile asks for the record three times


def _read(project_file: Path) -> dict[str, object] | None:
    path = _record_path(project_file)
    try:
        info = _stat(os.stat(path))
        if _last_read and _last_read[0][:2] == (str(path), info):
            return _last_read[0][2]
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = record if isinstance(record, dict) and record.get("format") == _FORMAT else None
    _last_read[:] = [(str(path), info, found)]
    return found


def _scanner() -> str:
    """What a verdict of the secret scan depends on: lmcache-gitops's rules and detect-secrets."""
    from importlib.metadata import version

    return hashlib.sha256(json.dumps([_tool(), version("detect-secrets")]).encode()).hexdigest()


def verdicts(project_file: Path) -> dict[str, list[str]]:
    """The secret scan's verdict on each string of the last compile's inputs, when the same
    scanner gave them (a compile then scans only new strings)."""
    record = _read(project_file)
    scanned = record.get("scanned") if record is not None else None
    if not isinstance(scanned, dict) or scanned.get("scanner") != _scanner():
        return {}
    found = scanned.get("verdicts")
    return found if isinstance(found, dict) else {}


def options(*, allow_skip: bool, rendered: bool) -> dict[str, bool]:
    """What a compile's tree depends on besides the files."""
    return {"allowSkip": allow_skip, "rendered": rendered}


def cached_report(project_file: Path, options: Mapping[str, bool], *, check: bool) -> Report | None:
    """The report of a compile or ``check`` that would write or find nothing (the record holds
    for the project as it is on disk now), else None. Only a compile updates the record (the
    stats of files a checkout rewrote with the same bytes): a check writes nothing at all."""
    record = _read(project_file)
    if record is None:
        return None
    patterns, recorded, warnings = record.get("inputs"), record.get("files"), record.get("warnings")
    if not isinstance(patterns, dict) or not isinstance(recorded, dict) or not isinstance(warnings, list):
        return None
    files = dict(recorded)  # refreshed below where a file's stat changed but not its bytes
    try:
        (project,), problems = sources.read_files([project_file])
        output = Path(str(record["output"]))
        if problems or _hash(project.text) != record["project"]:
            return None
        found, failed, unreadable = sources.project_inputs(patterns, project_file, project_file.parent)
        if failed or unreadable or _digest(project, found, output, options) != record["digest"]:
            return None
        if not _tree_is(output, files):
            return None
        problems = [Problem(*warning) for warning in warnings]
    except (ValueError, KeyError, TypeError, OSError):  # a record written otherwise: not used
        return None
    if files != recorded and not check:  # new stats, the same bytes: read them once only
        _write(project_file, {**record, "files": files})
    return Report([], written=False, output=str(output), warnings=problems)


def _tree_is(output: Path, files: dict[str, list[object]]) -> bool:
    """Whether the generated files below ``output`` are exactly ``files`` (path -> [hash, *stat]),
    refreshing the stat of a file whose bytes are the same."""
    if treeio.interrupted(output) or any(os.path.islink(output / top) for top in TOP_FOLDERS):
        return False
    seen = 0
    for relative, path, info in treeio.tree_files(output):
        entry = files.get(relative)
        if entry is None:
            if treeio.read_owned(path) is not None:  # a generated file the tree no longer has
                return False
            continue
        seen += 1
        if entry[1:] == list(_stat(info)):
            continue
        text = treeio.read_owned(path)
        if text is None or _hash(text) != entry[0]:
            return False
        files[relative] = [entry[0], *_stat(os.lstat(path))]
    return seen == len(files)


def store(
    project: Source,
    patterns: Mapping[str, Sequence[str]],
    inputs: Sequence[Source],
    output: Path,
    options: Mapping[str, bool],
    tree_hashes: Mapping[str, str],
    warnings: Sequence[Problem],
    scanned: Mapping[str, Sequence[str]],
    compiled: incremental.Last,
    written: Collection[str],
) -> None:
    """Record that ``project`` with ``inputs`` compiled to the tree of ``tree_hashes``, just
    written into ``output`` (the files ``written`` changed), with the stat each of its files has
    there, and the secret scan's verdict on each string of the inputs; and, for a compile after
    a change, the inputs, the entries of their documents and the tree of ``compiled``."""
    previous = _read(Path(project.name))
    before = previous.get("files") if previous is not None else None
    known = before if isinstance(before, dict) else {}
    files: dict[str, list[object]] = {}
    for relative, digest in tree_hashes.items():
        entry = known.get(relative)
        if relative not in written and isinstance(entry, list) and len(entry) == 5 and entry[0] == digest:
            files[relative] = entry  # not written: the stat it had
            continue
        files[relative] = [digest]
        try:
            info = os.lstat(os.path.join(output, relative))
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            files[relative] += _stat(info)
    record = {
        "format": _FORMAT,
        "digest": _digest(project, inputs, output, options),
        "project": _hash(project.text),
        "inputs": {field: list(globs) for field, globs in patterns.items()},
        "output": str(output),
        "warnings": [[w.source, w.line, w.path, w.message, w.severity] for w in warnings],
        "files": files,
        "scanned": {"scanner": _scanner(), "verdicts": scanned},
    }
    _write(Path(project.name), record)
    if compiled.entries:
        made = {
            "format": _FORMAT,
            "settings": _digest(project, [], output, options),
            "inputs": compiled.inputs,
            "entries": {file: [entry.to_json() for entry in found] for file, found in compiled.entries.items()},
            "tree": compiled.tree,
            "warnings": record["warnings"],
        }
        _write(Path(project.name), made, _last_path(Path(project.name)))


@dataclass(frozen=True)
class LastCompile:
    last: incremental.Last
    warnings: list[Problem]


def last(project: Source, output: Path, options: Mapping[str, bool]) -> LastCompile | None:
    """What the last compile of ``project`` read and made, if it compiled with the same
    lmcache-gitops, options, project file and output folder (see gitops/incremental.py)."""
    from ..gitops import incremental

    try:
        data = json.loads(_last_path(Path(project.name)).read_text(encoding="utf-8"))
        if data["format"] != _FORMAT or data["settings"] != _digest(project, [], output, options):
            return None
        inputs, tree = dict(data["inputs"]), dict(data["tree"])
        entries = {str(f): [incremental.Entry.from_json(e) for e in found] for f, found in data["entries"].items()}
        warnings = [Problem(*warning) for warning in data["warnings"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # none, or written otherwise: not used
        return None
    return LastCompile(incremental.Last(inputs, entries, tree), warnings)


def _last_path(project_file: Path) -> Path:
    return project_file.parent / treeio.STATE / CACHE / f"{project_file.name}.last.json"


def _write(project_file: Path, record: Mapping[str, object], path: Path | None = None) -> None:
    path = path or _record_path(project_file)
    treeio.state_folder(project_file.parent)
    path.parent.mkdir(exist_ok=True)
    pending = path.with_name(f"{path.name}.{os.getpid()}")
    pending.write_text(json.dumps(record), encoding="utf-8")
    os.replace(pending, path)  # whole or not at all: a compile killed here leaves the old record
