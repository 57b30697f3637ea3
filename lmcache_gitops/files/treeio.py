"""The tree on disk: compares it with the compiled tree and replaces it whole, or not at all.

lmcache-gitops owns exactly the regular files below bases/, overlays/, clusters/ and rendered/ that start with its
header line, and its state folder `.lmcache-gitops/` in the output folder. It never overwrites or
deletes any other file, never follows a symbolic link into the tree, never opens anything but a
regular file there, and never writes outside the output folder.

A compile holds the state folder's lock, stages every new file in the state folder, then writes
a journal of the moves (the commit point) and makes them: a file into place, or a folder the tree
did not have yet whole, with one rename. A compile killed before the journal
leaves the old tree; one killed after it is completed by the next compile, which reads the
journal first; `compile --check` reports an interrupted compile instead of comparing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from ..errors import InvalidInput, Problem
from ..gitops.drift import FileChange
from ..naming import HEADER, TOP_FOLDERS

STATE = ".lmcache-gitops"  # in the output folder; it holds its own .gitignore, so git skips it
_LOCK, _HOLDER, _JOURNAL, _STAGING = "lock", "holder", "journal.json", "staging"
MAX_TREE_FILE = 16 * 2**20  # bytes; a generated file is far smaller, a larger one is not ours
LOCK_TIMEOUT = 60.0  # seconds a compile waits for another compile of the same tree


def listed(folder: str) -> list[os.DirEntry[str]]:
    """The entries of ``folder`` by name; none when it cannot be listed."""
    try:
        return sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []


def tree_files(output: Path) -> Iterator[tuple[str, str, os.stat_result]]:
    """Every file below the tree's folders (never through a symbolic link to a folder) with its
    path below ``output``, its path, and its own stat, in a fixed order."""

    def walk(folder: str, relative: str) -> Iterator[tuple[str, str, os.stat_result]]:
        for entry in listed(folder):
            if entry.is_dir(follow_symlinks=False):
                yield from walk(entry.path, f"{relative}/{entry.name}")
            else:
                yield f"{relative}/{entry.name}", entry.path, entry.stat(follow_symlinks=False)

    for top in TOP_FOLDERS:
        if os.path.isdir(output / top):  # a link to one is followed, as before: the plan checks where it leads
            yield from walk(str(output / top), top)


def tree_folders(output: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every folder below the tree's folders, and each of those, that is not a symbolic link,
    with its path below ``output`` and its stat."""
    pending = [top for top in TOP_FOLDERS if not os.path.islink(output / top)]
    while pending:
        relative = pending.pop()
        folder = os.path.join(output, relative)
        try:
            info = os.lstat(folder)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            yield relative, info
            pending += [f"{relative}/{e.name}" for e in listed(folder) if e.is_dir(follow_symlinks=False)]


