"""The compile cache: what the last compile of a project made, so that a compile or `--check`
whose inputs have not changed answers without compiling (a pre-commit hook on a commit that
touched no spec). Kept out of git, beside the project file:

    .lmcache-gitops/cache/<project file name>.json

A record holds the digest of everything the tree is computed from (lmcache-gitops's own files,
the options, where the project is, the project file and each input file), the globs and output
folder the project file set, the warnings, each file of the tree with the hash of its text and
the stat it had when a compile wrote or read it, and the stat of each folder. It is used only
when the digest matches and the tree on disk is exactly the one it lists (a file whose stat
changed is read and hashed; a folder whose stat changed is listed: adding a file to a folder or
removing one changes the folder's stat, as git's untracked cache relies on, so the other folders
are not listed); anything else (no record, another lmcache-gitops, a changed input, an edited,
added or missing tree file, an interrupted compile) is a full compile, which writes a new record.
The record never changes what a compile writes or reports: it only skips the work when the answer
is known.

Beside it, `<project file name>.last.json` holds what a compile after a change starts from (the
inputs and what their documents name, see gitops/incremental.py); the files of the tree it
starts from are those on disk, which the record vouches for.

A compile after a change sets a few entries of tens of thousands: it writes what it changed of
each file beside it (`<name>.changes.json`, naming the generation of the whole record it
changes), and a whole record once the changes outgrow a quarter of it, as git's split index does.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Problem
from ..gitops.drift import Report, text_hash
from ..naming import TOP_FOLDERS, VERSION
from ..read.source import Source
from . import sources, treeio

if TYPE_CHECKING:  # a compile that has nothing to do answers without loading the compiler
    from ..gitops import incremental
    from ..read.yamlio import Document

CACHE = "cache"  # below the state folder beside the project file
_FORMAT = 4  # of the record; another one is never read
_PACKAGE = Path(__file__).resolve().parents[1]

_HASH = 64  # hexadecimal digits of a hash: a file's entry is its hash, a space and its stamp


def _stamp(info: os.stat_result) -> str:
    """What changes when a file is written (size, mtime_ns, ctime_ns, inode), as a record holds
    it: one string (a record of tens of thousands of files reads and writes several times
    faster than with a list each)."""
    return f"{info.st_size} {info.st_mtime_ns} {info.st_ctime_ns} {info.st_ino}"


def unchanged(project_file: Path, tree_hashes: Mapping[str, str]) -> treeio.Unchanged:
    """Whether a file of the tree, by its stat, still holds what the last compile wrote there and
    that is the new tree's text (so a compile need not read it), by the record."""
    record = read(project_file)
    files = record.get("files") if record is not None else None
    known = files if isinstance(files, dict) else {}

    def holds(relative: str, info: os.stat_result) -> bool:
        entry = known.get(relative)
        return (
            isinstance(entry, str) and entry[_HASH + 1 :] == _stamp(info) and entry[:_HASH] == tree_hashes.get(relative)
        )

    return holds


@functools.cache  # as this process found them when it started using the cache
def _tool() -> tuple[tuple[str, int, int], ...]:
    """lmcache-gitops's own files (path, size, modification time): a new version, or any edit
    of a checkout's code, makes every record stale."""
    found = []
    for folder, dirs, files in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                info = os.stat(os.path.join(folder, name))
                found.append((os.path.relpath(os.path.join(folder, name), _PACKAGE), info.st_size, info.st_mtime_ns))
    return tuple(found)


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


def read(project_file: Path) -> dict[str, object] | None:
    """The record of the last compile of ``project_file``, or None."""
    return _load(_record_path(project_file))


@dataclass(frozen=True)
class _Loaded:
    """A cache file as read in this process (a compile asks for the record three times)."""

    stamps: tuple[str, str]  # of the whole record and of its changes ("" for none)
    whole: dict[str, object]
    size: int  # of the whole record's text
    merged: dict[str, Any]  # the whole record with its changes


_loaded: dict[str, _Loaded] = {}


def _changes_path(path: Path) -> Path:
    return path.with_name(f"{path.name.removesuffix('.json')}.changes.json")


def _load(path: Path) -> dict[str, Any] | None:
    """The record at ``path`` with the changes beside it merged in, if they are changes of that
    record (a whole record written since makes them stale), else None."""
    changes = _changes_path(path)
    try:
        stamps = (_stamp(os.stat(path)), _stamp_if_any(changes))
        loaded = _loaded.get(str(path))
        if loaded is None or loaded.stamps != stamps:
            text = path.read_text(encoding="utf-8")
            whole = json.loads(text)
            if not isinstance(whole, dict) or whole.get("format") != _FORMAT:
                return None
            delta = json.loads(changes.read_text(encoding="utf-8")) if stamps[1] else None
            merged = _merged(whole, delta) if delta is not None and delta["base"] == whole["generation"] else whole
            loaded = _loaded[str(path)] = _Loaded(stamps, whole, len(text), merged)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return loaded.merged


