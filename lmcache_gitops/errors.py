"""Problems found in the input, and the exit codes of the command line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

EXIT_OK = 0
EXIT_INVALID = 1  # invalid input, or (compile) a tree that changed
EXIT_INTERNAL = 3  # a bug in lmcache-gitops

FieldPath = tuple[str | int, ...]


def format_path(path: FieldPath) -> str:
    """``("spec", "env", 0, "name")`` -> ``spec.env[0].name``; map keys that are not plain
    identifiers are bracketed, as Kubernetes does: ``spec.nodeSelector[nvidia.com/gpu.present]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f"[{part}]"
    return out


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, where it is and which rule it breaks. A warning (an allowed
    webhook skip) does not stop the compile."""

    source: str
    line: int
    path: str
    message: str
    severity: str = "error"

    def warning(self) -> Problem:
        return replace(self, severity="warning")

    def to_json(self) -> dict[str, str | int]:
        return {
            "file": self.source,
            "line": self.line,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
        }

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}: " + ("warning: " if self.severity == "warning" else "")
        return where + (f"{self.path}: {self.message}" if self.path else self.message)


class InvalidInput(Exception):
    """The input breaks one or more rules; ``problems`` lists all of them, sorted."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(set(problems)))
        super().__init__("\n".join(map(str, self.problems)))
