"""Building blocks for tests: minimal valid resources and a way to compile them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import lmcache_gitops as lg
from lmcache_gitops import yamlio

API = "lmcache.lmcache.ai/v1alpha1"
MINIMAL: dict[str, dict[str, Any]] = {
    "LMCacheEngine": {"l1": {"sizeGB": 10}},
    "CacheBlendEngine": {"l1": {"sizeGB": 10}, "injection": {"payloadImage": {"repository": "example.com/plugin"}}},
    "LMCacheCoordinator": {},
}


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
    source = lg.Source("specs.yaml", yamlio.dump_all(documents))
    return [f"{p.path}: {p.message}" if p.path else p.message for p in lg.validate([source], namespace)]


def render(*documents: dict[str, Any], namespace: str = "default") -> list[dict[str, Any]]:
    return lg.render([lg.Source("specs.yaml", yamlio.dump_all(documents))], namespace)


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(matches) == 1, f"{len(matches)} {kind} objects named {name}"
    return matches[0]


def write_project(folder: Path, documents: list[dict[str, Any]], environments: dict[str, Any], **settings: Any) -> Path:
    """A project in ``folder``: ``documents`` in specs/specs.yaml and a project file; returns its path."""
    (folder / "specs").mkdir(parents=True, exist_ok=True)
    (folder / "specs" / "specs.yaml").write_text(yamlio.dump_all(documents))
    project = folder / "lmcache-gitops.yaml"
    project.write_text(yamlio.dump_all([{**settings, "environments": environments}]))
    return project


def workload_object(kind: str, name: str, template: dict[str, Any]) -> dict[str, Any]:
    """A workload of ``kind`` (Deployment, StatefulSet, Job, CronJob or Pod) around a pod template."""
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, **template["metadata"]}, "spec": template["spec"]}
    api = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    if kind == "Job":
        spec: dict[str, Any] = {"template": template}
    elif kind == "CronJob":
        spec = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        spec = {"selector": {"matchLabels": template["metadata"]["labels"]}, "template": template}
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name}, "spec": spec}
