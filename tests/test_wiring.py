"""Checks the webhook never made, the user's own objects as inputs, and wiring in a project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import lmcache_gitops as lg
from lmcache_gitops.read import yamlio

from .helpers import CB, LMC, resource, wiring_problems, workload, write_project


def messages(*documents: dict[str, Any]) -> list[str]:
    return [p.split(": ", 1)[1] for p in wiring_problems(*documents)]


def test_emptydir_at_dev_shm_shadows_the_hosts() -> None:
    for engine in (resource(LMC), resource(LMC, hostIPC=False), resource(CB)):
        hook = "cacheblend" if engine["kind"] == CB else "lmcache"
        doc = workload(hook, volumeMounts=[{"name": "shm", "mountPath": "/dev/shm"}])
        doc["spec"]["template"]["spec"]["volumes"] = [{"name": "shm", "emptyDir": {"medium": "Memory"}}]
        [found] = messages(engine, doc)
        assert found.startswith(
            "spec.template.spec.containers[0].volumeMounts[0]: an emptyDir at /dev/shm hides the host's /dev/shm"
        )


def test_emptydir_at_dev_shm_is_fine_for_an_isolated_engine() -> None:
    doc = workload(volumeMounts=[{"name": "shm", "mountPath": "/dev/shm"}])
    doc["spec"]["template"]["spec"]["volumes"] = [{"name": "shm", "emptyDir": {"medium": "Memory"}}]
    assert lg.validate([lg.Source("in.yaml", yamlio.dump_all([resource(LMC, isolatedIPC=True), doc]))]) == []


def test_cacheblend_block_size_must_be_a_quarter_of_the_chunk_size() -> None:
    [found] = messages(resource(CB, **{"injection.blockSize": 16}), workload("cacheblend"))
    assert "--block-size 16" in found and "set spec.injection.blockSize to 64" in found and "in.yaml:" in found


def test_workload_in_another_namespace_than_its_engine() -> None:
    [found] = messages(resource(CB, namespace="other"), workload("cacheblend", "other/test"))
    assert 'names CacheBlendEngine "test" in namespace "other", but the workload runs in "ns"' in found
    [found] = messages(resource(LMC, namespace="other"), workload())
    assert "(engine-not-found)" in found and 'LMCacheEngine "test" is in namespace "other"' in found


@pytest.mark.parametrize(
    ("labels", "annotations", "expected"),
    [
        ({"lmcache.ai/lmcache-inject": "true"}, {}, "opts in to LMCache injection but names no engine"),
        ({}, {"lmcache.ai/lmcache-engine": "test"}, 'lacks the label lmcache.ai/lmcache-inject: "true"'),
        ({"lmcache.ai/lmcache-inject": "yes"}, {"lmcache.ai/lmcache-engine": "test"}, "lacks the label"),
        (
            {"lmcache.ai/lmcache-inject": "true", "lmcache.ai/cacheblend-inject": "true"},
            {"lmcache.ai/lmcache-engine": "test", "lmcache.ai/cacheblend-engine": "blend"},
            "opts in to both LMCache and CacheBlend injection",
        ),
    ],
)
def test_half_opt_ins_are_errors(labels: dict[str, str], annotations: dict[str, str], expected: str) -> None:
    doc = workload()
    doc["spec"]["template"]["metadata"] = {"labels": {"app": "vllm", **labels}, "annotations": annotations}
    [found] = messages(resource(LMC), resource(CB, "blend"), doc)
    assert expected in found


def test_an_unquoted_true_is_not_the_string_the_webhook_matches() -> None:
    doc = workload()
    doc["spec"]["template"]["metadata"]["labels"]["lmcache.ai/lmcache-inject"] = True
    [found] = messages(resource(LMC), doc)
    assert found == "spec.template.metadata.labels[lmcache.ai/lmcache-inject]: must be a string, got boolean true"


def test_opt_in_on_the_workload_instead_of_its_pod_template() -> None:
    doc = workload()
    doc["metadata"]["labels"] = {"lmcache.ai/lmcache-inject": "true"}
    doc["metadata"]["annotations"] = {"lmcache.ai/lmcache-engine": "test"}
    doc["spec"]["template"]["metadata"] = {"labels": {"app": "vllm"}}
    found = messages(resource(LMC), doc)
    assert found == [
        "metadata.annotations[lmcache.ai/lmcache-engine]: belongs on the pod template (spec.template.metadata.annotations): "
        "the webhook reads the pod's labels and annotations, never the workload's",
        "metadata.labels[lmcache.ai/lmcache-inject]: belongs on the pod template (spec.template.metadata.labels): "
        "the webhook reads the pod's labels and annotations, never the workload's",
    ]


@pytest.mark.parametrize(
    ("engine", "role", "expected"),
    [
        (resource(LMC), "prefiller", "has no spec.pd"),
        (resource(LMC, pd={}), "prefill", 'must be "prefiller" or "decoder"'),
        (resource(LMC, pd={"role": "prefiller"}), "prefiller", "first PD design"),
    ],
)
def test_pd_role_mistakes(engine: dict[str, Any], role: str, expected: str) -> None:
    [found] = messages(engine, workload(annotations={"lmcache.ai/pd-role": role}))
    assert found.startswith("spec.template.metadata.annotations[lmcache.ai/pd-role]: ") and expected in found


def test_an_opted_in_pod_template_is_checked_as_kubernetes() -> None:
    [found] = messages(resource(LMC), workload(ports=[{"containerPort": "http"}]))
    assert found.startswith("spec.template.spec.containers[0].ports[0].containerPort: ")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}},
            "kind: an environment's namespace is generated",
        ),
        (
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}},
            "kind: lmcache-gitops never writes secret material",
        ),
        (
            {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"},
            "kind: a kustomization is not a Kubernetes object",
        ),
        (
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "Bad_Name"}},
            "metadata.name: must be a lowercase RFC 1123 subdomain",
        ),
        ({"apiVersion": "v1", "kind": "Service", "metadata": {}}, "metadata.name: Required value"),
        (
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "test", "namespace": "ns"}},
            'is generated by LMCacheEngine "test"',
        ),
    ],
)
def test_the_users_objects_are_checked(document: dict[str, Any], expected: str) -> None:
    assert any(expected in m for m in messages(resource(LMC), document))


def test_an_object_defined_twice() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "ns"}}
    [found] = messages(service, service)
    assert 'Service "api" in namespace "ns" is already defined at in.yaml:' in found


def test_objects_that_are_not_workloads_pass_through_unchanged() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "api", "namespace": "ns"},
        "spec": {"ports": [{"port": 80}]},
    }
    objects = lg.render([lg.Source("in.yaml", yamlio.dump_all([service]))])
    assert objects == [service]


# ---- the command line and a project ----


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lmcache_gitops", *args], cwd=cwd, capture_output=True, text=True)


def test_cli_exit_codes_and_allow_skip(tmp_path: Path) -> None:
    (tmp_path / "in.yaml").write_text(yamlio.dump_all([resource(LMC), workload(command=["sh"])]))
    failed = cli(tmp_path, "render", "in.yaml")
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.startswith("in.yaml:") and "(command-override)" in failed.stderr
    allowed = cli(tmp_path, "render", "--allow-skip", "in.yaml")
    assert allowed.returncode == 0 and "lmcache.ai/lmcache-skip-reason: command-override" in allowed.stdout
    assert ": warning: spec.template.spec.containers[0].command:" in allowed.stderr
    assert cli(tmp_path, "validate", "--allow-skip", "in.yaml").returncode == 0


def project(tmp_path: Path, doc: dict[str, Any], **environment: Any) -> Path:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "vllm.yaml").write_text(yamlio.dump_all([doc]))
    env = {"namespace": "ns-dev", **environment}
    return write_project(tmp_path, [resource(LMC), resource(CB, "blend")], {"dev": env}, workloads=["apps/*.yaml"])


def test_an_environment_without_the_engine_cannot_wire_its_workloads(tmp_path: Path) -> None:
    path = project(tmp_path, workload(), include=["blend", "vllm"])
    with pytest.raises(lg.InvalidInput) as err:
        lg.compile_project(path)
    [found] = err.value.problems  # the include is what to fix: reported there, not at the workload
    assert found.source.endswith("lmcache-gitops.yaml") and found.path == "environments.dev.include"
    assert found.message == 'leaves out LMCacheEngine "test", which Deployment "vllm" needs: add "test" to this include'
    assert not (tmp_path / "bases").exists()


def test_compile_reports_allowed_skips_as_warnings(tmp_path: Path) -> None:
    project(tmp_path, workload(command=["sh"]))
    out = cli(tmp_path, "compile", "--allow-skip", "--format", "json")
    assert out.returncode == 1  # the tree was written
    report = json.loads(out.stdout)
    assert [w["severity"] for w in report["warnings"]] == ["warning"]
    assert "warning:" in out.stderr
    assert cli(tmp_path, "compile", "--check").returncode == 1  # without the flag, the skip is an error
    assert cli(tmp_path, "compile", "--check", "--allow-skip").returncode == 0


def test_the_tree_keeps_the_users_file_and_delivers_the_wiring_as_patches(tmp_path: Path) -> None:
    path = project(tmp_path, workload())
    before = (tmp_path / "apps" / "vllm.yaml").read_text()
    lg.compile_project(path)
    assert (tmp_path / "apps" / "vllm.yaml").read_text() == before
    base = yamlio.load_documents((tmp_path / "bases/_workloads/deployment.vllm.yaml").read_text(), "x")[0][0].data
    assert base == workload()
    wiring = (tmp_path / "bases/_workloads/patches/deployment.vllm.yaml").read_text()
    assert "lmcache.ai/lmcache-injected" in wiring and "tcp://test.ns.svc.cluster.local" in wiring
    overlay = (tmp_path / "overlays/dev/workloads/patches/deployment.vllm.yaml").read_text()
    assert "tcp://test.ns-dev.svc.cluster.local" in overlay


def test_kustomization_files_are_not_inputs(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "kustomization.yaml").write_text("resources: [vllm.yaml]\n")
    (tmp_path / "apps" / "vllm.yaml").write_text(yamlio.dump_all([resource(LMC), workload()]))
    assert cli(tmp_path, "validate", "apps").returncode == 0  # a folder leaves it out
    named = cli(tmp_path, "validate", "apps/kustomization.yaml")
    assert named.returncode == 1 and "apps/kustomization.yaml:1: a kustomization names other files" in named.stderr
