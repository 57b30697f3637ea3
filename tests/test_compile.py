"""`compile`, `compile --check` and `init`: what is written, pruned, reported, and never touched."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

import lmcache_gitops as lg
from lmcache_gitops.files import treeio
from lmcache_gitops.naming import HEADER

from .helpers import ROOT, resource, run, write_project

ENVIRONMENTS: dict[str, Any] = {
    "dev": {"namespace": "dev", "overrides": {"cache": {"spec": {"l1": {"sizeGB": 5}}}}},
    "prod": {"namespace": "prod"},
}


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    documents = [
        resource("LMCacheEngine", name="cache", namespace=None),
        resource("LMCacheCoordinator", name="coord", namespace=None),
    ]
    return write_project(tmp_path, documents, ENVIRONMENTS)


def test_compile_writes_the_tree_then_reports_it_up_to_date(project: Path) -> None:
    first = run("compile", cwd=project.parent)
    assert first.returncode == 1, first.stderr
    assert "  created  overlays/dev/cache/cache/patches/daemonset.cache.yaml" in first.stdout.splitlines()
    assert "  created  bases/coord/deployment.coord.yaml" in first.stdout.splitlines()
    tree = _files(project.parent / "overlays")
    second = run("compile", cwd=project.parent)
    assert (second.returncode, second.stdout) == (0, "lmcache-gitops: the tree is up to date\n")
    assert _files(project.parent / "overlays") == tree
    assert run("compile", "--check", cwd=project.parent).returncode == 0


def test_every_file_carries_the_header_and_one_object(project: Path) -> None:
    lg.compile_project(project)
    for path in [*(project.parent / "bases").rglob("*.yaml"), *(project.parent / "overlays").rglob("*.yaml")]:
        text = path.read_text()
        assert text.startswith(HEADER), path
        documents = list(yaml.safe_load_all(text))
        assert len(documents) == 1, path
        if path.name != "kustomization.yaml":
            assert path.name == f"{documents[0]['kind'].lower()}.{documents[0]['metadata']['name']}.yaml"


def test_kustomizations_use_current_fields_in_kustomize_order(project: Path) -> None:
    lg.compile_project(project)
    environment = yaml.safe_load((project.parent / "overlays/dev/kustomization.yaml").read_text())
    assert environment["resources"] == ["cache"]  # no workloads: one tier
    tier = yaml.safe_load((project.parent / "overlays/dev/cache/kustomization.yaml").read_text())
    assert list(tier) == ["apiVersion", "kind", "resources"]  # a folder per resource, transforming nothing
    assert tier["resources"] == ["cache", "coord"]
    overlay = yaml.safe_load((project.parent / "overlays/dev/cache/cache/kustomization.yaml").read_text())
    assert list(overlay) == ["apiVersion", "kind", "resources", "namespace", "patches"]
    assert overlay["resources"] == ["../../../../bases/cache"]
    assert overlay["patches"] == [
        {"path": "patches/configmap.cache-connection.yaml"},
        {"path": "patches/daemonset.cache.yaml"},
    ]
    # The coordinator's objects hold no namespace in strings and dev overrides nothing of it: no patch.
    coord = yaml.safe_load((project.parent / "overlays/dev/cache/coord/kustomization.yaml").read_text())
    assert coord == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["../../../../bases/coord"],
        "namespace": "dev",
    }
    labelled = write_project(
        project.parent,
        [resource("LMCacheEngine", name="cache", namespace=None)],
        {"x": {"namespace": "x", "labels": {"team": "a"}, "annotations": {"o": "p"}}},
    )
    lg.compile_project(labelled)
    overlay = yaml.safe_load((project.parent / "overlays/x/cache/cache/kustomization.yaml").read_text())
    assert list(overlay) == ["apiVersion", "kind", "resources", "namespace", "labels", "commonAnnotations", "patches"]
    assert overlay["labels"] == [{"pairs": {"team": "a"}}]  # includeSelectors stays false: selectors are immutable


def test_check_names_each_stale_file_and_field_and_writes_nothing(project: Path) -> None:
    lg.compile_project(project)
    before = _files(project.parent)
    text = project.read_text().replace("sizeGB: 5", "sizeGB: 7")
    project.write_text(text)
    result = run("compile", "--check", cwd=project.parent)
    assert result.returncode == 1
    assert "  changed  overlays/dev/cache/cache/patches/daemonset.cache.yaml" in result.stdout
    assert (
        '      spec.template.spec.containers[lmcache].args: replaced "5.0" with "7.0" after "--l1-size-gb"'
        in result.stdout
    )
    assert "      spec.template.spec.containers[lmcache].resources.requests.memory: 10Gi -> 12Gi" in result.stdout
    assert result.stdout.endswith("Run `lmcache-gitops compile` to update it.\n")
    assert _files(project.parent) == {**before, "lmcache-gitops.yaml": text}

    report = json.loads(run("compile", "--check", "--format", "json", cwd=project.parent).stdout)
    assert report["upToDate"] is False and report["written"] is False
    [changed] = report["files"]
    assert changed["path"] == "overlays/dev/cache/cache/patches/daemonset.cache.yaml" and changed["change"] == "changed"
    assert {
        "path": "spec.template.spec.containers[lmcache].args",
        "change": "replaced",
        "old": ["5.0"],
        "new": ["7.0"],
        "after": "--l1-size-gb",
    } in changed["fields"]


def test_problems_come_as_json_too(project: Path) -> None:
    project.write_text(project.read_text().replace("sizeGB: 5", "sizeGB: -5"))
    result = run("compile", "--format", "json", cwd=project.parent)
    assert result.returncode == 1
    [problem] = json.loads(result.stdout)["problems"]
    assert (
        problem["file"] == "lmcache-gitops.yaml"
        and problem["path"] == "environments.dev.overrides.cache.spec.l1.sizeGB"
    )
    assert not (project.parent / "bases").exists()


def test_prune_deletes_only_generated_files_and_emptied_folders(project: Path) -> None:
    lg.compile_project(project)
    mine = project.parent / "overlays/dev/cache/cache/patches/extra.yaml"
    mine.write_text("# my own patch\n")
    write_project(project.parent, [resource("LMCacheEngine", name="cache", namespace=None)], ENVIRONMENTS)
    report = lg.compile_project(project)
    deleted = sorted(c.path for c in report.changes if c.change == "deleted")
    assert deleted == [
        "bases/coord/deployment.coord.yaml",
        "bases/coord/kustomization.yaml",
        "bases/coord/service.coord.yaml",
        "overlays/dev/cache/coord/kustomization.yaml",
        "overlays/prod/cache/coord/kustomization.yaml",
    ]
    assert not (project.parent / "bases/coord").exists() and not (project.parent / "overlays/dev/cache/coord").exists()
    assert mine.read_text() == "# my own patch\n"
    assert lg.check_project(project).up_to_date


def test_a_file_it_did_not_generate_is_never_overwritten(project: Path) -> None:
    target = project.parent / "bases/cache/daemonset.cache.yaml"
    target.parent.mkdir(parents=True)
    target.write_text("kind: Mine\n")
    result = run("compile", cwd=project.parent)
    assert result.returncode == 1
    assert (
        "bases/cache/daemonset.cache.yaml:1: was not generated by lmcache-gitops and would be overwritten"
        in result.stderr
    )
    assert target.read_text() == "kind: Mine\n"
    assert sorted(p.name for p in (project.parent / "bases").rglob("*")) == ["cache", "daemonset.cache.yaml"]


@pytest.mark.parametrize("link", ["overlays", "overlays/dev/cache/cache"])
def test_never_writes_through_a_link_out_of_the_output_folder(
    project: Path, tmp_path_factory: pytest.TempPathFactory, link: str
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (project.parent / link).parent.mkdir(parents=True, exist_ok=True)
    (project.parent / link).symlink_to(outside)
    with pytest.raises(lg.InvalidInput, match="would be written outside") as err:
        lg.compile_project(project)
    assert list(outside.iterdir()) == []
    assert all(f"/{link}/" in problem.source for problem in err.value.problems)


def test_a_link_that_stays_inside_the_output_folder_is_written_through(project: Path) -> None:
    (project.parent / "elsewhere").mkdir()
    (project.parent / "overlays").symlink_to("elsewhere")
    lg.compile_project(project)
    assert (project.parent / "elsewhere/dev/cache/kustomization.yaml").is_file()


@pytest.mark.parametrize("inside", [False, True])
def test_files_to_delete_behind_a_link_are_deleted_only_inside_the_output_folder(
    project: Path, tmp_path_factory: pytest.TempPathFactory, inside: bool
) -> None:
    lg.compile_project(project, rendered=True)
    target = project.parent / "elsewhere" if inside else tmp_path_factory.mktemp("outside") / "rendered"
    (project.parent / "rendered").rename(target)
    (project.parent / "rendered").symlink_to(target)
    before = sorted(target.rglob("*"))
    if inside:  # dropping rendered/ deletes its files through the link, and keeps the link
        lg.compile_project(project)
        assert list(target.rglob("*.yaml")) == [] and (project.parent / "rendered").is_symlink()
        assert lg.check_project(project).up_to_date
        return
    with pytest.raises(lg.InvalidInput, match="would be deleted outside") as err:
        lg.compile_project(project)
    assert sorted(target.rglob("*")) == before and len(err.value.problems) == len(list(target.rglob("*.yaml")))


def _tree(folder: Path) -> dict[str, str]:
    """The generated tree below ``folder``: bases/ and overlays/."""
    return {k: v for k, v in _files(folder).items() if k.startswith(("bases/", "overlays/"))}


def _grow(project: Path) -> None:
    """A change to every environment: a bigger cache, and prod moved to another namespace."""
    text = project.read_text().replace("sizeGB: 5", "sizeGB: 9").replace("namespace: prod", "namespace: prod2")
    project.write_text(text)


def _killed_at_second_move(project: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Compile ``project``, killed as it makes its second move into the tree (after the journal,
    the commit point); the moves it made or began, below the project's folder."""
    moved: list[str] = []
    real_replace = os.replace

    def killed_replace(source: Any, target: Any) -> None:
        if not str(target).endswith("journal.json"):
            moved.append(Path(target).relative_to(project.parent).as_posix())
            if len(moved) == 2:
                raise KeyboardInterrupt
        return real_replace(source, target)

    monkeypatch.setattr(treeio.os, "replace", killed_replace)
    with pytest.raises(KeyboardInterrupt):
        lg.compile_project(project)
    monkeypatch.undo()
    return moved


