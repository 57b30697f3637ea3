"""The compile cache never changes an answer: after any sequence of edits (to the specs, the
project file, the tree, the record itself), a compile or check that uses it reports and writes
exactly what one without it does; and a no-change check answers without loading the library."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import lmcache_gitops as lg
from lmcache_gitops.files import cache, treeio
from lmcache_gitops.naming import HEADER

from .helpers import dump_all, resource, write_project

ENVIRONMENTS: dict[str, Any] = {
    "dev": {"namespace": "dev", "overrides": {"cache": {"spec": {"l1": {"sizeGB": 5}}}}},
    "prod": {"namespace": "prod"},
}
SPEC = "specs/specs.yaml"


def _project(folder: Path) -> Path:
    documents = [
        resource("LMCacheEngine", name="cache", namespace=None, **{"coordinator.ref.name": "coord"}),
        resource("LMCacheCoordinator", name="coord", namespace=None),
    ]
    return write_project(folder, documents, ENVIRONMENTS)


def _tree(folder: Path) -> dict[str, str]:
    return {path: text for path, file, _ in treeio.tree_files(folder) if (text := treeio.read_owned(file)) is not None}


def _some_tree_file(folder: Path, index: int) -> Path:
    files = sorted(file for _, file, _ in treeio.tree_files(folder))
    return Path(files[index % len(files)])


def _edit(folder: Path, edit: tuple[str, int]) -> None:
    """One change a user, git or another tool might make between two compiles."""
    what, number = edit
    spec, project = folder / SPEC, folder / "lmcache-gitops.yaml"
    if what == "size":
        spec.write_text(re.sub(r"sizeGB: [0-9.]+", f"sizeGB: {number % 7 + 1}", spec.read_text(), count=1))
    elif what == "environment":
        project.write_text(project.read_text().replace("namespace: prod", f"namespace: prod{number % 3}"))
    elif what == "rewrite-same":  # a checkout rewrites the bytes it had: new stat, same text
        file = _some_tree_file(folder, number)
        file.write_bytes(file.read_bytes())
    elif what == "flip-byte":  # same size, other bytes
        file = _some_tree_file(folder, number)
        data = bytearray(file.read_bytes())
        data[-2] = ord("x") if data[-2] != ord("x") else ord("y")
        file.write_bytes(bytes(data))
    elif what == "delete":
        _some_tree_file(folder, number).unlink()
    elif what == "stray":  # a generated-looking file the project does not make: pruned by a compile
        (folder / "overlays" / "dev" / f"stray-{number}.yaml").write_text(HEADER + "kind: Stray\n")
    elif what == "garble-record":
        for record in (folder / treeio.STATE / cache.CACHE).glob("*.json"):
            record.write_text(record.read_text()[: number % 50])


EDITS = st.tuples(
    st.sampled_from(["size", "environment", "rewrite-same", "flip-byte", "delete", "stray", "garble-record"]),
    st.integers(0, 100),
)


@settings(max_examples=12, deadline=None)
@given(st.lists(EDITS, min_size=1, max_size=4), st.booleans())
def test_a_compile_or_check_with_the_cache_answers_as_one_without_it(
    tmp_path_factory: Any, edits: list[tuple[str, int]], rendered: bool
) -> None:
    folder = tmp_path_factory.mktemp("cached")
    project = _project(folder)
    lg.compile_project(project)
    for edit in edits:
        _edit(folder, edit)
        with_cache = lg.check_project(project, rendered=rendered)
        without = lg.check_project(project, rendered=rendered, cache=False)
        assert [(c.path, c.change, c.old, c.new) for c in with_cache.changes] == [
            (c.path, c.change, c.old, c.new) for c in without.changes
        ]
        assert with_cache.warnings == without.warnings
        lg.compile_project(project, rendered=rendered)
        assert lg.check_project(project, rendered=rendered, cache=False).up_to_date
        assert lg.compile_project(project, rendered=rendered).up_to_date  # from the record now
    fresh = tmp_path_factory.mktemp("fresh")
    shutil.copytree(folder, fresh, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*treeio.TOP_FOLDERS, treeio.STATE))
    lg.compile_project(fresh / "lmcache-gitops.yaml", rendered=rendered, cache=False)
    assert _tree(folder) == _tree(fresh)


def test_a_no_change_check_answers_from_the_record_without_loading_the_library(tmp_path: Path) -> None:
    _project(tmp_path)
    probe = (
        "import sys; from lmcache_gitops.cli import main; code = main(['compile', '--check']); "
        "print(code, 'lmcache_gitops.api' in sys.modules, 'pydantic' in sys.modules)"
    )
    compiled = subprocess.run([sys.executable, "-m", "lmcache_gitops", "compile"], cwd=tmp_path, check=False)
    assert compiled.returncode == 1  # the tree written, and its record (files named as this command names them)
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout.split()[-3:] == ["0", "False", "False"], done.stdout + done.stderr
    _edit(tmp_path, ("size", 100))
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout.split()[-3:] == ["1", "True", "True"]  # an input changed: a whole compile
    assert "out of date" in done.stdout


def test_the_secret_scan_asks_detect_secrets_only_about_strings_no_compile_has_seen(tmp_path: Path) -> None:
    project = _project(tmp_path)
    probe = (
        "import sys; from lmcache_gitops.cli import main; code = main(['compile']); "
        "print(code, 'detect_secrets' in sys.modules)"
    )

    def compile_() -> list[str]:
        done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
        return [*done.stdout.split()[-2:], done.stdout + done.stderr]

    spec = tmp_path / SPEC
    spec.write_text(spec.read_text().replace("spec:\n", "spec:\n  extraArgs: ['--log-level=DEBUG']\n", 1))
    assert compile_()[:2] == ["1", "True"]  # the first compile scans every string
    _edit(tmp_path, ("size", 3))
    assert compile_()[:2] == ["1", "False"]  # a number changed: every string has its verdict
    spec.write_text(spec.read_text().replace("--log-level=DEBUG", "--key=AKIAIOSFODNN7EXAMPLE"))
    code, loaded, output = compile_()
    assert (code, loaded) == ("1", "True")
    assert "spec.extraArgs[0]: looks like a secret (AWS Access Key)" in output
    assert cache.verdicts(project)  # kept by the last good compile, for the scanner that gave them
    record = tmp_path / treeio.STATE / cache.CACHE / f"{project.name}.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "scanner": "another"}))
    (tmp_path / treeio.STATE / cache.CACHE / f"{project.name}.changes.json").unlink(missing_ok=True)
    assert cache.verdicts(project) == {}


def test_a_compile_after_a_change_writes_only_the_records_changes(tmp_path: Path) -> None:
    project = _project(tmp_path)
    for number in range(12):  # one engine per file: a change to one is a small part of the record
        engine = resource("LMCacheEngine", name=f"cache-{number}", namespace=None)
        (tmp_path / "specs" / f"cache-{number}.yaml").write_text(dump_all([engine]))
    lg.compile_project(project)
    records = tmp_path / treeio.STATE / cache.CACHE
    whole = {path.name: path.read_bytes() for path in records.iterdir()}
    edited = tmp_path / "specs" / "cache-3.yaml"
    edited.write_text(edited.read_text().replace("sizeGB: ", "sizeGB: 1"))
    assert not lg.compile_project(project).up_to_date
    assert {path.name: path.read_bytes() for path in records.iterdir() if path.name in whole} == whole
    changes = sorted(path.name for path in records.iterdir() if path.name not in whole)
    assert changes == [f"{project.name}.changes.json", f"{project.name}.last.changes.json"]
    for name in changes:
        assert len((records / name).read_bytes()) * 4 < len(whole[name.replace(".changes", "")])
    merged = cache.read(project)
    shutil.rmtree(records)
    assert lg.compile_project(project).up_to_date  # a whole record of the same tree
    assert list(records.iterdir()) != [] and not any(".changes." in path.name for path in records.iterdir())
    rewritten = cache.read(project)
    assert merged is not None and rewritten is not None
    assert {**merged, "generation": ""} == {**rewritten, "generation": ""}


def test_changes_of_another_record_are_never_merged(tmp_path: Path) -> None:
    project = _project(tmp_path)
    lg.compile_project(project)
    _edit(tmp_path, ("size", 7))
    lg.compile_project(project)
    records = tmp_path / treeio.STATE / cache.CACHE
    stale = (records / f"{project.name}.changes.json").read_bytes()
    merged = cache.read(project)
    whole = {**json.loads((records / f"{project.name}.json").read_text()), "generation": "another"}
    assert merged is not None and merged["digest"] != whole["digest"]  # the changes hold the new digest
    (records / f"{project.name}.json").write_text(json.dumps(whole))
    assert cache.read(project) == whole  # the changes name another generation: not merged
    (records / f"{project.name}.changes.json").write_bytes(stale[:-2])
    assert cache.read(project) is None  # changes that cannot be read: no record
    assert lg.compile_project(project).up_to_date


def test_a_record_of_another_version_or_options_is_never_used(tmp_path: Path) -> None:
    project = _project(tmp_path)
    lg.compile_project(project)
    options = cache.options(allow_skip=False, rendered=False)
    assert cache.cached_report(project, options, check=True) is not None
    assert cache.cached_report(project, cache.options(allow_skip=False, rendered=True), check=True) is None
    record = tmp_path / treeio.STATE / cache.CACHE / f"{project.name}.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "format": 0}))
    assert cache.cached_report(project, options, check=True) is None


def test_a_compile_refreshes_the_stat_of_a_file_rewritten_with_the_same_bytes(tmp_path: Path) -> None:
    project = _project(tmp_path)
    lg.compile_project(project)
    file = _some_tree_file(tmp_path, 0)
    file.write_bytes(file.read_bytes())  # as a checkout does
    records = tmp_path / treeio.STATE / cache.CACHE
    kept = {path.name: path.read_bytes() for path in records.iterdir()}
    options = cache.options(allow_skip=False, rendered=False)
    assert cache.cached_report(project, options, check=True) is not None  # read, hashed, the same
    assert {path.name: path.read_bytes() for path in records.iterdir()} == kept  # a check writes nothing
    assert lg.compile_project(project).up_to_date
    info = file.stat()
    stamp = f"{info.st_size} {info.st_mtime_ns} {info.st_ctime_ns} {info.st_ino}"
    record = cache.read(project)
    assert record is not None
    assert record["files"][file.relative_to(tmp_path).as_posix()].split(" ", 1)[1] == stamp  # type: ignore[index]
