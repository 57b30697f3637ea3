"""Problems found in the input, and the exit codes of the command line."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace

EXIT_OK = 0
EXIT_INVALID = 1  # invalid input, or (compile) a tree that changed
EXIT_INTERNAL = 3  # a bug in lmcache-gitops

FieldPath = tuple[str | int, ...]


_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})  # controls, formats, line breaks


def _printable(text: str) -> bool:
    return not any(unicodedata.category(char) in _UNPRINTABLE for char in text)


def one_line(text: str) -> str:
    """``text`` with every character that does not print escaped as JSON escapes it (a newline
    as ``\\n``), so that a problem is always one line of plain text."""
    if _printable(text):
        return text
    return "".join(char if _printable(char) else json.dumps(char)[1:-1] for char in text)


def format_path(path: FieldPath) -> str:
    """``("spec", "env", 0, "name")`` -> ``spec.env[0].name``; map keys that are not plain
    identifiers are bracketed, as Kubernetes does: ``spec.nodeSelector[nvidia.com/gpu.present]``,
    and quoted where they hold brackets, quotes or characters that do not print: ``spec["x\\ny"]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        elif _printable(part) and not set(part) & set('[]"'):
            out += f"[{part}]"
        else:
            out += f"[{one_line(json.dumps(part, ensure_ascii=False))}]"
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
        return one_line(where + (f"{self.path}: {self.message}" if self.path else self.message))


class InvalidInput(Exception):
    """The input breaks one or more rules; ``problems`` lists all of them, sorted."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(set(problems)))
        super().__init__("\n".join(map(str, self.problems)))
