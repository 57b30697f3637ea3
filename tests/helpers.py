"""Test helpers every test module shares: minimal resources and workloads, ways to compile them, the
CLI as a process, the real kustomize binary, strict schema validation against Kubernetes and CRDs."""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import lmcache_gitops as lg
from lmcache_gitops.files import kustomize
from lmcache_gitops.read.yamlio import dump_all

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
CRDS = FIXTURES / "crds"
K8S_VERSION = "1.33"


API = "lmcache.lmcache.ai/v1alpha1"
MINIMAL: dict[str, dict[str, Any]] = {
    "LMCacheEngine": {"l1": {"sizeGB": 10}},
    "CacheBlendEngine": {"l1": {"sizeGB": 10}, "injection": {"payloadImage": {"repository": "example.com/plugin"}}},
    "LMCacheCoordinator": {},
    "VllmRouter": {"prefill": {"serviceName": "vllm-prefill"}, "decode": {"serviceName": "vllm-decode"}},
}


def service(name: str, namespace: str | None = "ns", ports: tuple[int, ...] = (8000,)) -> dict[str, Any]:
    """A Service of the user's (a vLLM pool's), exposing ``ports``."""
    metadata: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {"selector": {"app": name}, "ports": [{"name": f"p{port}", "port": port} for port in ports]},
    }


def companions(kind: str, namespace: str | None = "ns") -> list[dict[str, Any]]:
    """What a minimal resource of ``kind`` needs beside it: a router's two vLLM Services."""
    if kind != "VllmRouter":
        return []
    return [service(MINIMAL[kind][end]["serviceName"], namespace) for end in ("prefill", "decode")]


def resource(kind: str, name: str = "test", namespace: str | None = "ns", **spec: Any) -> dict[str, Any]:
    """A minimal valid resource of ``kind`` with ``spec`` fields merged over it (dotted keys nest)."""
    body = copy.deepcopy(MINIMAL[kind])
    for dotted, value in spec.items():
        set_path(body, dotted.split("."), value)
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": API, "kind": kind, "metadata": metadata, "spec": body}


def set_path(target: dict[str, Any], path: list[str], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def problems(*documents: dict[str, Any], namespace: str = "default") -> list[str]:
    """`path: message` of every problem with ``documents`` (one YAML file), sorted."""
    source = lg.Source("specs.yaml", dump_all(documents))
    return [f"{p.path}: {p.message}" if p.path else p.message for p in lg.validate([source], namespace)]


def render(*documents: dict[str, Any], namespace: str = "default") -> list[dict[str, Any]]:
    return lg.render([lg.Source("specs.yaml", dump_all(documents))], namespace)


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(matches) == 1, f"{len(matches)} {kind} objects named {name}"
    return matches[0]


def write_project(folder: Path, documents: list[dict[str, Any]], environments: dict[str, Any], **settings: Any) -> Path:
    """A project in ``folder``: ``documents`` in specs/specs.yaml and a project file; returns its path."""
    (folder / "specs").mkdir(parents=True, exist_ok=True)
    (folder / "specs" / "specs.yaml").write_text(dump_all(documents))
    project = folder / "lmcache-gitops.yaml"
    project.write_text(dump_all([{**settings, "environments": environments}]))
    return project


def workload_object(kind: str, name: str, template: dict[str, Any]) -> dict[str, Any]:
    """A workload of ``kind`` (Deployment, StatefulSet, Job, CronJob or Pod) around a pod template."""
    if kind == "Pod":
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, **template["metadata"]},
            "spec": template["spec"],
        }
    api = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    if kind == "Job":
        spec: dict[str, Any] = {"template": template}
    elif kind == "CronJob":
        spec = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        spec = {"selector": {"matchLabels": template["metadata"]["labels"]}, "template": template}
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name}, "spec": spec}


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The command line as a separate process."""
    return subprocess.run([sys.executable, "-m", "lmcache_gitops", *args], cwd=cwd, capture_output=True, text=True)


LMC, CB = "LMCacheEngine", "CacheBlendEngine"


def workload(
    hook: str = "lmcache", engine: str = "test", *, annotations: dict[str, str] | None = None, **container: Any
) -> dict[str, Any]:
    """A Deployment in namespace "ns" opting in to ``hook`` for ``engine``, its one container "vllm"."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "vllm", "namespace": "ns"},
        "spec": {
            "selector": {"matchLabels": {"app": "vllm"}},
            "template": {
                "metadata": {
                    "labels": {"app": "vllm", f"lmcache.ai/{hook}-inject": "true"},
                    "annotations": {f"lmcache.ai/{hook}-engine": engine, **(annotations or {})},
                },
                "spec": {
                    "containers": [
                        {"name": "vllm", "image": "vllm/vllm-openai", "args": ["Qwen/Qwen3-8B"], **container}
                    ]
                },
            },
        },
    }


