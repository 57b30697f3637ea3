"""An unknown field names the closest known field when it looks like a typo of one."""

from __future__ import annotations

from pathlib import Path

import pytest

import lmcache_gitops as lg

from .helpers import CB, LMC, problems, resource, wiring_problems, workload, write_project

AFFINITY_TERMS = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"


@pytest.mark.parametrize(
    ("kind", "spec", "expected"),
    [
        # Spec models: the aliases of the model at the error's location.
        (LMC, {"l1": {"sizGB": 1, "sizeGB": 1}}, "spec.l1.sizGB: unknown field; did you mean sizeGB?"),
        (LMC, {"nodeselector": {}}, "spec.nodeselector: unknown field; did you mean nodeSelector?"),
        (LMC, {"toleratons": []}, "spec.toleratons: unknown field; did you mean tolerations?"),
        (LMC, {"hostIpc": True}, "spec.hostIpc: unknown field; did you mean hostIPC?"),
        (LMC, {"l2Backends": [{"type": "x", "typ": 1}]}, "spec.l2Backends[0].typ: unknown field; did you mean type?"),
        (
            CB,
            {"injection.payloadImage.tg": "v1"},
            "spec.injection.payloadImage.tg: unknown field; did you mean tag?",
        ),
        # Kubernetes shapes embedded in specs: the properties of the schema at that location.
        (
            LMC,
            {"tolerations": [{"efect": "NoSchedule"}]},
            "spec.tolerations[0].efect: unknown field; did you mean effect?",
        ),
        (
            LMC,
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [{"matchExpresions": []}]
                        }
                    }
                }
            },
            f"{AFFINITY_TERMS}[0].matchExpresions: unknown field; did you mean matchExpressions?",
        ),
        (
            CB,
            {"injection.env": [{"name": "A", "valueFrom": {"secretKeyRef": {"key": "k", "nme": "s"}}}]},
            "spec.injection.env[0].valueFrom.secretKeyRef.nme: unknown field; did you mean name?",
        ),
        # Nothing plausible: no suggestion.
        (LMC, {"foo": 1}, "spec.foo: unknown field"),
        (LMC, {"l1": {"sizeGB": 1, "foo": 1}}, "spec.l1.foo: unknown field"),
        (LMC, {"tolerations": [{"foo": 1}]}, "spec.tolerations[0].foo: unknown field"),
    ],
)
def test_an_unknown_spec_field_names_the_closest_known_one(kind: str, spec: dict[str, object], expected: str) -> None:
    assert problems(resource(kind, **spec)) == [expected]


def test_an_unknown_field_of_a_workload_pod_template_names_the_closest_known_one() -> None:
    manifest = workload(imagePullPolicyy="Always")
    manifest["spec"]["template"]["spec"]["nodeselector"] = {}
    manifest["spec"]["template"]["spec"]["foo"] = 1
    assert sorted(wiring_problems(resource(LMC), manifest)) == [
        "31: spec.template.spec.containers[0].imagePullPolicyy: unknown field; did you mean imagePullPolicy?",
        "33: spec.template.spec.foo: unknown field",
        "34: spec.template.spec.nodeselector: unknown field; did you mean nodeSelector?",
    ]


def test_an_unknown_field_of_the_project_file_names_the_closest_known_one(tmp_path: Path) -> None:
    environments = {"dev": {"namespace": "x", "overides": {}, "overrides": {"test": {"spc": {}}}, "replicas": 1}}
    project = write_project(
        tmp_path,
        [resource(LMC)],
        environments,
        enviroments={},
        repository={"url": "https://example.com/repo"},
        delivery={"flux": {"environments": {"dev": {"postBuil": {}}}}},
    )
    with pytest.raises(lg.InvalidInput) as err:
        lg.load_project(project)
    assert sorted(f"{p.path}: {p.message}" for p in err.value.problems) == [
        "delivery.flux.environments.dev.postBuil: unknown field; did you mean postBuild?",
        "enviroments: unknown field; did you mean environments?",
        "environments.dev.overides: unknown field; did you mean overrides?",
        "environments.dev.overrides.test.spc: unknown field; did you mean spec?",
        "environments.dev.replicas: unknown field",
    ]
