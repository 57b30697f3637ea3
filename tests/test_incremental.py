"""A compile after a change, made from the last compile's tree (gitops/incremental.py), gives
exactly the tree a whole compile gives: over random projects and random sequences of edits, and
through `compile` with its cache."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import lmcache_gitops as lg
from lmcache_gitops import api
from lmcache_gitops.api import _project_document, _settings, _tree_path
from lmcache_gitops.errors import InvalidInput
from lmcache_gitops.files import cache, treeio
from lmcache_gitops.gitops import incremental
from lmcache_gitops.gitops.drift import hashes
from lmcache_gitops.gitops.environments import build_project
from lmcache_gitops.gitops.tree import Tree, build_tree
from lmcache_gitops.inject.deploy import compile_fleet
from lmcache_gitops.models.project_file import Project
from lmcache_gitops.naming import HEADER
from lmcache_gitops.read import inputs as reading
from lmcache_gitops.read.source import Source
from lmcache_gitops.read.yamlio import Document, dump_all

from .helpers import resource, workload, write_project
from .test_roundtrip import COORDINATOR, ENGINE, FIXTURE_SPECS, IN_PROCESS, ROUTER, _cleaned, _delivery, projects

FIELDS = {"LMCacheEngine": ENGINE, "CacheBlendEngine": ENGINE, "LMCacheCoordinator": COORDINATOR}
FIELDS |= {"VllmRouter": ROUTER, **IN_PROCESS}
# The names projects() gives: a second fleet is the same with an x after each.
_NAMES = re.compile(r"\b(coord|engine\d|vllm\d|router|pool-prefill|pool-decode|store|in-process|vllm-ip)\b")


def _second(value: Any) -> Any:
    return json.loads(_NAMES.sub(lambda m: m.group(0) + "x", json.dumps(value)))


class InMemory:
    """A project in memory: its settings, and each input file's documents."""

    def __init__(self, settings: dict[str, Any], files: dict[str, list[dict[str, Any]]]) -> None:
        self.document: Document = _project_document(Source("lmcache-gitops.yaml", dump_all([settings])))
        self.settings: Project = _settings(self.document)
        self.files = files
        self.shifted: set[str] = set()  # files with a comment line above their documents

    def texts(self) -> dict[str, str]:
        comment = "# moved down a line\n"
        return {
            name: (comment if name in self.shifted else "") + dump_all(_cleaned(documents))
            for name, documents in self.files.items()
        }

    def whole(self, texts: dict[str, str], rendered: bool) -> tuple[Tree, incremental.Entries]:
        """What a whole compile makes; raises InvalidInput as it does."""
        inputs, problems = reading.load([Source(n, t) for n, t in texts.items()], self.settings.namespace)
        if problems:
            raise InvalidInput(problems)
        build = build_project(self.settings, self.document, inputs, tree=_tree_path(self.settings))
        return build_tree(build, rendered=rendered), incremental.entries(inputs.resources, inputs.manifests)


@st.composite
def two_fleets(draw: st.DrawFn) -> InMemory:
    """Two projects' documents side by side (the second's names with an x), in up to three files,
    with both projects' overrides and the first one's delivery."""
    first, environments = draw(projects())
    documents = [*first, *_second(draw(projects())[0])] if draw(st.booleans()) else first
    more = _second(draw(projects())[1])
    for env, settings_ in environments.items():
        if "include" not in settings_:
            settings_["overrides"] = {**settings_["overrides"], **more[env]["overrides"]}
    names = ["specs/a.yaml", "specs/b.yaml", "workloads/c.yaml"]
    files: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        files.setdefault(draw(st.sampled_from(names)), []).append(document)
    delivery = draw(_delivery(sorted(environments)))
    return InMemory({"environments": environments, **delivery}, dict(sorted(files.items())))


