"""The examples are true: the README's Library section and the library's docstrings run as written."""

from __future__ import annotations

import doctest

import pytest

import lmcache_gitops.api
from lmcache_gitops.models import json_schema

from .helpers import ROOT


def test_the_library_section_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(ROOT / "README.md"), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 15
    assert result.failed == 0


@pytest.mark.parametrize("module", [lmcache_gitops.api, json_schema], ids=lambda m: m.__name__)
def test_every_docstring_example_runs(module: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.failed == 0
