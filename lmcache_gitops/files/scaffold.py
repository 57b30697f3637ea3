"""`lmcache-gitops init`: a small working project to start from, in a new folder or beside what a
repository already holds."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidInput, Problem
from ..models.json_schema import json_schema_text
from ..naming import PROJECT_FILE, PROJECT_SCHEMA, SPEC_SCHEMA, TOP_FOLDERS, schema_comment

PRE_COMMIT = ".pre-commit-config.yaml"

PROJECT = (
    schema_comment(PROJECT_SCHEMA, 0)
    + """\
# The lmcache-gitops project: where the specs and workloads are, where the tree goes, and the
# environments. Schema: `lmcache-gitops schema project`. After any change: `lmcache-gitops compile`,
# then commit.
specs:
- specs/**/*.yaml
workloads:
- workloads/**/*.yaml
# To have Argo CD or Flux sync it, say where the repository is and who syncs which environment;
# compile then writes clusters/<env>/ too (apply it once, or point an app-of-apps or Flux at it):
# repository:
#   url: https://git.example.com/platform/llm.git
#   revision: main
# delivery:
#   argocd:
#     environments: {dev: {}}
#   flux:
#     environments: {prod: {}}
environments:
  dev:
    namespace: llm-dev
    overrides:
      kv-cache:            # a resource's name: this spec change applies to dev only
        spec:
          l1:
            sizeGB: 10
  prod:
    namespace: llm
    labels:
      environment: prod
    overrides:
      kv-cache:
        spec:
          image:
            tag: v0.3.9    # pin what prod runs
          l1:
            sizeGB: 120
"""
)

SPECS = (
    schema_comment(SPEC_SCHEMA, 1)
    + """\
# The operator's custom resources, unchanged: an LMCache engine on every GPU node and a coordinator.
apiVersion: lmcache.lmcache.ai/v1alpha1
kind: LMCacheEngine
metadata:
  name: kv-cache
spec:
  l1:
    sizeGB: 60
  coordinator:
    ref:
      name: coordinator
  tolerations:
  - key: nvidia.com/gpu
    operator: Exists
    effect: NoSchedule
---
apiVersion: lmcache.lmcache.ai/v1alpha1
kind: LMCacheCoordinator
metadata:
  name: coordinator
spec: {}
"""
)

WORKLOAD = """\
# Your vLLM Deployment, opted in to LMCache exactly as with the operator's webhook: the label and
# the engine annotation on the pod template. lmcache-gitops wires it at compile time.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vllm
spec:
  replicas: 1
  selector:
    matchLabels:
      app: vllm
  template:
    metadata:
      labels:
        app: vllm
        lmcache.ai/lmcache-inject: "true"
      annotations:
        lmcache.ai/lmcache-engine: kv-cache
    spec:
      containers:
      - name: vllm
        image: vllm/vllm-openai:v0.11.0   # its ENTRYPOINT is `vllm serve`: give args only
        args: ["Qwen/Qwen3-8B", "--port", "8000"]
        resources:
          limits:
            nvidia.com/gpu: "1"
"""

HOOKS = """\
# Keep the compiled tree in step with the specs in every commit: `pre-commit install`.
# The hook runs the lmcache-gitops installed here. To pin one release for everyone instead:
#   - repo: https://github.com/lmcache-gitops/lmcache-gitops
#     rev: <a tag or commit of it>        # `pre-commit autoupdate` moves it to the newest tag
#     hooks: [{id: lmcache-gitops-compile}]
repos:
- repo: local
  hooks:
  - id: lmcache-gitops-compile
    name: compile the LMCache Kustomize tree
    entry: lmcache-gitops compile
    language: system
    pass_filenames: false
    require_serial: true
    files: \\.(ya?ml|json)$
"""


def files() -> dict[str, str]:
    """Every file init writes, by path."""
    return {
        PROJECT_FILE: PROJECT,
        "specs/lmcache.yaml": SPECS,
        "workloads/vllm.yaml": WORKLOAD,
        SPEC_SCHEMA: json_schema_text(),
        PROJECT_SCHEMA: json_schema_text("project"),
        PRE_COMMIT: HOOKS,
    }


def _collisions(folder: Path) -> list[str]:
    """What in ``folder`` init would overwrite, or what the project would read or prune: its
    files, anything in specs/ and workloads/ (the globs read them), the tree's folders. A
    pre-commit config of the repository's own is kept (not a collision)."""
    found = [path for path in files() if path != PRE_COMMIT and (folder / path).exists()]
    found += [f"{name}/" for name in ("specs", "workloads", *TOP_FOLDERS) if (folder / name).exists()]
    return sorted(set(found))


def scaffold(folder: Path) -> tuple[list[Path], bool]:
    """Write the starter project into ``folder`` (created if missing), beside what it holds
    (a README, a .gitignore, .git, ...) as long as nothing collides; returns the files written
    and whether the pre-commit config was (a repository's own is left alone)."""
    if folder.exists() and not folder.is_dir():
        raise InvalidInput([Problem(str(folder), 1, "", "is not a folder")])
    clashes = _collisions(folder) if folder.exists() else []
    if clashes:
        listed = ", ".join(clashes)
        raise InvalidInput(
            [
                Problem(
                    str(folder), 1, "", f"already holds {listed}: init writes a new project only where none of these is"
                )
            ]
        )
    hooks = not (folder / PRE_COMMIT).exists()
    written = []
    for relative, text in files().items():
        if relative == PRE_COMMIT and not hooks:
            continue
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written, hooks
