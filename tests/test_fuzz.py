"""Mutation fuzzing (see tests/fuzzing.py): a few hundred seeded cases of mutated projects, each
run through the CLI in-process, must keep the exit-code, message and no-writes contract.

A failure names each failing seed; `python bench/fuzz.py --seed N` replays it and keeps its folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .fuzzing import build_case, corpus, run_case, run_cli, unmutated, write_files

CASES = 300
# Seeds that found bugs (each fixed, each with a test of its own in test_hardening.py): a glob
# longer than a file name may be (exit 3), an opted-in Deployment of another API (wired anyway), a
# 50,000-character label that the URL-password scan took 17 s over (its pattern backtracked).
REGRESSIONS = (1476, 2855, 3120, 5882, 3808, 8569, 201329)


def test_the_corpus_is_valid(tmp_path: Path) -> None:
    """Every starting project compiles as it is: the mutations, not the corpus, make inputs invalid."""
    wrong = []
    for index, base in enumerate(corpus()):
        project = tmp_path / str(index)
        write_files(project, unmutated(base, seed=index))
        code, _, stderr, _ = run_cli(["compile"], project)
        errors = [line for line in stderr.splitlines() if ": warning: " not in line]  # allowed skips warn
        if code != 1 or errors:  # 1: the tree was created
            wrong.append(f"{base.name}: exit {code}\n{stderr}")
    assert not wrong, "\n".join(wrong)


def test_cases_are_deterministic() -> None:
    for seed in (0, 1, 12345):
        assert build_case(seed) == build_case(seed)


def test_mutated_projects_keep_the_contract(tmp_path: Path) -> None:
    failed = []
    for seed in (*range(CASES), *REGRESSIONS):
        outcome = run_case(seed, tmp_path / str(seed), schemas=True)
        if outcome.failed:
            failed.append(outcome)
    if failed:
        pytest.fail(
            f"{len(failed)} of {CASES + len(REGRESSIONS)} cases failed:\n\n"
            + "\n\n".join(outcome.report() for outcome in failed),
            pytrace=False,
        )
