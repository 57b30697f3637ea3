"""Mutation fuzzing of lmcache-gitops: many seeded cases, each a mutated project run through the CLI.

    python bench/fuzz.py --cases 30000 [--start 0] [--schemas]   # a summary, and the failing seeds
    python bench/fuzz.py --seed N                                 # replay one case, verbosely

Each case is built from its seed alone (see tests/fuzzing.py), so a failing seed reproduces
anywhere. With --seed the case's folder is kept and its path printed. Exit status 1 when any case
failed. Not a test: it prints figures and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzzing import PASSING, Outcome, build_case, run_case


def replay(seed: int, schemas: bool) -> int:
    """Run one case verbosely and keep its folder."""
    workdir = Path(tempfile.mkdtemp(prefix=f"lmcache-fuzz-{seed}-"))
    case = build_case(seed)
    outcome = run_case(seed, workdir, schemas=schemas)
    print(outcome.report())
    print("  stdout:")
    for line in outcome.stdout.splitlines()[:40]:
        print(f"    {line!r}")
    for name, text in case.texts.items():
        print(f"  {name} ({len(text)} chars){':' if len(text) < 4000 else ', first 4000:'}")
        for line in text[:4000].splitlines():
            print(f"    {line!r}")
    print(f"  folder kept: {workdir / 'project'}")
    return 1 if outcome.failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=2000, help="how many cases (default: 2000)")
    parser.add_argument("--start", type=int, default=0, help="the first seed (default: 0)")
    parser.add_argument("--seed", type=int, help="run this one case verbosely and keep its folder")
    parser.add_argument("--schemas", action="store_true", help="validate rendered objects against their schemas (slow)")
    options = parser.parse_args()
    if options.seed is not None:
        return replay(options.seed, options.schemas)

    categories: Counter[str] = Counter()
    exit_codes: defaultdict[str, Counter[int]] = defaultdict(Counter)
    failures: list[Outcome] = []
    by_signature: dict[str, list[Outcome]] = defaultdict(list)
    slowest: list[tuple[float, int]] = []
    root = Path(tempfile.mkdtemp(prefix="lmcache-fuzz-"))
    start = time.perf_counter()
    try:
        for seed in range(options.start, options.start + options.cases):
            workdir = root / str(seed)
            outcome = run_case(seed, workdir, schemas=options.schemas)
            shutil.rmtree(workdir, ignore_errors=True)
            categories[outcome.category] += 1
            exit_codes[outcome.category][outcome.exit_code] += 1
            slowest.append((outcome.elapsed, seed))
            if outcome.failed:
                failures.append(outcome)
                by_signature[outcome.signature].append(outcome)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    elapsed = time.perf_counter() - start

    print(f"{options.cases} cases, seeds {options.start}..{options.start + options.cases - 1}")
    print(f"{'category':<16} {'cases':>7}  exit codes")
    for category, count in sorted(categories.items(), key=lambda item: (item[0] not in PASSING, item[0])):
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(exit_codes[category].items()))
        print(f"{category:<16} {count:>7}  {codes}")
    print(f"failed: {len(failures)} of {options.cases}")
    print(f"time: {elapsed:.1f} s, {elapsed / max(options.cases, 1) * 1000:.1f} ms a case")
    slowest.sort(reverse=True)
    print("slowest: " + ", ".join(f"seed {seed} {seconds * 1000:.0f} ms" for seconds, seed in slowest[:5]))
    if not failures:
        return 0
    print("\nfailing seeds (first 50): " + " ".join(str(o.seed) for o in failures[:50]))
    print(f"\n{len(by_signature)} distinct failures (signature: cases, first seeds):")
    for signature, outcomes in sorted(by_signature.items(), key=lambda item: -len(item[1])):
        print(f"  {signature}\n      {len(outcomes)} cases, seeds {' '.join(str(o.seed) for o in outcomes[:8])}")
    print("\none example per failure category:")
    seen: set[str] = set()
    for outcome in failures:
        if outcome.category in seen:
            continue
        seen.add(outcome.category)
        print(f"\n[{outcome.category}]\n{outcome.report()}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
