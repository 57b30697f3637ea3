"""A project as it was at a git revision: its files extracted into a temporary folder."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InvalidInput, Problem


def repository_root(folder: Path) -> Path:
    """The root of the git work tree that holds ``folder``."""
    out = _git(folder, "rev-parse", "--show-toplevel")
    return Path(out.decode().strip())


def _git(folder: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, check=False)
    except FileNotFoundError:
        raise InvalidInput(
            [Problem(str(folder), 1, "", "git is not installed: diff reads the base revision from git")]
        ) from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise InvalidInput([Problem(str(folder), 1, "", f"git {' '.join(args)}: {reason[-1] if reason else 'failed'}")])
    return done.stdout


@contextmanager
def at_revision(root: Path, revision: str) -> Iterator[Path]:
    """A temporary copy of the repository at ``root`` as it was at ``revision`` (committed files
    only), removed afterwards. It holds an empty `.git`, so that it reads as the checkout it is."""
    if revision.startswith("-"):  # never an option of git's
        raise InvalidInput([Problem(str(root), 1, "", f"{revision!r} is not a git revision")])
    archive = _git(root, "archive", "--format=tar", revision)
    with tempfile.TemporaryDirectory(prefix="lmcache-gitops-") as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")  # the data filter refuses links and paths out of the folder
        (Path(folder) / ".git").mkdir(exist_ok=True)
        yield Path(folder)