def _stamp_if_any(path: Path) -> str:
    try:
        return _stamp(os.stat(path))
    except FileNotFoundError:
        return ""


def _merged(whole: Mapping[str, Any], delta: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**whole, **delta["set"]}
    for key, (entries, removed) in delta["merge"].items():
        part = {**whole[key], **entries}
        for gone in removed:
            del part[gone]
        merged[key] = part
    return merged


def _delta(whole: Mapping[str, object], record: Mapping[str, object]) -> dict[str, object] | None:
    """What ``record`` changes of ``whole``: each value it replaces and, of a mapping both have,
    the entries it sets and the keys it removes; None if it has other fields."""
    base = whole.get("generation")
    if not isinstance(base, str) or whole.keys() - {"generation"} != record.keys() - {"generation"}:
        return None
    replaced: dict[str, object] = {}
    merged: dict[str, object] = {}
    for key, value in record.items():
        old = whole.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            entries = {name: entry for name, entry in value.items() if old.get(name, _ABSENT) != entry}
            removed = [name for name in old if name not in value]
            if entries or removed:
                merged[key] = [entries, removed]
        elif old != value:
            replaced[key] = value
    return {"base": base, "set": replaced, "merge": merged}


_ABSENT = object()


@functools.cache
def _scanner() -> str:
    """What a verdict of the secret scan depends on: lmcache-gitops's rules and detect-secrets,
    by its version file (found without importing it, and without importlib.metadata, which
    reads every installed package's metadata)."""
    import importlib.util

    spec = importlib.util.find_spec("detect_secrets")
    folders = spec.submodule_search_locations if spec is not None else None
    version = Path(folders[0], "__version__.py").read_text(encoding="utf-8") if folders else ""
    return hashlib.sha256(json.dumps([_tool(), version]).encode()).hexdigest()


def verdicts(project_file: Path) -> dict[str, list[str]]:
    """The secret scan's verdict on each string of the last compile's inputs, when the same
    scanner gave them (a compile then scans only new strings)."""
    record = read(project_file)
    if record is None or record.get("scanner") != _scanner():
        return {}
    found = record.get("verdicts")
    return found if isinstance(found, dict) else {}


def options(*, allow_skip: bool, rendered: bool) -> dict[str, bool]:
    """What a compile's tree depends on besides the files."""
    return {"allowSkip": allow_skip, "rendered": rendered}


@dataclass(frozen=True)
class Recorded:
    """The tree a record holds, as it is on disk: each file's hash and stat, each folder's stat."""

    files: dict[str, str]  # path below the output folder -> "<hash> <stamp>"
    folders: dict[str, str]  # path below the output folder -> its stamp
    digest: str  # of what the tree was compiled from (the record's)

    def hashes(self) -> dict[str, str]:
        return {relative: entry[:_HASH] for relative, entry in self.files.items()}


def cached_report(project_file: Path, options: Mapping[str, bool], *, check: bool) -> Report | None:
    """The report of a compile or ``check`` that would write or find nothing (the record holds
    for the project as it is on disk now), else None. Only a compile updates the record (the
    stats of files a checkout rewrote with the same bytes): a check writes nothing at all."""
    record = read(project_file)
    if record is None:
        return None
    patterns, warnings = record.get("inputs"), record.get("warnings")
    if not isinstance(patterns, dict) or not isinstance(warnings, list):
        return None
    try:
        (project,), problems = sources.read_files([project_file])
        output = Path(str(record["output"]))
        if problems or text_hash(project.text) != record["project"]:
            return None
        found, failed, unreadable = sources.project_inputs(patterns, project_file, project_file.parent)
        if failed or unreadable or _digest(project, found, output, options) != record["digest"]:
            return None
        kept = _recorded(record)
        recorded = None if kept is None else _on_disk(kept, output)
        if kept is None or recorded is None:
            return None
        problems = [Problem(*warning) for warning in warnings]
    except (ValueError, KeyError, TypeError, IndexError, OSError):  # a record written otherwise: not used
        return None
    if recorded != kept and not check:  # new stats, the same bytes: read them once only
        _write(project_file, {**record, "files": recorded.files, "folders": recorded.folders})
    return Report([], written=False, output=str(output), warnings=problems)