def _fresh_tree(project: Path, tmp_path: Path) -> dict[str, str]:
    """The tree a first compile of a copy of ``project``'s inputs writes."""
    fresh = tmp_path / "fresh"
    shutil.copytree(project.parent, fresh, ignore=shutil.ignore_patterns("bases", "overlays", treeio.STATE))
    lg.compile_project(fresh / "lmcache-gitops.yaml")
    return _tree(fresh)


def test_a_compile_that_fails_while_staging_changes_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lg.compile_project(project)
    before = _tree(project.parent)
    _grow(project)
    calls = {"n": 0}
    real_write = treeio._write_file

    def failing_write(path: str, text: str, made: set[str]) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # the third staged file: two are staged already
            raise OSError(28, "No space left on device")
        real_write(path, text, made)

    monkeypatch.setattr(treeio, "_write_file", failing_write)
    with pytest.raises(OSError):
        lg.compile_project(project)
    monkeypatch.undo()
    assert _tree(project.parent) == before
    assert lg.check_project(project).changes  # the old tree, whole: --check compares it as usual
    assert len(lg.compile_project(project).changes) >= 3
    assert not (project.parent / treeio.STATE / "staging").exists()


def test_a_compile_killed_after_its_commit_point_is_completed_by_the_next(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lg.compile_project(project)
    _grow(project)
    _killed_at_second_move(project, monkeypatch)  # one file moved into place, the rest still staged
    assert treeio.interrupted(project.parent)
    assert len(json.loads((project.parent / treeio.STATE / "journal.json").read_text())["put"]) > 1
    check = run("compile", "--check", cwd=project.parent)
    assert (
        check.returncode == 1 and "was interrupted" in check.stderr and "run `lmcache-gitops compile`" in check.stderr
    )
    lg.compile_project(project)  # completes the interrupted one first
    assert not treeio.interrupted(project.parent)
    assert _tree(project.parent) == _fresh_tree(project, tmp_path)
    assert lg.check_project(project).up_to_date


def test_a_first_compile_moves_new_folders_whole_and_a_kill_among_them_is_completed(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved = _killed_at_second_move(project, monkeypatch)  # one folder in place, the others still staged
    assert moved == ["bases", "overlays"]  # folders, not their files one by one
    assert json.loads((project.parent / treeio.STATE / "journal.json").read_text())["folders"] == ["bases", "overlays"]
    assert lg.compile_project(project).up_to_date  # completed first: nothing else to write
    assert _tree(project.parent) == _fresh_tree(project, tmp_path)


def test_a_second_compile_waits_for_the_lock_then_names_its_holder(project: Path) -> None:
    lg.compile_project(project)
    state = project.parent / treeio.STATE
    with treeio.locked(project.parent):
        result = run("compile", "--lock-timeout", "0.2", cwd=project.parent)
    assert result.returncode == 1
    assert f"holds its lock (pid {os.getpid()} on " in result.stderr and "waited 0.2 s" in result.stderr
    assert (state / ".gitignore").read_text().splitlines()[-1] == "*"  # git never sees the lock
    assert run("compile", cwd=project.parent).returncode == 0


def test_two_compiles_at_once_leave_one_whole_tree(project: Path, tmp_path: Path) -> None:
    lg.compile_project(project)
    _grow(project)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: run("compile", cwd=project.parent), range(2)))
    assert sorted(r.returncode for r in results) == [0, 1], [r.stderr for r in results]  # one wrote, one found it done
    assert not any("internal error" in r.stderr for r in results)
    assert lg.check_project(project).up_to_date
    state = project.parent / treeio.STATE
    assert sorted(p.name for p in state.iterdir()) == [".gitignore", "cache", "lock"]
    records = {p.name for p in (state / "cache").iterdir()}  # no half-written record: each whole, or its changes
    assert (
        {"lmcache-gitops.yaml.json", "lmcache-gitops.yaml.last.json"}
        <= records
        <= {
            "lmcache-gitops.yaml.json",
            "lmcache-gitops.yaml.changes.json",
            "lmcache-gitops.yaml.last.json",
            "lmcache-gitops.yaml.last.changes.json",
        }
    )