@st.composite
def edit(draw: st.DrawFn, project: InMemory) -> str:
    """Change the project as a user would, and say how: a field of a spec, a workload's engine or
    arguments, a file moved down a line, a document renamed."""
    name = draw(st.sampled_from(sorted(project.files)))
    documents = project.files[name]
    index = draw(st.integers(0, len(documents) - 1))
    document = documents[index] = copy.deepcopy(documents[index])
    how = draw(st.sampled_from(["field", "field", "field", "shift", "rename"]))
    if how == "shift":
        project.shifted ^= {name}
        return how
    if how == "rename":
        document["metadata"]["name"] += "r"
        return how
    kind = document["kind"]
    if kind in FIELDS:
        field = draw(st.sampled_from(sorted(FIELDS[kind])))
        document.setdefault("spec", {})[field] = draw(FIELDS[kind][field])
        return f"{kind}.{field}"
    template = document.get("spec", {}).get("template") or document.get("spec", {}).get("jobTemplate")
    text = json.dumps(document)
    engines = sorted(
        d["metadata"]["name"] for found in project.files.values() for d in found if d["kind"].endswith("Engine")
    )
    if template is not None and "-engine" in text and engines and draw(st.booleans()):
        other = draw(st.sampled_from(engines))  # maybe of the other kind, or the other fleet
        document.update(json.loads(re.sub(r'(-engine": ")[^"]+', rf"\g<1>{other}", text)))
        return "rewired"
    document.setdefault("metadata", {}).setdefault("labels", {})["edited"] = str(draw(st.integers(0, 2)))
    return "labelled"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(two_fleets(), st.booleans(), st.data())
def test_any_sequence_of_edits_recompiles_to_the_whole_compile(
    project: InMemory, rendered: bool, data: st.DataObject
) -> None:
    texts = project.texts()
    try:
        tree, entries = project.whole(texts, rendered)
    except InvalidInput:
        return  # only a project that compiled is recompiled from
    last_tree = tree
    last = incremental.Last(texts, entries, hashes(tree))
    for _ in range(data.draw(st.integers(1, 4))):
        how = data.draw(edit(project))
        now = project.texts()
        made = incremental.recompile(
            project.settings,
            project.document,
            last,
            [Source(n, t) for n, t in now.items()],
            allow_skip=False,
            tree=_tree_path(project.settings),
            rendered=rendered,
            most=1.0,
        )
        try:
            tree, entries = project.whole(now, rendered)
        except InvalidInput:
            assert made is None, how  # a problem: only the whole compile reports it
            continue
        event(f"{how}: {'recompiled' if made is not None else 'whole'}")
        if made is not None:
            assert _applied(last_tree, made) == tree, how
            assert made.entries == entries, how
        last, last_tree = incremental.Last(now, entries, hashes(tree)), tree


def test_a_document_mentions_each_name_a_word_of_it_is_or_starts_with() -> None:
    names = frozenset({"kv", "kv-cache", "coord", "pool", "blob"})
    data = {
        "spec": {"coordinator": {"ref": {"name": "coord"}}},  # a reference
        "args": ["--url=http://KV-CACHE-metrics.llm.svc:8080"],  # an address, any case
        "script": "line one\nblob\tand more",  # in a block of text
        "labels": {"pool-a/part": "x"},  # a key
        "other": "coordinator kvx pooled",  # words that only start with names
    }
    assert incremental._mentions(data, names) == ("blob", "coord", "kv", "kv-cache", "pool")


def test_what_a_resource_generates_is_named_after_it() -> None:
    """The grouping's premise: each object a resource generates has its name, or its name and a
    suffix after `-`, so a document that names a generated object mentions the resource."""
    checked = 0
    for path in FIXTURE_SPECS:
        try:
            fleet = compile_fleet(lg.load_inputs(lg.read_sources([path]), "default"), allow_skip=True)
        except InvalidInput:
            continue  # a fixture of a problem
        for item in fleet.built:
            for obj in item.objects:
                name, owner = obj["metadata"]["name"], item.resource.name
                assert name == owner or name.startswith(f"{owner}-"), (path.name, obj["kind"], name)
                checked += 1
    assert checked > 50


def _fleet(size: int) -> list[dict[str, Any]]:
    """Coordinators, each with engines that name it and a workload wired to each engine."""
    documents: list[dict[str, Any]] = []
    for group in range(size):
        documents.append(resource("LMCacheCoordinator", name=f"coord{group}", namespace=None))
        for index in range(2):
            name = f"kv{group}-{index}"
            coordinator = {"coordinator.ref.name": f"coord{group}"}
            documents.append(resource("LMCacheEngine", name=name, namespace=None, **coordinator))
            wired = workload(engine=name)
            wired["metadata"] = {"name": f"vllm-{name}"}  # in the project's namespace
            documents.append(wired)
    return documents


