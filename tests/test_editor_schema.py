"""The editor schemas agree with the compiler: every real input is valid against them, and every
invalid case of the rule tables that a JSON Schema can express is invalid against them too."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

import lmcache_gitops as lg
from lmcache_gitops.models import KINDS

from .helpers import API, FIXTURES, ROOT, companions, problems, resource
from .test_delivery import DELIVERY_RULES
from .test_delivery import ENVIRONMENTS as DELIVERY_ENVIRONMENTS
from .test_delivery import REPOSITORY as DELIVERY_REPOSITORY
from .test_validation import RULES, RULES_AT

E, CB, C = "LMCacheEngine", "CacheBlendEngine", "LMCacheCoordinator"
SAMPLES = ROOT.parent / "shared" / "operator-samples"


@functools.cache
def validator(kind: str | None) -> Draft202012Validator:
    """For one kind's schema, every kind's (None), or the project file's ("project"), checked first."""
    schema = lg.project_json_schema() if kind == "project" else lg.json_schema(kind)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(kind: str | None, document: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator(kind).iter_errors(document)]


@pytest.mark.parametrize("kind", [None, *KINDS, "project"])
def test_the_schemas_are_valid_draft_2020_12(kind: str | None) -> None:
    validator(kind)


# ---- every real input is valid ----


def spec_documents(paths: list[Path]) -> list[Any]:
    """A (kind, document) param per custom resource in ``paths``; kinds the compiler does not know are skipped."""
    params = []
    for path in paths:
        for index, document in enumerate(yaml.safe_load_all(path.read_text())):
            if isinstance(document, dict) and document.get("apiVersion") == API:
                kind = document.get("kind")
                skip = pytest.mark.skip(reason=f"{kind} is not a kind lmcache-gitops compiles")
                name = f"{path.parent.name}/{path.name}[{index}]"
                params.append(pytest.param(kind, document, id=name, marks=() if kind in KINDS else skip))
    return params


SPECS = spec_documents(
    [p for p in sorted((FIXTURES / "render").glob("*.yaml")) if not p.name.endswith(".expected.yaml")]
    + sorted((ROOT / "specs").glob("*.yaml"))
) + (
    spec_documents(sorted(SAMPLES.glob("*.yaml")))
    if SAMPLES.is_dir()
    else [pytest.param(None, None, id="operator-samples", marks=pytest.mark.skip(reason=f"{SAMPLES} is absent"))]
)


@pytest.mark.parametrize(("kind", "document"), SPECS)
def test_real_specs_are_valid(kind: str, document: dict[str, Any]) -> None:
    assert errors(kind, document) == []


def test_the_example_project_file_is_valid() -> None:
    assert errors("project", yaml.safe_load((ROOT / "lmcache-gitops.yaml").read_text())) == []


# ---- the schema accepts what the compiler accepts: nulls (pruned) and the checks it states ----

AGREEMENT = {
    "empty coordinator spec": {**resource(C), "spec": None},
    "empty engine spec (no l1)": {**resource(E), "spec": None},
    "empty cacheblend injection": resource(CB, injection=None),
    "empty prometheus": resource(E, prometheus=None),
    "empty serviceMonitor": resource(E, **{"prometheus.serviceMonitor": None}),
    "null metadata fields and status": {**resource(E), "metadata": {"name": "a", "labels": None}, "status": None},
    "null map value": resource(E, podLabels={"team": None}, resourceOverrides={"requests": {"cpu": None}}),
    "null raw config type": resource(E, l2Backend={"raw": {"type": "fs", "config": {"type": None}}}),
    "null required field": resource(E, l1=None),
    "null required kubernetes field": resource(E, env=[{"name": None}]),
    "null list item": resource(E, extraArgs=[None]),
    "null kubernetes list item": resource(E, tolerations=[None]),
    "label key without prefix": resource(E, podLabels={"/team": "a"}),
    "label key of two slashes": resource(E, podLabels={"a/b/c": "a"}),
    "label key and value of 63": resource(E, podLabels={"k" * 63: "v" * 63}),
    "label key of 64": resource(E, podLabels={"k" * 64: "v"}),
    "label prefix of 253": resource(E, podLabels={f"{'p' * 253}/k": ""}),
    "label prefix of 254": resource(E, podLabels={f"{'p' * 254}/k": ""}),
    "node selector value with a space": resource(E, nodeSelector={"disk": "fast ssd"}),
    "engine selector label kept": resource(E, podLabels={"app.kubernetes.io/name": "lmcache"}),
    "coordinator selector label kept": resource(C, podLabels={"app.kubernetes.io/name": "lmcache-coordinator"}),
    "coordinator selector label changed": resource(C, podLabels={"app.kubernetes.io/name": "lmcache"}),
    "managed-by label changed": resource(E, podLabels={"app.kubernetes.io/managed-by": "me"}),
    "name not a subdomain": resource(E, name="Cache"),
    "quantities": resource(E, resourceOverrides={"limits": {"cpu": "1.5", "memory": 2e9, "nvidia.com/gpu": 1}}),
    "quantity with a comma": resource(E, resourceOverrides={"limits": {"cpu": "1,5"}}),
    "router with every field": resource(
        "VllmRouter",
        port=31000,
        policy="session_based",
        replicas=2,
        image={"tag": "v1"},
        intraNodeDataParallelSize=2,
        serviceType="",
        nodeSelector={"pool": "cpu"},
        tolerations=[{"operator": "Exists"}],
        env=[{"name": "A", "value": "1"}],
        priorityClassName="high",
    ),
}


