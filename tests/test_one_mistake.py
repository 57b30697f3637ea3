"""One mistake, one message: a problem that is only the consequence of another is not reported,
and every independent problem is reported in the same run."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lmcache_gitops as lg

from .helpers import resource, workload, write_project

Project = tuple[list[dict[str, Any]], dict[str, Any]]


def _valid() -> Project:
    engine = resource("LMCacheEngine", name="kv", namespace=None, **{"coordinator.ref.name": "coord"})
    coordinator = resource("LMCacheCoordinator", name="coord", namespace=None)
    vllm = workload(engine="kv")
    vllm["metadata"] = {"name": "vllm"}
    return [engine, coordinator, vllm], {"dev": {"namespace": "llm-dev"}, "prod": {"namespace": "llm"}}


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    doc[last] = value


# Each fault: how to make it, and the path of the one problem it causes directly.
FAULTS: dict[str, tuple[Callable[[Project], None], list[str]]] = {
    "engine field": (lambda p: _set(p[0][0], "spec.l1.sizeGB", 0), ["spec.l1.sizeGB"]),
    "engine unknown field": (lambda p: _set(p[0][0], "spec.l1.sizGB", 1), ["spec.l1.sizGB"]),
    "engine kind": (lambda p: _set(p[0][0], "kind", "LMCacheEngin"), ["kind"]),
    "coordinator field": (lambda p: _set(p[0][1], "spec.port", "x"), ["spec.port"]),
    "workload toleration": (
        lambda p: _set(p[0][2], "spec.template.spec.tolerations", [{"key": "a", "operator": "Exist"}]),
        ["spec.template.spec.tolerations[0].operator"],
    ),
    "environment namespace": (lambda p: _set(p[1]["prod"], "namespace", "Bad_NS"), ["environments.prod.namespace"]),
    "override field": (
        lambda p: _set(p[1]["prod"], "overrides", {"kv": {"spec": {"l1": {"sizeGB": -1}}}}),
        ["environments.prod.overrides.kv.spec.l1.sizeGB"],
    ),
    "include drops the engine": (
        lambda p: _set(p[1]["prod"], "include", ["coord", "vllm"]),
        ["environments.prod.include"],
    ),
    "include drops the coordinator": (
        lambda p: _set(p[1]["prod"], "include", ["kv", "vllm"]),
        ["environments.prod.include"],
    ),
    "a field and a duplicate": (
        lambda p: (p[0].append(copy.deepcopy(p[0][1])), _set(p[0][0], "spec.l1.sizeGB", 0)),
        ["metadata.name", "spec.l1.sizeGB"],
    ),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fault=st.sampled_from(sorted(FAULTS)), order=st.permutations(range(3)), data=st.data())
def test_one_fault_gives_exactly_its_own_problems(
    tmp_path_factory: pytest.TempPathFactory, fault: str, order: list[int], data: st.DataObject
) -> None:
    documents, environments = _valid()
    make, expected = FAULTS[fault]
    make((documents, environments))
    documents = [documents[i] for i in order] + documents[3:]
    if data.draw(st.booleans()):  # a third environment changes nothing about the fault
        environments["staging"] = {"namespace": "llm-staging"}
    project = write_project(tmp_path_factory.mktemp("p"), documents, environments)
    with pytest.raises(lg.InvalidInput) as err:
        lg.load_project(project)
    assert sorted(p.path for p in err.value.problems) == expected, [str(p) for p in err.value.problems]


def test_the_valid_project_is_valid(tmp_path: Path) -> None:
    documents, environments = _valid()
    assert lg.load_project(write_project(tmp_path, documents, environments)).build