def on_disk(project_file: Path, output: Path) -> Recorded | None:
    """The tree the last compile of ``project_file`` wrote into ``output``, if it is exactly
    what is on disk there (with the stats it has now), else None."""
    found = _record_of(project_file)
    try:
        return None if found is None or found[0]["output"] != str(output) else _on_disk(found[1], output)
    except (TypeError, IndexError, OSError):  # a record written otherwise: not used
        return None


def _record_of(project_file: Path) -> tuple[dict[str, object], Recorded] | None:
    """The record of the last compile of ``project_file``, and the tree it holds."""
    record = read(project_file)
    kept = _recorded(record) if record is not None and isinstance(record.get("output"), str) else None
    return None if record is None or kept is None else (record, kept)


def _recorded(record: Mapping[str, object]) -> Recorded | None:
    files, folders = record.get("files"), record.get("folders")
    if isinstance(files, dict) and isinstance(folders, dict):
        return Recorded(files, folders, str(record.get("digest")))
    return None


def _on_disk(kept: Recorded, output: Path) -> Recorded | None:
    """The ``kept`` tree if the generated files below ``output`` are exactly its files, refreshing
    the stat of a file whose bytes are the same and of a folder that has no other generated file."""
    files, folders = dict(kept.files), dict(kept.folders)
    root = os.path.join(output, "")  # joined by hand below: tens of thousands of paths
    if treeio.interrupted(output) or any(os.path.islink(output / top) for top in TOP_FOLDERS):
        return None
    listing = [top for top in TOP_FOLDERS if top not in folders and os.path.isdir(output / top)]
    for relative in listing:
        folders[relative] = _stamp(os.lstat(output / relative))
    for relative, entry in kept.folders.items():
        try:
            info = os.lstat(root + relative)
        except OSError:
            return None
        if not stat.S_ISDIR(info.st_mode):
            return None
        if entry != _stamp(info):
            folders[relative] = _stamp(info)
            listing.append(relative)
    for relative, entry in kept.files.items():
        path = root + relative
        try:
            info = os.lstat(path)
        except OSError:
            return None
        if entry[_HASH + 1 :] == _stamp(info):
            continue
        text = treeio.read_owned(path)
        if text is None or text_hash(text) != entry[:_HASH]:
            return None
        files[relative] = f"{entry[:_HASH]} {_stamp(info)}"
    while listing:  # a folder whose stat changed: only files of someone else's were added to it
        folder = listing.pop()
        for found in treeio.listed(root + folder):
            relative = f"{folder}/{found.name}"
            if found.is_dir(follow_symlinks=False):
                if relative not in folders:  # a new folder: listed whole
                    folders[relative] = _stamp(found.stat(follow_symlinks=False))
                    listing.append(relative)
            elif relative not in files and treeio.read_owned(found.path) is not None:
                return None  # a generated file the tree no longer has
    return Recorded(files, folders, kept.digest)


def store(
    project: Source,
    document: Document | None,
    patterns: Mapping[str, Sequence[str]],
    inputs: Sequence[Source],
    output: Path,
    options: Mapping[str, bool],
    warnings: Sequence[Problem],
    scanned: Mapping[str, Sequence[str]],
    compiled: incremental.Last,
    written: Collection[str],
    recorded: Recorded | None,
) -> None:
    """Record that ``project`` (parsed: ``document``) with ``inputs`` compiled to the tree of
    ``compiled``, just written into ``output`` (the files ``written`` changed; a compile after a
    change wrote them into the ``recorded`` tree), with the stat each of its files and folders
    has there, and the secret scan's verdict on each string of the inputs; and, when
    ``compiled`` has entries, what the next compile after a change starts from."""
    root = os.path.join(output, "")
    if recorded is None:
        previous = read(Path(project.name))
        before = previous.get("files") if previous is not None else None
        known = before if isinstance(before, dict) else {}
        folders = {relative: _stamp(info) for relative, info in treeio.tree_folders(output)}
    else:
        known, folders = recorded.files, dict(recorded.folders)
        for folder in {parent for relative in written for parent in _parents(relative)}:
            try:
                info = os.lstat(root + folder)
            except OSError:
                folders.pop(folder, None)  # emptied, and removed
                continue
            folders[folder] = _stamp(info)
    files: dict[str, str] = {}
    for relative, digest in compiled.tree.items():
        entry = known.get(relative)
        if relative not in written and isinstance(entry, str) and len(entry) > _HASH and entry[:_HASH] == digest:
            files[relative] = entry  # not written: the stat it had
            continue
        files[relative] = digest  # no stamp: read whenever it is asked about
        try:
            info = os.lstat(root + relative)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            files[relative] += f" {_stamp(info)}"
    record = {
        "format": _FORMAT,
        "digest": _digest(project, inputs, output, options),
        "project": text_hash(project.text),
        "inputs": {field: list(globs) for field, globs in patterns.items()},
        "output": str(output),
        "warnings": [[w.source, w.line, w.path, w.message, w.severity] for w in warnings],
        "files": files,
        "folders": folders,
        "scanner": _scanner(),
        "verdicts": scanned,  # a mapping of its own: a compile after a change writes only new verdicts
    }
    _write(Path(project.name), record)
    if compiled.entries:
        made = {
            "format": _FORMAT,
            "settings": _digest(project, [], output, options),
            "record": record["digest"],  # of the same compile: the record holds its tree
            "inputs": compiled.inputs,
            "entries": {source: [entry.to_json() for entry in found] for source, found in compiled.entries.items()},
            "warnings": record["warnings"],
            "document": _document_json(document),
        }
        _write(Path(project.name), made, _last_path(Path(project.name)))