@pytest.mark.parametrize("document", AGREEMENT.values(), ids=AGREEMENT.keys())
def test_the_schema_accepts_what_the_compiler_accepts(document: dict[str, Any]) -> None:
    assert validator(document["kind"]).is_valid(document) == (problems(document, *companions(document["kind"])) == [])


# ---- every invalid case of the rule tables is invalid, where a JSON Schema can say so ----

# Why a JSON Schema cannot state a rule (the schema accepts these cases):
CROSS_FIELD = (
    "cross-field"  # it relates fields: exactly one of them, request <= limit, the resource's name or namespace
)
REFERENCE = "reference"  # it needs other documents (the specs an environment names) or the files
JSON_NUMBER = "json-number"  # JSON has no infinity, and 6000.0 is the integer 6000 to a JSON Schema

NOT_EXPRESSIBLE = {
    "spec.l2Backend: Required value: exactly one of resp or raw must be set": CROSS_FIELD,
    "spec.l2Backend: exactly one of resp or raw must be set, got multiple": CROSS_FIELD,
    "spec.coordinator: Required value: exactly one of ref or url must be set": CROSS_FIELD,
    "spec.coordinator: exactly one of ref or url must be set, got both": CROSS_FIELD,
    "spec.l2Backend.serde: Required value: exactly one serde type must be set": CROSS_FIELD,
    "spec.l2Backend.serde: cannot be combined with a raw adapter that sets a 'serde' config key": CROSS_FIELD,
    "spec.l2Backends: must not be set together with spec.l2Backend": CROSS_FIELD,
    'spec.l2Backend.resp.authSecretRef.namespace: must be the engine namespace "ns": lmcache-gitops references the '
    "Secret in place and never copies Secrets across namespaces": CROSS_FIELD,
    "spec.coordinator.l2EventReporting: conflicts with the newer name of this field; set only one of them": CROSS_FIELD,
    "spec.l1.sizeGB: must be a finite number": JSON_NUMBER,
    "spec.server.port: must be an integer, got number 6000.0": JSON_NUMBER,
    "spec.resourceOverrides.requests.memory: must be less than or equal to the memory limit (1Gi)": CROSS_FIELD,
    "spec.podLabels[app.kubernetes.io/instance]: must not change the selector label app.kubernetes.io/instance "
    '(the selector needs "test")': CROSS_FIELD,
    'spec.volumeMounts[0].name: no volume named "data" in the pod (spec.volumes)': CROSS_FIELD,
    'spec.volumes[1].name: duplicate volume name "a"': CROSS_FIELD,
    'spec.prefill.serviceName: no Service "vllm-prefil" in namespace "ns" among the input files (Services there: '
    '"vllm-decode", "vllm-prefill")': REFERENCE,
    'spec.decode.port: Service "vllm-decode" has no port 8001 (its ports: 8000)': REFERENCE,
}

INVALID_SPECS = [
    *(
        (kind, resource(kind, **{field: value}), f"spec.{field}: {expected}")
        for kind, field, value, expected in RULES
        if expected
    ),
    *((kind, resource(kind, **fields), problem) for kind, fields, expected in RULES_AT for problem in expected),
]


@pytest.mark.parametrize(("kind", "document", "problem"), INVALID_SPECS, ids=[p[:90] for *_, p in INVALID_SPECS])
def test_invalid_specs_are_invalid_unless_not_expressible(kind: str, document: dict[str, Any], problem: str) -> None:
    reason = NOT_EXPRESSIBLE.get(problem)
    assert validator(kind).is_valid(document) == (reason is not None), reason


def test_every_rule_not_expressible_is_a_case_of_the_tables() -> None:
    assert set(NOT_EXPRESSIBLE) <= {problem for *_, problem in INVALID_SPECS}