def test_a_changed_spec_recompiles_only_its_group_through_compile(tmp_path: Path, monkeypatch: Any) -> None:
    """`compile` after one spec changed takes the tree from the last compile's (the recompile
    answers), writes the same files as a whole compile, and a compile of another fleet in
    another folder agrees byte for byte."""
    documents = _fleet(4)
    environments = {"dev": {"namespace": "llm-dev", "overrides": {"kv0-0": {"spec": {"l1": {"sizeGB": 4}}}}}}
    project = write_project(tmp_path / "one", documents, environments)
    lg.compile_project(project)
    answers: list[bool] = []
    recompile = incremental.recompile

    def spy(*args: Any, **kwargs: Any) -> incremental.Recompiled | None:
        made = recompile(*args, **kwargs)
        answers.append(made is not None)
        return made

    monkeypatch.setattr(incremental, "recompile", spy)
    documents[1]["spec"]["l1"]["sizeGB"] = 99
    write_project(tmp_path / "one", documents, environments)
    stale = lg.check_project(project)
    report = lg.compile_project(project)
    assert answers == [True, True]
    assert [c.path for c in stale.changes] == [c.path for c in report.changes]
    assert [c.path for c in report.changes] == ["bases/kv0-0/daemonset.kv0-0.yaml"]  # dev overrides the size
    fresh = write_project(tmp_path / "two", documents, environments)
    lg.compile_project(fresh, cache=False)
    for top in ("bases", "overlays"):
        assert _files(tmp_path / "one" / top) == _files(tmp_path / "two" / top)
    assert lg.check_project(project, cache=False).up_to_date


def _disturb(folder: Path, how: str) -> None:
    """Change the tree on disk as a user or a checkout might, outside the group of kv0-0."""
    other = folder / "bases" / "kv2-1" / "daemonset.kv2-1.yaml"
    if how == "edited":
        other.write_text(other.read_text().replace("kv2-1", "kv2-9", 1))
    elif how == "removed":
        other.unlink()
    elif how == "stray":  # a generated file the tree does not have, in a folder it has
        (other.parent / "service.old.yaml").write_text(HEADER + "kind: Service\n")
    elif how == "stray folder":
        (other.parent / "old").mkdir()
        (other.parent / "old" / "service.old.yaml").write_text(HEADER + "kind: Service\n")
    elif how == "someone else's":  # not generated: left alone by every compile
        (other.parent / "NOTES.md").write_text("# kept\n")
    elif how == "same bytes":  # as a checkout rewrites it
        other.write_bytes(other.read_bytes())


@pytest.mark.parametrize(
    ("how", "recompiled"),
    [
        ("edited", False),
        ("removed", False),
        ("stray", False),
        ("stray folder", False),
        ("someone else's", True),
        ("same bytes", True),
        ("", True),
    ],
)
def test_a_compile_after_a_change_writes_what_a_whole_compile_writes_into_the_tree_on_disk(
    tmp_path: Path, monkeypatch: Any, how: str, recompiled: bool
) -> None:
    """The last tree a recompile starts from is the one on disk only when the record vouches for
    every file and folder of it; else the whole tree is compiled and compared with the disk."""
    documents = _fleet(3)
    environments = {"dev": {"namespace": "llm-dev"}}
    trees = [write_project(tmp_path / name, documents, environments) for name in ("cached", "whole")]
    for project in trees:
        lg.compile_project(project)
        _disturb(project.parent, how)
    documents[1]["spec"]["l1"]["sizeGB"] = 99
    for project in trees:
        write_project(project.parent, documents, environments)
    whole: list[Path] = []
    load = api.load_project
    monkeypatch.setattr(api, "load_project", lambda path, **kw: whole.append(Path(path)) or load(path, **kw))
    cached = lg.compile_project(trees[0])
    assert (not whole) == recompiled
    expected = lg.compile_project(trees[1], cache=False)
    assert [(c.path, c.change, c.old, c.new) for c in cached.changes] == [
        (c.path, c.change, c.old, c.new) for c in expected.changes
    ]
    for top in ("bases", "overlays"):
        assert _files(trees[0].parent / top) == _files(trees[1].parent / top)
    assert lg.compile_project(trees[0]).up_to_date  # and the record holds the tree as it is now
    assert lg.check_project(trees[0], cache=False).up_to_date


def test_a_new_file_whose_place_is_taken_is_left_to_the_whole_plan(tmp_path: Path) -> None:
    (tmp_path / "bases" / "kv").mkdir(parents=True)
    new = {"bases/kv/a.yaml": HEADER + "a\n", "bases/kv/new/b.yaml": HEADER + "b\n"}
    changes = treeio.replacing({}, new, tmp_path, {"bases", "bases/kv"})
    assert changes is not None and [(c.path, c.change) for c in changes] == [
        ("bases/kv/a.yaml", "created"),
        ("bases/kv/new/b.yaml", "created"),
    ]
    (tmp_path / "bases" / "kv" / "a.yaml").write_text("someone else's\n")
    assert treeio.replacing({}, new, tmp_path, {"bases", "bases/kv"}) is None
    (tmp_path / "bases" / "kv" / "a.yaml").unlink()
    (tmp_path / "bases" / "kv" / "new").write_text("a file where a folder goes\n")
    assert treeio.replacing({}, new, tmp_path, {"bases", "bases/kv"}) is None


