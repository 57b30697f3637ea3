"""An input file as read: the one type the reading stages and the file layer share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """The text of one input file and the name to report it by."""

    name: str
    text: str
