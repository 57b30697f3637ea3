"""`lmcache-gitops init`: a small working project to start from."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidInput, Problem
from ..naming import PROJECT_FILE

PROJECT = """\
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

SPECS = """\
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

FILES = {PROJECT_FILE: PROJECT, "specs/lmcache.yaml": SPECS, "workloads/vllm.yaml": WORKLOAD}


def scaffold(folder: Path) -> list[Path]:
    """Write the starter project into ``folder``, which must be empty (a `.git` folder is fine)."""
    if folder.exists():
        if not folder.is_dir():
            raise InvalidInput([Problem(str(folder), 1, "", "is not a folder")])
        present = sorted(p.name for p in folder.iterdir() if p.name != ".git")
        if present:
            listed = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
            raise InvalidInput(
                [Problem(str(folder), 1, "", f"is not empty ({listed}); init only writes into an empty folder")]
            )
    written = []
    for relative, text in FILES.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
