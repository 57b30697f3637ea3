"""Kill and concurrency experiments on the tree on disk: it is always the old tree, the new tree,
or an interrupted compile that `compile --check` reports and the next `compile` completes.

    python bench/kill.py [--size 300] [--trials 40] [--pairs 10]

Kill: a compile that changes every environment is killed with SIGKILL at a random moment of its
run (trials spread over the whole run); then the tree is classified, `compile --check` and
`compile` are run, and the tree must end as the new one. Concurrency: two compiles of the same
change start at once; neither may exit 3, and the tree must end as the new one. Prints figures;
exits 1 if any trial ended otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compile import fleet, write

COMMAND = [sys.executable, "-m", "lmcache_gitops", "compile"]


def snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for top in ("bases", "overlays")
        for p in sorted((folder / top).rglob("*"))
        if p.is_file()
    }


def run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], cwd=folder, capture_output=True, text=True, check=False)


def versions(project: Path) -> tuple[str, str]:
    """The project file's text before and after a change that touches every environment."""
    old = project.read_text()
    return old, old.replace("sizeGB: 4", "sizeGB: 6").replace("namespace: llm\n", "namespace: llm-prod\n")


def expected_tree(folder: Path, text: str) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "p"
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("bases", "overlays", ".lmcache-gitops"))
        (copy / "lmcache-gitops.yaml").write_text(text)
        run(copy)
        return snapshot(copy)


Trees = dict[str, dict[str, str]]  # the project file's text -> the tree it compiles to


def kill_trials(folder: Path, texts: tuple[str, str], trees: Trees, trials: int, rng: random.Random) -> Counter[str]:
    project = folder / "lmcache-gitops.yaml"
    old_text, new_text = texts
    start = time.perf_counter()
    project.write_text(new_text)
    run(folder)
    full = time.perf_counter() - start
    outcomes: Counter[str] = Counter()
    current = new_text
    for _ in range(trials):
        before, after = current, (old_text if current == new_text else new_text)
        project.write_text(after)
        child = subprocess.Popen(COMMAND, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, full))
        child.send_signal(signal.SIGKILL)
        child.wait()
        tree = snapshot(folder)
        if tree == trees[before]:
            state = "old tree"
        elif tree == trees[after]:
            state = "new tree"
        elif (folder / ".lmcache-gitops" / "journal.json").exists():
            check = run(folder, "--check")
            reported = check.returncode == 1 and "was interrupted" in check.stderr
            state = "interrupted, reported by --check" if reported else "INTERRUPTED, NOT REPORTED"
        else:
            state = "MIXED TREE"
        run(folder)
        finished = snapshot(folder) == trees[after] and not (folder / ".lmcache-gitops" / "staging").exists()
        outcomes[state + ("" if finished else "; NEXT COMPILE DID NOT END IN THE NEW TREE")] += 1
        current = after
    return outcomes


def concurrent_pairs(folder: Path, texts: tuple[str, str], trees: Trees, pairs: int) -> Counter[str]:
    project = folder / "lmcache-gitops.yaml"
    old_text, new_text = texts
    outcomes: Counter[str] = Counter()
    current = project.read_text()
    for _ in range(pairs):
        after = old_text if current == new_text else new_text
        project.write_text(after)
        children = [
            subprocess.Popen(COMMAND, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        codes = sorted(child.wait() for child in children)
        for child in children:
            assert child.stderr is not None
            child.stderr.close()
        whole = snapshot(folder) == trees[after]
        leftovers = sorted(p.name for p in (folder / ".lmcache-gitops").iterdir()) != [".gitignore", "lock"]
        outcomes[
            f"exit codes {codes}, {'new tree' if whole else 'NOT THE NEW TREE'}{', LEFTOVERS' if leftovers else ''}"
        ] += 1
        current = after
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=300, help="specs in the generated fleet")
    parser.add_argument("--trials", type=int, default=40, help="kills")
    parser.add_argument("--pairs", type=int, default=10, help="pairs of compiles started at once")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "fleet"
        folder.mkdir()
        write(folder, *fleet(args.size))
        run(folder)
        texts = versions(folder / "lmcache-gitops.yaml")
        trees = {text: expected_tree(folder, text) for text in texts}
        changed = sum(trees[texts[0]].get(path) != digest for path, digest in trees[texts[1]].items())
        print(f"fleet: {args.size} specs, {len(trees[texts[0]])} tree files, {changed} changed by the change")
        failed = False
        rng = random.Random(args.seed)
        kills = kill_trials(folder, texts, trees, args.trials, rng)
        pairs = concurrent_pairs(folder, texts, trees, args.pairs)
        for title, outcomes in (
            (f"kill -9 at a random moment ({args.trials} trials)", kills),
            (f"two compiles at once ({args.pairs} pairs)", pairs),
        ):
            print(title)
            for outcome, count in sorted(outcomes.items()):
                print(f"  {count:4d}  {outcome}")
                failed |= any(word in outcome for word in ("MIXED", "NOT", "LEFTOVERS"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