def compile_all(*documents: dict[str, Any], allow_skip: bool = False) -> tuple[list[dict[str, Any]], list[lg.Problem]]:
    """Every object ``documents`` (one file, in.yaml) deploy, and the warnings."""
    warnings: list[lg.Problem] = []
    objects = lg.render([lg.Source("in.yaml", dump_all(documents))], allow_skip=allow_skip, warn=warnings.append)
    return objects, warnings


def wiring_problems(*documents: dict[str, Any]) -> list[str]:
    """`line: path: message` of every problem compiling ``documents`` (one file, in.yaml)."""
    with pytest.raises(lg.InvalidInput) as err:
        compile_all(*documents)
    return [f"{p.line}: {p.path}: {p.message}" for p in err.value.problems]


def _strict(schema: Any) -> Any:
    """additionalProperties: false on every object that lists properties (unknown fields fail)."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@functools.cache
def crd_validator(filename: str, version: str) -> Any:
    """A strict jsonschema validator for one version of an upstream CRD vendored in fixtures/crds."""
    import jsonschema

    crd = yaml.safe_load((CRDS / filename).read_text())
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            return jsonschema.Draft7Validator(_strict(copy.deepcopy(entry["schema"]["openAPIV3Schema"])))
    raise LookupError(f"{filename} has no version {version}")


# The custom resources lmcache-gitops emits: their CRD file in fixtures/crds and version.
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com_servicemonitors.yaml",
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): "kustomize.toolkit.fluxcd.io_kustomizations.yaml",
    ("source.toolkit.fluxcd.io/v1", "GitRepository"): "source.toolkit.fluxcd.io_gitrepositories.yaml",
    ("argoproj.io/v1alpha1", "Application"): "argoproj.io_applications.yaml",
    ("argoproj.io/v1alpha1", "ApplicationSet"): "argoproj.io_applicationsets.yaml",
}


def validate_object(obj: dict[str, Any]) -> None:
    """Fail unless ``obj`` is valid for Kubernetes 1.33 (strict) or for its upstream CRD."""
    crd = CRD_KINDS.get((obj["apiVersion"], obj["kind"]))
    if crd is not None:
        version = obj["apiVersion"].rpartition("/")[2]
        errors = sorted(f"{list(e.absolute_path)}: {e.message}" for e in crd_validator(crd, version).iter_errors(obj))
        assert not errors, f"{obj['kind']} {obj['metadata']['name']}: {errors}"
        return
    import kubernetes_validate

    # strict: unknown fields fail; a missing schema raises SchemaNotFoundError, which fails the test.
    kubernetes_validate.validate(json.loads(json.dumps(obj)), K8S_VERSION, strict=True)


def load_all(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


@functools.cache
def kustomize_command() -> tuple[str, ...]:
    """How to run kustomize, found as `lmcache-gitops verify` finds it (the test extra brings
    kustomize 5.8.1, as Argo CD and Flux ship it)."""
    try:
        return kustomize.command()
    except lg.InvalidInput as err:
        pytest.skip(f"{err}: install the test extra (pip install -e '.[test]')")


def kustomize_build(folder: Path) -> list[dict[str, Any]]:
    """The objects `kustomize build folder` gives; fails on any error or any output on stderr."""
    return kustomize_builds([folder])[0]


def kustomize_builds(folders: list[Path]) -> list[list[dict[str, Any]]]:
    """``kustomize_build`` of each folder, run side by side (each build is a process of its own)."""
    kustomize_command()  # skips when there is none
    results = kustomize.build_all(folders)
    for result in results:
        assert result.error is None, f"kustomize build {result.folder}: {result.error}"
    return [result.objects for result in results]