def _parents(relative: str) -> list[str]:
    """The folders ``relative`` is in, below the output folder: a/b/c.yaml is in a/b and a."""
    parts = relative.split("/")[:-1]
    return ["/".join(parts[:end]) for end in range(len(parts), 0, -1)]


def _document_json(document: Document | None) -> list[object] | None:
    """The project file's data and the line of each field, when JSON gives back the same data
    (not for keys that are not strings, which JSON makes strings)."""
    if document is None:
        return None
    data = json.loads(json.dumps(document.data))
    return [data, [[list(path), line] for path, line in document.lines.items()]] if data == document.data else None


@dataclass(frozen=True)
class LastCompile:
    last: incremental.Last
    warnings: list[Problem]
    output: Path
    document: Document | None  # the project file parsed, when the record has it
    digest: str  # the record's: of what the last tree was compiled from


def last(project: Source, options: Mapping[str, bool]) -> LastCompile | None:
    """What the last compile of ``project`` read and made, and where, if it compiled with the
    same lmcache-gitops, options and project file (see gitops/incremental.py)."""
    from ..gitops import incremental
    from ..read.yamlio import Document

    found = _record_of(Path(project.name))
    if found is None:
        return None
    record, kept = found
    output = Path(str(record["output"]))
    try:
        data = _load(_last_path(Path(project.name)))
        if data is None or data["settings"] != _digest(project, [], output, options):
            return None
        if data["record"] != kept.digest:
            return None
        inputs = dict(data["inputs"])
        entries = {str(f): [incremental.Entry.from_json(e) for e in found] for f, found in data["entries"].items()}
        warnings = [Problem(*warning) for warning in data["warnings"]]
        tree = kept.hashes()
        parsed = data["document"]
        document = (
            None if parsed is None else Document(project.name, parsed[0], {tuple(p): int(n) for p, n in parsed[1]})
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):  # none, or written otherwise
        return None
    return LastCompile(incremental.Last(inputs, entries, tree), warnings, output, document, kept.digest)


def _last_path(project_file: Path) -> Path:
    return project_file.parent / treeio.STATE / CACHE / f"{project_file.name}.last.json"


def _write(project_file: Path, record: Mapping[str, object], path: Path | None = None) -> None:
    """Write ``record`` as its changes from the whole record at ``path`` when they are small (a
    compile after a change sets a few of tens of thousands of entries), else whole. Each file is
    replaced whole or not at all: a compile killed here leaves a record that held."""
    path = path or _record_path(project_file)
    treeio.state_folder(project_file.parent)
    path.parent.mkdir(exist_ok=True)
    loaded = _loaded.get(str(path)) if _load(path) is not None else None
    _loaded.pop(str(path), None)  # read again when asked: what is on disk is what a record is
    if loaded is not None and (delta := _delta(loaded.whole, record)) is not None:
        text = json.dumps(delta)
        if len(text) * _WHOLE < loaded.size:
            _replace(_changes_path(path), text)
            return
    _replace(path, json.dumps({**record, "generation": os.urandom(16).hex()}))
    _changes_path(path).unlink(missing_ok=True)  # stale now: the changes of another record


_WHOLE = 4  # a record's changes are written as such while under a quarter of the whole record


def _replace(path: Path, text: str) -> None:
    pending = path.with_name(f"{path.name}.{os.getpid()}")
    pending.write_text(text, encoding="utf-8")
    os.replace(pending, path)
