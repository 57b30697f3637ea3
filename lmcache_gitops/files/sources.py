"""Input files on disk: files, folders and the project's globs, read as sources."""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import FieldPath, Problem
from ..naming import HEADER
from ..read.source import Source

if TYPE_CHECKING:  # only their types: the cache's no-change path reads the inputs without loading them
    from ..models.project_file import Project
    from ..read.yamlio import Document

SPEC_SUFFIXES = (".yaml", ".yml")
MAX_INPUT_BYTES = 16 * 2**20  # one input file; a fleet of 10,000 specs fits in well under that
KUSTOMIZATIONS = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})


def _is_input(path: Path) -> bool:
    """A file a folder or glob contributes: YAML, and not a kustomization (which names other
    files rather than holding objects)."""
    return path.suffix in SPEC_SUFFIXES and path.name not in KUSTOMIZATIONS and path.is_file()


def read_files(paths: Iterable[str | Path]) -> tuple[list[Source], list[Problem]]:
    """The text of each file, a folder standing for every .yaml/.yml file below it, and a problem
    for each file that cannot be read or is not UTF-8."""
    sources, problems = [], []
    for given in paths:
        path = Path(given)
        files = sorted(p for p in path.rglob("*") if _is_input(p)) if path.is_dir() else [path]
        for file in files:
            name = str(file)
            if file.name in KUSTOMIZATIONS:
                problems.append(
                    Problem(
                        name,
                        1,
                        "",
                        "a kustomization names other files rather than holding objects: give those files instead",
                    )
                )
                continue
            try:
                sources.append(Source(name, _read_input(file).decode("utf-8")))
            except UnicodeDecodeError as err:
                problems.append(Problem(name, 1, "", f"the file is not UTF-8 text ({err.reason} at byte {err.start})"))
            except _Refused as err:
                problems.append(Problem(name, 1, "", str(err)))
            except OSError as err:
                problems.append(Problem(name, 1, "", f"cannot read the file: {err.strerror or err}"))
    return sources, problems


class _Refused(Exception):
    """An input that is not a file to read: a FIFO, a device, a socket, or one too large."""


def _read_input(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_INPUT_BYTES (a link to one is fine)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the read
    with os.fdopen(descriptor, "rb") as stream:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise _Refused("is not a regular file (a FIFO, device or socket): give the files to read")
        data = stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise _Refused(f"is larger than {MAX_INPUT_BYTES // 2**20} MiB, the most one input file may hold: split it")
    return data


def enclosing_repository(folder: Path) -> Path | None:
    """The root of the git repository that holds ``folder``, if any."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def output_folder(settings: Project, document: Document, root: Path) -> tuple[Path, list[Problem]]:
    """Where the tree goes, and a problem when that is not a folder lmcache-gitops may own: it must
    stay inside the git repository of the project file (or, outside any, inside the project's
    folder), so that the tree is committed with the specs and a typo cannot reach other files."""
    output = root / settings.output
    repository = enclosing_repository(root.resolve())
    boundary = repository or root.resolve()
    where = ("output",)
    resolved = output.resolve()
    if resolved != boundary and boundary not in resolved.parents:
        inside = "the git repository" if repository else "the project's folder"
        return output, [document.problem(where, f"must be inside {inside} ({boundary}), where the tree is committed")]
    if output.exists() and not output.is_dir():
        return output, [document.problem(where, f"{output} is not a folder")]
    return output, []


def tree_in_repository(settings: Project, document: Document, root: Path) -> tuple[str | None, list[Problem]]:
    """Where the output folder is inside the repository (a POSIX path) that Argo CD or Flux reads,
    when the project delivers: `repository.path`, or the project's folder below the root of the
    git repository that holds it."""
    if settings.delivery is None or settings.repository is None:
        return None, []
    path = settings.repository.path
    if path is None:
        repository = enclosing_repository(root.resolve())
        if repository is None:
            return None, [
                document.problem(
                    ("repository",), f"no git repository holds {root}: set repository.path, the project's folder in it"
                )
            ]
        path = root.resolve().relative_to(repository).as_posix()
    return posixpath.normpath(posixpath.join(path, settings.output)), []


def read_project_inputs(settings: Project, document: Document, root: Path) -> tuple[list[Source], list[Problem]]:
    """The sources the project's `specs` and `workloads` globs match below ``root``, each once, in a
    fixed order: never the project file itself, nor a file of the tree (a glob such as `**/*.yaml`
    matches both), and a problem for each glob that matches nothing."""
    patterns = {"specs": settings.specs, "workloads": settings.workloads}
    sources, failed, unreadable = project_inputs(patterns, Path(document.source), root)
    return sources, [*(document.problem(where, message) for where, message in failed), *unreadable]


def project_inputs(
    patterns: Mapping[str, Sequence[str]], project_file: Path, root: Path
) -> tuple[list[Source], list[tuple[FieldPath, str]], list[Problem]]:
    """``read_project_inputs`` for the globs by field: the sources, each glob that fails as its
    field path and why, and the files that cannot be read."""
    files: dict[Path, None] = {}
    failed: list[tuple[FieldPath, str]] = []
    project_file = project_file.resolve()
    for field, globs in patterns.items():
        for index, pattern in enumerate(globs):
            try:
                found = sorted(p for p in root.glob(pattern) if _is_input(p) and p.resolve() != project_file)
            except (ValueError, IndexError, NotImplementedError, OSError):  # "not a glob of files", "name too long"
                failed.append(((field, index), "must be a glob of files, such as specs/**/*.yaml"))
                continue
            if not found:
                failed.append(((field, index), f"matches no file in {root}"))
            files.update(dict.fromkeys(found))
    sources, unreadable = read_files(files)
    return [s for s in sources if not s.text.startswith(HEADER)], failed, unreadable