def test_a_recompile_keeps_the_secret_scan_verdicts_of_what_it_did_not_recompile(tmp_path: Path) -> None:
    documents = _fleet(3)
    documents[-1]["spec"]["template"]["spec"]["containers"][0]["args"] = ["--served-model-name=group-two"]
    project = write_project(tmp_path, documents, {"dev": {"namespace": "llm-dev"}})
    lg.compile_project(project)
    before = cache.verdicts(project)
    assert "--served-model-name=group-two" in before
    documents[1]["spec"]["l1"]["sizeGB"] = 99
    write_project(tmp_path, documents, {"dev": {"namespace": "llm-dev"}})
    lg.compile_project(project)
    assert cache.verdicts(project) == before


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_recompile_that_meets_a_problem_leaves_it_to_the_whole_compile(tmp_path: Path) -> None:
    documents = _fleet(3)
    project = write_project(tmp_path, documents, {"dev": {"namespace": "llm-dev"}})
    lg.compile_project(project)
    documents[1]["spec"]["coordinator"]["ref"]["name"] = "nowhere"
    write_project(tmp_path, documents, {"dev": {"namespace": "llm-dev"}})
    with pytest.raises(lg.InvalidInput) as err:
        lg.compile_project(project)
    assert any('"nowhere"' in p.message for p in err.value.problems)


COORDINATED = """\
apiVersion: lmcache.lmcache.ai/v1alpha1
kind: LMCacheCoordinator
metadata: {name: coord-a}
spec: {port: 9300}
---
apiVersion: lmcache.lmcache.ai/v1alpha1
kind: LMCacheEngine
metadata: {name: kv-a}
spec:
  l1: {sizeGB: 4}
  coordinator: {ref: {name: coord-a}}
---
apiVersion: lmcache.lmcache.ai/v1alpha1
kind: LMCacheCoordinator
metadata: {name: coord-b}
spec: {port: PORT}
"""
WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
"""


def _agrees(settings_: dict[str, Any], before: dict[str, str], after: dict[str, str]) -> bool:
    """Whether the recompile of ``after`` from the compile of ``before`` answered; it must agree
    with the whole compile whenever it does, and not answer when the whole compile fails."""
    project = InMemory(settings_, {})
    tree, entries = project.whole(before, False)
    made = incremental.recompile(
        project.settings,
        project.document,
        incremental.Last(before, entries, hashes(tree)),
        [Source(n, t) for n, t in after.items()],
        allow_skip=False,
        tree=None,
        rendered=False,
        most=1.0,
    )
    try:
        expected, _ = project.whole(after, False)
    except InvalidInput:
        assert made is None
        return False
    assert made is None or _applied(tree, made) == expected
    return made is not None


def _applied(tree: Tree, made: incremental.Recompiled) -> Tree:
    """The last ``tree`` with the recompile's files in place of its own."""
    kept = {path: text for path, text in tree.items() if path not in made.old}
    return dict(sorted({**kept, **made.new}.items()))


def test_what_an_override_makes_a_document_name_is_in_its_group() -> None:
    # dev points kv-a at coord-b, which kv-a's own document never names
    overridden = {"kv-a": {"spec": {"coordinator": {"ref": {"name": "coord-b"}}}}}
    settings_ = {"environments": {"dev": {"namespace": "llm-dev", "overrides": overridden}}}
    before, after = (COORDINATED.replace("PORT", port) for port in ("9300", "9400"))
    assert _agrees(settings_, {"specs/a.yaml": before}, {"specs/a.yaml": after})


def test_a_change_only_json_tells_or_only_the_lines_show_is_a_change() -> None:
    settings_ = {"environments": {"dev": {"namespace": "llm-dev"}}}
    engine = COORDINATED.replace("PORT", "9300")
    before = {"specs/a.yaml": engine, "workloads/b.yaml": WEB.replace("REPLICAS", "1")}
    for replicas in ("1.0", "true", "1\n  # a comment inside the document"):
        after = {
            "specs/a.yaml": engine.replace("9300}", "9301}"),
            "workloads/b.yaml": WEB.replace("REPLICAS", replicas),
        }
        _agrees(settings_, before, after)
