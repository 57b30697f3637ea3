"""The operator's whole sample set (the copies kept as fixtures) compiled together into one
project with two environments in different namespaces: every overlay builds, with the real
kustomize, to what `render --env` gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lmcache_gitops as lg
from lmcache_gitops.models import API_VERSIONS

from .helpers import API, FIXTURES, load_all, run, write_project
from .test_roundtrip import assert_round_trip

RENDER = FIXTURES / "render"
# Every sample CR, and the samples' vLLM workloads (each beside the engine it opts in to).
SAMPLE_FILES = [
    *sorted(p for p in RENDER.glob("sample-*.yaml") if not p.name.endswith(".expected.yaml")),
    *(RENDER / f"webhook-{name}.yaml" for name in ("cacheblend", "lmcache", "lmcache-payload", "pd")),
]
# Two samples share a name: lmcache_v1alpha1_lmcacheengine.yaml and _nri.yaml both define my-cache.
RENAMED = {("sample-lmcacheengine-nri.yaml", "my-cache"): "my-cache-nri"}


def _key(document: dict[str, Any]) -> tuple[str, str, str, str]:
    metadata = document["metadata"]
    return (document["apiVersion"], document["kind"], metadata.get("namespace") or "default", metadata["name"])


def sample_set() -> list[dict[str, Any]]:
    """Every document of the sample files, once: a sample that two fixtures carry (an engine and
    the workloads wired to it) must be the same in both."""
    found: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for path in SAMPLE_FILES:
        for document in load_all(path.read_text()):
            name = document["metadata"]["name"]
            document["metadata"]["name"] = RENAMED.get((path.name, name), name)
            first = found.setdefault(_key(document), document)
            assert first == document, f"{path.name}: {_key(document)} differs from its other copy"
    return list(found.values())


def test_every_sample_compiles_together_in_two_namespaces(tmp_path: Path) -> None:
    documents = sample_set()
    assert {d["kind"] for d in documents if d["apiVersion"] == API} == {k for k, v in API_VERSIONS.items() if v == API}
    assert {d["kind"] for d in documents if d["apiVersion"] != API} == {"Deployment", "Service"}
    environments = {"dev": {"namespace": "llm-dev"}, "prod": {"namespace": "llm-prod"}}
    # The samples' own pd-router Deployment addresses pd-prefiller.default.svc: moved with each environment.
    project = write_project(tmp_path, documents, environments, rewriteServiceAddresses=True)
    loaded = assert_round_trip(project)
    for env in loaded.build.environments:
        rendered = run("render", "--env", env.name, "--project", str(project), cwd=tmp_path)
        assert rendered.returncode == 0, rendered.stderr
        objects = load_all(rendered.stdout)
        assert objects == env.objects()
        assert {o["metadata"]["namespace"] for o in objects} == {env.settings.namespace}
        [router] = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "my-pd-router"]
        [command] = router["spec"]["template"]["spec"]["containers"][0]["args"]
        ns = env.settings.namespace
        assert f"--prefill http://pd-prefiller.{ns}.svc.cluster.local:8001" in command
        assert f"--decode http://pd-decoder.{ns}.svc.cluster.local:8002" in command
    kinds = {o["kind"] for o in loaded.build.environment("prod").objects()}
    assert kinds == {"ConfigMap", "DaemonSet", "Deployment", "Service"}  # no sample enables a ServiceMonitor


def test_the_router_sample_as_shipped_names_services_the_pd_sample_does_not_have() -> None:
    """Verbatim, the router sample routes to vllm-prefiller and vllm-decoder, but the PD sample's
    Services are pd-prefiller and pd-decoder: the operator would start a router that dials nothing."""
    shipped = (RENDER / "sample-vllmrouter.yaml").read_text()
    shipped = shipped.replace("serviceName: pd-prefiller ", "serviceName: vllm-prefiller").replace(
        "serviceName: pd-decoder ", "serviceName: vllm-decoder"
    )
    found = lg.validate([lg.Source("router.yaml", shipped)], "default")
    there = '(Services there: "pd-decoder", "pd-prefiller", "pd-router")'
    assert [f"{p.line}: {p.path}: {p.message}" for p in found] == [
        f'28: spec.prefill.serviceName: no Service "vllm-prefiller" in namespace "default" among the input files {there}',
        f'32: spec.decode.serviceName: no Service "vllm-decoder" in namespace "default" among the input files {there}',
    ]
