"""Golden files: every fixture renders to exactly its committed expected output.

Refresh after an intended change with `pytest tests/test_golden.py --update-goldens`, then review
the diff of fixtures/render/*.expected.yaml like any other change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import lmcache_gitops as lg

from .helpers import FIXTURES, load_all, validate_object

CASES = sorted(p for p in (FIXTURES / "render").glob("*.yaml") if not p.name.endswith(".expected.yaml"))


def _render(path: Path) -> str:
    return lg.to_yaml(lg.render(lg.read_sources([path.relative_to(FIXTURES.parent)])))


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES.parent)


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_golden(case: Path, update_goldens: bool) -> None:
    expected_file = case.with_name(case.stem + ".expected.yaml")
    actual = _render(case)
    if update_goldens:
        expected_file.write_text(actual)
    assert expected_file.exists(), f"no golden for {case.name}: run pytest --update-goldens"
    assert actual == expected_file.read_text()


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_every_object_is_valid_kubernetes(case: Path) -> None:
    objects = load_all(_render(case))
    assert objects
    for obj in objects:
        validate_object(obj)


def test_every_object_family_is_covered() -> None:
    kinds = {
        (obj["kind"], obj["metadata"]["name"].endswith("-metrics")) for case in CASES for obj in load_all(_render(case))
    }
    assert kinds >= {
        ("ConfigMap", False),
        ("DaemonSet", False),
        ("Deployment", False),
        ("Service", False),
        ("Service", True),
        ("ServiceMonitor", False),
    }
