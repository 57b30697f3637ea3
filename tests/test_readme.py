"""The README's examples are true: its Library section runs as written, in this repository."""

from __future__ import annotations

import doctest

import pytest

from .helpers import ROOT


def test_the_library_section_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(ROOT / "README.md"), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 15
    assert result.failed == 0