def test_files_that_look_like_ours_are_never_touched(project: Path) -> None:
    lg.compile_project(project)
    lookalike = project.parent / "overlays/dev/.lmcache-gitops-abc.tmp"
    lookalike.write_text("mine")
    _grow(project)
    lg.compile_project(project)
    assert lookalike.read_text() == "mine"


def test_the_tree_reader_opens_only_regular_files(project: Path) -> None:
    lg.compile_project(project)
    folder = project.parent
    (folder / "bases/zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(folder / "overlays/dev/pipe.yaml")
    (folder / "bases/big.yaml").write_text(HEADER + "x" * treeio.MAX_TREE_FILE)
    assert lg.check_project(project).up_to_date  # none of them is ours: not read, not pruned
    _grow(project)
    assert lg.compile_project(project).changes
    assert (folder / "bases/zero.yaml").is_symlink() and (folder / "overlays/dev/pipe.yaml").is_fifo()
    generated = next(iter(sorted((folder / "bases/cache").glob("daemonset.*.yaml"))))
    generated.unlink()
    generated.symlink_to("/dev/zero")
    with pytest.raises(lg.InvalidInput, match="was not generated by lmcache-gitops"):
        lg.compile_project(project)


def test_a_journal_never_leads_out_of_the_tree(project: Path, tmp_path: Path) -> None:
    lg.compile_project(project)
    victim = tmp_path / "victim.yaml"
    victim.write_text(HEADER + "kind: Keep\n")
    journal = {"put": ["../victim.yaml", "/etc/passwd"], "delete": ["../victim.yaml", "bases/../../victim.yaml"]}
    (project.parent / treeio.STATE / "journal.json").write_text(json.dumps(journal))
    lg.compile_project(project)
    assert victim.read_text() == HEADER + "kind: Keep\n"
    assert not treeio.interrupted(project.parent)


def test_spec_names_cannot_lead_out_of_the_tree(tmp_path: Path) -> None:
    bad = resource("LMCacheEngine", name="../../escape", namespace=None)
    project = write_project(tmp_path / "p", [bad], {"dev": {"namespace": "dev"}})
    result = run("compile", cwd=project.parent)
    assert result.returncode == 1 and "metadata.name: must be a lowercase RFC 1123 subdomain" in result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["lmcache-gitops.yaml", "p", "specs", "specs.yaml"]


def test_render_env_gives_the_environment(project: Path) -> None:
    result = run("render", "--env", "dev", cwd=project.parent)
    assert result.returncode == 0, result.stderr
    assert list(yaml.safe_load_all(result.stdout)) == lg.render_environment("dev", project)
    assert all(o["metadata"]["namespace"] == "dev" for o in yaml.safe_load_all(result.stdout))


def test_init_scaffolds_a_project_that_is_up_to_date(tmp_path: Path) -> None:
    result = run("init", str(tmp_path / "new"))
    assert result.returncode == 0, result.stderr
    assert lg.check_project(tmp_path / "new" / "lmcache-gitops.yaml").up_to_date
    assert {p.name for p in (tmp_path / "new" / "overlays").iterdir()} == {"dev", "prod"}
    again = run("init", str(tmp_path / "new"))
    assert (
        again.returncode == 1
        and "already holds bases/, lmcache-gitops.schema.json, lmcache-gitops.yaml" in again.stderr
    )


def test_init_fits_an_existing_repository_and_its_hooks_pass(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "README.md").write_text("# Our platform\n")
    (tmp_path / ".gitignore").write_text(".venv/\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.yaml").write_text("not: a spec\n")  # outside the globs: no collision
    result = run("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "README.md").read_text() == "# Our platform\n"
    spec = (tmp_path / "specs" / "lmcache.yaml").read_text()
    assert spec.startswith("# yaml-language-server: $schema=../lmcache.schema.json\n")
    assert (tmp_path / "lmcache.schema.json").read_text() == run("schema").stdout
    assert (tmp_path / "lmcache-gitops.schema.json").read_text() == run("schema", "project").stdout
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env["PRE_COMMIT_HOME"] = str(tmp_path / ".cache")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    hooks = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert hooks.returncode == 0, hooks.stdout + hooks.stderr
    assert "compile the LMCache Kustomize tree" in hooks.stdout and "Passed" in hooks.stdout


def test_init_keeps_a_repositorys_own_pre_commit_config(tmp_path: Path) -> None:
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n")
    result = run("init", cwd=tmp_path)
    assert result.returncode == 0 and "Kept your .pre-commit-config.yaml" in result.stdout
    assert (tmp_path / ".pre-commit-config.yaml").read_text() == "repos: []\n"
    for taken in ("specs", "bases"):
        other = tmp_path / taken
        (other.parent / f"{taken}-case").mkdir()
        (other.parent / f"{taken}-case" / taken).mkdir()
        clash = run("init", cwd=other.parent / f"{taken}-case")
        assert clash.returncode == 1 and f"already holds {taken}/" in clash.stderr


def test_the_readme_pins_hooks_at_a_commit_that_exists() -> None:
    [rev] = re.findall(r"^  rev: ([0-9a-f]{40})", (ROOT / "README.md").read_text(), re.M)
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    found = subprocess.run(["git", "cat-file", "-e", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True)
    assert found.returncode == 0, f"the README's rev {rev} is no commit of this repository"


def test_the_committed_example_tree_is_up_to_date() -> None:
    report = lg.check_project(ROOT / "lmcache-gitops.yaml")
    assert report.up_to_date, report.text()


def _hook_repository(folder: Path) -> Path:
    """This repository's files as git sees them (tracked or not ignored), committed in ``folder``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        if (ROOT / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "hooks"]):
        subprocess.run(command, cwd=folder, env=env, capture_output=True, check=True)
    return folder


@pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")
def test_pre_commit_hooks_fix_then_pass(tmp_path: Path) -> None:
    """The real pre-commit runs the hooks of .pre-commit-hooks.yaml against a project repository."""
    pytest.importorskip("pre_commit")
    repo = tmp_path / "repo"
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }

    def sh(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, check=False)

    hooks = _hook_repository(tmp_path / "hooks")
    assert run("init", str(repo)).returncode == 0
    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=hooks, capture_output=True, text=True, check=True)
    hook_ids = "".join(f"  - id: {name}\n" for name in ("lmcache-gitops-check", "lmcache-gitops-compile"))
    config = f"repos:\n- repo: {hooks}\n  rev: {revision.stdout.strip()}\n  hooks:\n{hook_ids}"
    (repo / ".pre-commit-config.yaml").write_text(config)
    assert sh("git", "init", "-q").returncode == 0
    sh("git", "add", "-A")
    assert sh("git", "commit", "-qm", "project").returncode == 0
    (repo / "lmcache-gitops.yaml").write_text(
        (repo / "lmcache-gitops.yaml").read_text().replace("sizeGB: 10", "sizeGB: 12")
    )
    sh("git", "add", "-A")

    def hook(hook_id: str) -> subprocess.CompletedProcess[str]:
        # One pinned revision in PRE_COMMIT_HOME: pre-commit installs the hooks' environment once.
        return sh(sys.executable, "-m", "pre_commit", "run", hook_id)

    check = hook("lmcache-gitops-check")
    assert (
        check.returncode == 1 and "changed  overlays/dev/cache/kv-cache/patches/daemonset.kv-cache.yaml" in check.stdout
    ), check.stdout + check.stderr
    fix = hook("lmcache-gitops-compile")
    assert fix.returncode == 1 and "files were modified by this hook" in fix.stdout, fix.stdout + fix.stderr
    sh("git", "add", "-A")
    assert hook("lmcache-gitops-compile").returncode == 0
    assert hook("lmcache-gitops-check").returncode == 0
