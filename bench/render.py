"""Benchmark: render time for generated fleets, and the whole `lmcache-gitops render` process.

    python bench/render.py

Prints figures; asserts nothing (performance goals live here, not in the tests).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

import lmcache_gitops as lg

ROOT = Path(__file__).resolve().parents[1]


def fleet(size: int) -> list[lg.Source]:
    """``size`` engines (a third of them CacheBlend), one coordinator per 10 engines, 10 namespaces."""
    documents = []
    for i in range(size):
        namespace = f"team-{i % 10}"
        spec: dict = {"l1": {"sizeGB": 10 + i % 90}, "coordinator": {"ref": {"name": "coordinator"}}}
        kind = "CacheBlendEngine" if i % 3 == 2 else "LMCacheEngine"
        if kind == "CacheBlendEngine":
            spec["injection"] = {"payloadImage": {"repository": "example.com/plugin", "tag": "v1"}}
        else:
            spec["l2Backend"] = {"resp": {"host": "redis", "port": 6379}}
            spec["prometheus"] = {"serviceMonitor": {"enabled": True}}
        documents.append(
            {
                "apiVersion": "lmcache.lmcache.ai/v1alpha1",
                "kind": kind,
                "metadata": {"name": f"cache-{i}", "namespace": namespace},
                "spec": spec,
            }
        )
    for n in range(min(size, 10)):
        documents.append(
            {
                "apiVersion": "lmcache.lmcache.ai/v1alpha1",
                "kind": "LMCacheCoordinator",
                "metadata": {"name": "coordinator", "namespace": f"team-{n}"},
                "spec": {},
            }
        )
    return [lg.Source(f"spec-{i}.yaml", yaml.safe_dump(doc)) for i, doc in enumerate(documents)]


def best_of(runs: int, action) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print("fleet  objects  render (load+validate+build)  + YAML   per engine")
    for size in (10, 100, 1000):
        sources = fleet(size)
        objects = lg.render(sources)
        build = best_of(3, lambda sources=sources: lg.render(sources))
        total = best_of(3, lambda sources=sources: lg.to_yaml(lg.render(sources)))
        print(
            f"{size:5d}  {len(objects):7d}  {build * 1000:24.1f} ms  {total * 1000:6.1f} ms  {total / size * 1000:6.2f} ms"
        )
    command = [sys.executable, "-m", "lmcache_gitops", "render", "specs/"]
    runs = []
    for _ in range(7):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        runs.append(time.perf_counter() - start)
    print(
        f"whole process `lmcache-gitops render specs/`: median {statistics.median(runs) * 1000:.0f} ms, best {min(runs) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