# The cases of tests/test_project.py::test_project_rules, with None where a JSON Schema can say so.
PROJECT_RULES = [
    ({"Dev": {"namespace": "x"}}, {}, "environments.Dev: environment name must be a lowercase RFC 1123 label", None),
    ({"dev": {"namespace": "X_1"}}, {}, "environments.dev.namespace: must be a lowercase RFC 1123 label", None),
    ({"dev": {}}, {}, "environments.dev.namespace: Required value", None),
    ({"dev": {"namespace": "x", "replicas": 2}}, {}, "environments.dev.replicas: unknown field", None),
    (
        {"dev": {"namespace": "x", "include": ["nope"]}},
        {},
        'environments.dev.include[0]: no resource or workload named "nope"',
        REFERENCE,
    ),
    (
        {"dev": {"namespace": "x", "overrides": {"nope": {}}}},
        {},
        "environments.dev.overrides.nope: no resource",
        REFERENCE,
    ),
    (
        {"dev": {"namespace": "x", "include": ["coord"], "overrides": {"cache": {}}}},
        {},
        'environments.dev.overrides.cache: "cache" is not in this environment\'s include list',
        CROSS_FIELD,
    ),
    (
        {"dev": {"namespace": "x", "labels": {"app.kubernetes.io/name": "x"}}},
        {},
        "environments.dev.labels[app.kubernetes.io/name]: app.kubernetes.io/name is a label that selectors use",
        None,
    ),
    (
        {"dev": {"namespace": "x", "labels": {"bad key!": "x"}}},
        {},
        'environments.dev.labels[bad key!]: key "bad key!"',
        None,
    ),
    (
        {"dev": {"namespace": "x", "overrides": {"cache": {"annotations": {"a/b/c": "x"}}}}},
        {},
        "environments.dev.overrides.cache.annotations[a/b/c]: key prefix",
        None,
    ),
    ({"dev": {"namespace": "x"}}, {"specs": ["nowhere/*.yaml"]}, "specs[0]: matches no file in", REFERENCE),
    ({"dev": {"namespace": "x"}}, {"specs": []}, "specs: must list at least one glob", None),
    ({"dev": {"namespace": "x"}}, {"output": "/srv/tree"}, "output: must be a relative path", None),
    ({}, {}, "environments: must declare at least one environment", None),
    # An override patches the spec of the resource it names: its kind is in the specs.
    ({"dev": {"namespace": "x", "overrides": {"cache": {"spec": {"l1": {"sizeGB": -1}}}}}}, {}, "sizeGB", REFERENCE),
    ({"dev": {"namespace": "x", "overrides": {"cache": {"spec": {"l1": None}}}}}, {}, "spec.l1", REFERENCE),
    (
        {"dev": {"namespace": "x", "overrides": {"cache": {"spec": {"tolerations": [{"tolerationSeconds": "x"}]}}}}},
        {},
        "spec.tolerations[0].tolerationSeconds",
        REFERENCE,
    ),
    ({"dev": {"namespace": "x", "overrides": {"cache": {"spec": "big"}}}}, {}, "spec: must be a mapping", None),
]


@pytest.mark.parametrize(
    ("environments", "settings", "problem", "reason"), PROJECT_RULES, ids=[p[:90] for _, _, p, _ in PROJECT_RULES]
)
def test_invalid_project_files_are_invalid_unless_not_expressible(
    environments: Any, settings: dict[str, Any], problem: str, reason: str | None
) -> None:
    document = {**settings, "environments": environments}
    assert validator("project").is_valid(document) == (reason is not None), reason


@pytest.mark.parametrize(
    "settings",
    [
        {"repository": {"url": "https://x/y", "revision": "a..b"}},  # as in tests/test_delivery.py
        {"repository": {"url": "https://x/y ftp://x/y"}},
        {"delivery": {"flux": {"interval": "5m later"}}},
        {"delivery": {"flux": {"environments": {"dev": {"postBuild": {"substitute": {"1X": "v"}}}}}}},
    ],
)
def test_patterns_match_whole_values(settings: dict[str, Any]) -> None:
    assert not validator("project").is_valid({**settings, "environments": {"dev": {"namespace": "x"}}})


# The cases of tests/test_delivery.py::test_delivery_rules that a JSON Schema cannot say, and why.
DELIVERY_NOT_EXPRESSIBLE = {
    "delivery: needs the repository": CROSS_FIELD,
    "delivery: names no GitOps tool": CROSS_FIELD,
    "delivery.argocd.environments.qa": REFERENCE,
    'delivery.flux.environments.dev: "dev" is synced by Argo CD too': CROSS_FIELD,
    "delivery.flux: syncs every environment": CROSS_FIELD,
    "repository.url: Flux clones": CROSS_FIELD,
    "repository.url: holds a password": "secret",  # a rule of the secret scan, in code
    "delivery.name: makes the name": CROSS_FIELD,  # its length depends on the environments' names
    "delivery.argocd.environments.dev: give the destination": CROSS_FIELD,
    "repository.path: must be a folder inside": "path",  # resolved as a path, not matched as text
}


@pytest.mark.parametrize(("settings", "expected"), DELIVERY_RULES, ids=[e[:60] for _, e in DELIVERY_RULES])
def test_invalid_delivery_blocks_are_invalid_unless_not_expressible(settings: dict[str, Any], expected: str) -> None:
    document = {"repository": DELIVERY_REPOSITORY, **settings, "environments": DELIVERY_ENVIRONMENTS}
    if document["repository"] is None:
        del document["repository"]
    reason = next((why for start, why in DELIVERY_NOT_EXPRESSIBLE.items() if expected.startswith(start)), None)
    assert validator("project").is_valid(document) == (reason is not None), reason