def read_owned(path: str | Path) -> str | None:
    """The text of ``path`` if it is a regular file of ours (never through a link, never a FIFO,
    device or socket, never above MAX_TREE_FILE), else None."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as stream:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_TREE_FILE:
            return None
        data = stream.read(MAX_TREE_FILE + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.startswith(HEADER) and len(data) <= MAX_TREE_FILE else None


def _escapes(output: Path, real: Path, folder: str, known: dict[str, bool]) -> bool:
    """Whether writing into ``folder`` would land outside the output folder, whose resolved path
    is ``real`` (through a symbolic link); ``known`` has the answers for folders asked before. A
    folder inside whose parent is not a link stays inside, so only links are resolved."""
    if folder in known:
        return known[folder]
    parent = folder.rpartition("/")[0]
    if parent and _escapes(output, real, parent, known):
        known[folder] = True
    elif os.path.islink(os.path.join(output, folder)):
        target = (output / folder).resolve()
        known[folder] = target != real and real not in target.parents
    else:
        known[folder] = False
    return known[folder]


def interrupted(output: Path) -> bool:
    """Whether a compile of this tree was killed after its commit point (the next compile completes it)."""
    return (output / STATE / _JOURNAL).exists()


Unchanged = Callable[[str, os.stat_result], bool]  # whether a file with this stat is known to hold the tree's text


def plan(tree: Mapping[str, str], output: Path, unchanged: Unchanged | None = None) -> list[FileChange]:
    """What writing ``tree`` into ``output`` would create, change and delete, sorted by path. A
    file ``unchanged`` vouches for (by its stat: the compile cache's record) is not read.

    Raises InvalidInput when a file of the tree would replace a file lmcache-gitops did not
    generate (or anything that is not a regular file), would be written through a symbolic link
    that leaves the output folder, or when an interrupted compile left the tree half written.
    """
    if interrupted(output):
        raise InvalidInput(
            [
                Problem(
                    str(output / STATE / _JOURNAL),
                    1,
                    "",
                    "a compile of this tree was interrupted while it replaced files (or is replacing them now), "
                    "so the tree is half written: run `lmcache-gitops compile` to complete it",
                )
            ]
        )
    owned: dict[str, str] = {}
    problems = []
    for relative, path, info in tree_files(output):
        if unchanged is not None and relative in tree and unchanged(relative, info):
            owned[relative] = tree[relative]
            continue
        text = read_owned(path)
        if text is not None:
            owned[relative] = text
        elif relative in tree:
            problems.append(
                Problem(path, 1, "", "was not generated by lmcache-gitops and would be overwritten; move or delete it")
            )
    real = output.resolve()
    escapes: dict[str, bool] = {}
    for relative in [*tree, *(relative for relative in owned if relative not in tree)]:
        if _escapes(output, real, relative.rpartition("/")[0], escapes):
            message = f"would be {'written' if relative in tree else 'deleted'} outside {output} (a symbolic link leads out of it)"
            problems.append(Problem(str(output / relative), 1, "", message))
    if problems:
        raise InvalidInput(problems)
    changes = [
        FileChange(relative, "created" if relative not in owned else "changed", owned.get(relative), text)
        for relative, text in tree.items()
        if owned.get(relative) != text
    ]
    changes += [FileChange(relative, "deleted", text, None) for relative, text in owned.items() if relative not in tree]
    return sorted(changes, key=lambda c: c.path)


def replacing(
    old: Mapping[str, str], new: Mapping[str, str], output: Path, folders: Collection[str]
) -> list[FileChange] | None:
    """What replacing the files ``old`` of the tree by ``new`` creates, changes and deletes,
    sorted by path, when the tree on disk is the one whose folders are ``folders`` (real folders,
    each with every file the tree has there) and holds ``old`` as it is; None when a new file's
    place, or a new folder's, is taken (then only `plan` can tell what is there)."""
    changes = [
        FileChange(path, "changed" if path in old else "created", old.get(path), text)
        for path, text in new.items()
        if old.get(path) != text
    ]
    changes += [FileChange(path, "deleted", text, None) for path, text in old.items() if path not in new]
    for change in changes:
        if change.change == "created":
            path = change.path
            while path and path not in folders:
                if os.path.lexists(output / path):  # a file of someone else's, or a link
                    return None
                path = path.rpartition("/")[0]
    return sorted(changes, key=lambda c: c.path)


def state_folder(output: Path) -> Path:
    state = output / STATE
    if state.is_symlink() or (state.exists() and not state.is_dir()):
        raise InvalidInput([Problem(str(state), 1, "", "must be lmcache-gitops's state folder; move this file away")])
    state.mkdir(parents=True, exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# lmcache-gitops's lock and, while it compiles, its journal and staged files\n*\n")
    return state


@contextmanager
def locked(output: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the tree's lock: a second compile of the same output waits up to ``timeout`` seconds,
    then fails naming the holder."""
    import filelock  # only a compile that writes needs it

    state = state_folder(output)
    lock = filelock.FileLock(state / _LOCK, timeout=timeout)
    try:
        lock.acquire()
    except filelock.Timeout:
        holder = _text_or(state / _HOLDER, "holder unknown")
        message = f"another lmcache-gitops compile of this tree holds its lock ({holder}); waited {timeout:g} s"
        raise InvalidInput([Problem(str(state / _LOCK), 1, "", message)]) from None
    try:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        (state / _HOLDER).write_text(f"pid {os.getpid()} on {socket.gethostname()}, since {when}")
        yield
    finally:
        (state / _HOLDER).unlink(missing_ok=True)
        lock.release()


def _text_or(path: Path, default: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or default
    except (OSError, UnicodeDecodeError):
        return default


def apply(changes: list[FileChange], output: Path) -> None:
    """Make ``changes`` on disk, whole: hold the lock (`locked`) around it. Every new text is
    staged first; only then is the journal written and are the files moved into place."""
    state = state_folder(output)
    staging = state / _STAGING
    shutil.rmtree(staging, ignore_errors=True)
    folders = _new_folders([change.path for change in changes if change.change == "created"], output)
    made: set[str] = set()
    for change in changes:
        if change.new is not None:
            _write_file(os.path.join(staging, change.path), change.new, made)
    journal = {
        "folders": sorted(folders),
        "put": [c.path for c in changes if c.new is not None and _new_folder_of(c.path, folders) is None],
        "delete": [change.path for change in changes if change.new is None],
    }
    pending = state / (_JOURNAL + ".new")
    pending.write_text(json.dumps(journal))
    os.replace(pending, state / _JOURNAL)  # the commit point
    _complete(output)


def _write_file(path: str, text: str, made: set[str]) -> None:
    """Write a staged file, making its folder once (``made``: the folders made so far)."""
    folder = os.path.dirname(path)
    if folder not in made:
        os.makedirs(folder, exist_ok=True)
        made.add(folder)
    with open(path, "wb") as stream:
        stream.write(text.encode("utf-8"))


def _new_folders(created: list[str], output: Path) -> set[str]:
    """The outermost folders of ``created`` files that the output folder does not have: each is
    moved into place whole."""
    found: set[str] = set()
    exists: dict[str, bool] = {}
    for path in created:
        parts = path.split("/")[:-1]
        for end in range(1, len(parts) + 1):
            folder = "/".join(parts[:end])
            if folder in found:
                break
            if folder not in exists:
                exists[folder] = os.path.lexists(output / folder)
            if not exists[folder]:
                found.add(folder)
                break
    return found


def _new_folder_of(path: str, folders: set[str]) -> str | None:
    parts = path.split("/")
    return next((f for end in range(1, len(parts)) if (f := "/".join(parts[:end])) in folders), None)


def recover(output: Path) -> bool:
    """Before anything else under the lock: complete a compile killed after its commit point, or
    drop what one killed before it staged (its tree is the old one, whole). True if it did either."""
    state = output / STATE
    if (state / _JOURNAL).exists():
        _complete(output)
        return True
    if (state / _STAGING).exists():
        shutil.rmtree(state / _STAGING)
        return True
    return False


def _tree_path(relative: object, *, folder: bool = False) -> str | None:
    """``relative`` if it is a path of the tree, or with ``folder`` a folder of it (a journal is
    read back, so it is checked)."""
    if not isinstance(relative, str):
        return None
    parts = PurePosixPath(relative).parts
    deep = len(parts) > (0 if folder else 1)
    ok = deep and parts[0] in TOP_FOLDERS and not {"..", "."} & set(parts) and "\\" not in relative
    return relative if ok and not relative.startswith("/") else None


def _complete(output: Path) -> None:
    """Make the journal's moves and deletions (each can be made again: a killed completion is
    completed by the next one), then drop the journal and the staging folder."""
    state = output / STATE
    try:
        journal = json.loads((state / _JOURNAL).read_text(encoding="utf-8"))
        folders, put, delete = list(journal.get("folders", [])), list(journal["put"]), list(journal["delete"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise InvalidInput(
            [
                Problem(
                    str(state / _JOURNAL), 1, "", "is not a journal lmcache-gitops wrote; delete it and compile again"
                )
            ]
        ) from None
    staging = state / _STAGING
    for relative in filter(None, (_tree_path(f, folder=True) for f in folders)):
        staged = staging / relative
        if staged.is_dir() and not staged.is_symlink():
            if os.path.lexists(output / relative):  # made meanwhile: its files one by one
                put += [Path(d, f).relative_to(staging).as_posix() for d, _, files in os.walk(staged) for f in files]
            else:
                (output / relative).parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, output / relative)
    for relative in filter(None, map(_tree_path, put)):
        staged = staging / relative
        if staged.is_file() and not staged.is_symlink():
            target = output / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
    for relative in filter(None, map(_tree_path, delete)):
        path = output / relative
        if read_owned(path) is not None:  # only a file of ours, even if the journal says otherwise
            path.unlink()
            _remove_empty_parents(path.parent, output)
    (state / _JOURNAL).unlink()
    shutil.rmtree(staging, ignore_errors=True)


def _remove_empty_parents(folder: Path, output: Path) -> None:
    while folder != output and not folder.is_symlink() and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
