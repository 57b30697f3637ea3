"""The API server's own validation, before merge: in specs' embedded shapes and in every workload,
opted in or not, each problem at its field with the API server's wording."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .helpers import LMC, problems, resource, set_path, workload


def _plain(**changes: Any) -> dict[str, Any]:
    """A Deployment that does not opt in to injection: the webhook never sees it, the API server does."""
    doc = workload()
    doc["spec"]["template"]["metadata"] = {"labels": {"app": "vllm"}}
    for path, value in changes.items():
        set_path(doc, path.split("."), value)
    return doc


def _workload_problems(doc: dict[str, Any]) -> list[str]:
    return problems(doc)


POD = "spec.template.spec"
CONTAINER = [{"name": "vllm", "image": "vllm/vllm-openai"}]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {f"{POD}.tolerations": [{"key": "gpu", "operator": "Exist"}]},
            f'{POD}.tolerations[0].operator: Unsupported value: "Exist": supported values: "Equal", "Exists"',
        ),
        (
            {f"{POD}.tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoScheduleX"}]},
            f'{POD}.tolerations[0].effect: Unsupported value: "NoScheduleX": supported values: "NoExecute", '
            '"NoSchedule", "PreferNoSchedule"',
        ),
        (
            {f"{POD}.tolerations": [{"key": "gpu", "operator": "Exists", "value": "x"}]},
            f"{POD}.tolerations[0].operator: Invalid value: \"x\": value must be empty when `operator` is 'Exists'",
        ),
        (
            {f"{POD}.tolerations": [{"key": "gpu", "effect": "NoSchedule", "tolerationSeconds": 5}]},
            f"{POD}.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when "
            "`tolerationSeconds` is set",
        ),
        ({"spec.selector": None}, "spec.selector: Required value"),
        (
            {"spec.selector": {"matchLabels": {"app": "other"}}},
            f'{POD[:-5]}.metadata.labels: Invalid value: {{"app": "vllm"}}: `selector` does not match template `labels`',
        ),
        ({f"{POD}.containers": [{"name": "vllm"}]}, f"{POD}.containers[0].image: Required value"),
        ({f"{POD}.containers": [{"image": "x"}]}, f"{POD}.containers[0].name: Required value"),
        ({f"{POD}.containers": []}, f"{POD}.containers: Required value"),
        (
            {f"{POD}.containers": [{**CONTAINER[0], "name": "vLLM"}]},
            f'{POD}.containers[0].name: Invalid value: "vLLM": must be a lowercase RFC 1123 label',
        ),
        (
            {f"{POD}.containers": [*CONTAINER, *CONTAINER]},
            f'{POD}.containers[1].name: Duplicate value: "vllm"',
        ),
        (
            {f"{POD}.initContainers": CONTAINER},
            f'{POD}.containers[0].name: Duplicate value: "vllm"',
        ),
        (
            {f"{POD}.containers": [{**CONTAINER[0], "imagePullPolicy": "Sometimes"}]},
            f'{POD}.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", '
            '"IfNotPresent", "Never"',
        ),
        (
            {f"{POD}.containers": [{**CONTAINER[0], "ports": [{"containerPort": 8000, "protocol": "HTTP"}]}]},
            f'{POD}.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
        ),
        (
            {f"{POD}.containers": [{**CONTAINER[0], "ports": [{"containerPort": 70000}]}]},
            f"{POD}.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        ),
        (
            {f"{POD}.containers": [{**CONTAINER[0], "ports": [{"containerPort": 1, "name": "http_port"}]}]},
            f'{POD}.containers[0].ports[0].name: Invalid value: "http_port": must be no more than 15 characters',
        ),
        (
            {
                f"{POD}.containers": [
                    {**CONTAINER[0], "ports": [{"containerPort": 1, "name": "a"}, {"containerPort": 2, "name": "a"}]}
                ]
            },
            f'{POD}.containers[0].ports[1].name: Duplicate value: "a"',
        ),
        (
            {f"{POD}.containers": [{**CONTAINER[0], "env": [{"name": "A=B", "value": "1"}]}]},
            f'{POD}.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name',
        ),
        (
            {f"{POD}.containers": [{**CONTAINER[0], "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}}]},
            f"{POD}.containers[0].resources.requests.cpu: must be less than or equal to the cpu limit (1)",
        ),
        ({f"{POD}.volumes": [{"name": "v"}]}, f"{POD}.volumes[0]: Required value: must specify a volume type"),
        (
            {f"{POD}.volumes": [{"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}]},
            f"{POD}.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type (it also has emptyDir)",
        ),
        (
            {f"{POD}.volumes": [{"name": "V", "emptyDir": {}}]},
            f'{POD}.volumes[0].name: Invalid value: "V": must be a lowercase RFC 1123 label',
        ),
        (
            {f"{POD}.containers": [{**CONTAINER[0], "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}]},
            f'{POD}.containers[0].volumeMounts[0].name: Not found: "nope"',
        ),
        (
            {f"{POD}.restartPolicy": "Never"},
            f'{POD}.restartPolicy: Unsupported value: "Never": supported values: "Always"',
        ),
        (
            {f"{POD}.dnsPolicy": "Cluster"},
            f'{POD}.dnsPolicy: Unsupported value: "Cluster": supported values: "ClusterFirst", '
            '"ClusterFirstWithHostNet", "Default", "None"',
        ),
    ],
)
def test_a_workload_is_checked_as_the_api_server_checks_it(changes: dict[str, Any], expected: str) -> None:
    found = _workload_problems(_plain(**changes))
    assert any(problem.startswith(expected) for problem in found), found
    assert len(found) == 1, found


def test_a_job_needs_a_restart_policy_of_its_own() -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "load"},
        "spec": {"template": {"spec": {"containers": copy.deepcopy(CONTAINER)}}},
    }
    assert _workload_problems(job) == ["spec.template.spec.restartPolicy: Required value"]
    job["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    assert _workload_problems(job) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"'
    ]


def test_a_selector_with_expressions_is_matched_as_the_api_server_matches_it() -> None:
    selector = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["vllm", "x"]}]}
    assert _workload_problems(_plain(**{"spec.selector": selector})) == []
    selector = {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}
    assert _workload_problems(_plain(**{"spec.selector": selector}))


def test_independent_problems_of_a_workload_come_together_with_its_wiring() -> None:
    doc = workload()  # opted in, with a toleration the API server rejects and an engine that is not there
    doc["spec"]["template"]["spec"]["tolerations"] = [{"key": "a", "operator": "Exist"}]
    found = problems(doc)
    assert [p.split(": ")[0] for p in found] == [
        "spec.template.metadata.annotations[lmcache.ai/lmcache-engine]",  # engine-not-found
        "spec.template.spec.tolerations[0].operator",
    ], found


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exist", "effect": "NoScheduleX"}]},
            [
                'spec.tolerations[0].operator: Unsupported value: "Exist": supported values: "Equal", "Exists"',
                'spec.tolerations[0].effect: Unsupported value: "NoScheduleX": supported values: "NoExecute", '
                '"NoSchedule", "PreferNoSchedule"',
            ],
        ),
        (
            {"env": [{"name": "", "value": "1"}]},
            [
                'spec.env[0].name: Invalid value: "": a valid environment variable name must consist only of '
                "printable ASCII characters other than '='"
            ],
        ),
        ({"volumes": [{"name": "cache"}]}, ["spec.volumes[0]: Required value: must specify a volume type"]),
        (
            {"initContainers": [{"name": "warm"}]},
            ["spec.initContainers[0].image: Required value"],
        ),
    ],
)
def test_the_shapes_a_spec_embeds_are_checked_as_the_api_server_checks_them(
    spec: dict[str, Any], expected: list[str]
) -> None:
    found = problems(resource(LMC, **spec))
    assert sorted(found) == sorted(expected)
