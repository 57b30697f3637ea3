"""lmcache-gitops: compile LMCache operator resources into plain Kubernetes objects and a Kustomize tree.

    import lmcache_gitops as lg
    objects = lg.render(lg.read_sources(["specs/"]), namespace="llm")
    print(lg.to_yaml(objects))

    report = lg.check_project("lmcache-gitops.yaml")     # or compile_project to write the tree
    for change in report.changes:
        print(change.change, change.path)

Every function raises ``InvalidInput`` (with ``.problems``) on bad input. Only ``compile_project``
writes files, and only inside the project's output folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InvalidInput, Problem, one_line
from .files import kustomize, sources, treeio
from .gitops.drift import FieldChange, FileChange, Report, build_differences
from .gitops.environments import ProjectBuild, build_project
from .gitops.tree import Tree, build_tree, builds
from .inject.deploy import compile_fleet
from .models.json_schema import json_schema, project_json_schema
from .models.project_file import Project
from .naming import PROJECT_FILE
from .read import inputs as reading
from .read.inputs import Inputs, Manifest, Resource, Source
from .read.messages import validate_as
from .read.yamlio import dump_all, load_documents

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_NAMESPACE",
    "FieldChange",
    "FileChange",
    "Inputs",
    "InvalidInput",
    "LoadedProject",
    "Manifest",
    "Problem",
    "Report",
    "Resource",
    "Source",
    "Verification",
    "__version__",
    "check_project",
    "compile_project",
    "json_schema",
    "load_inputs",
    "load_project",
    "project_json_schema",
    "read_sources",
    "render",
    "render_environment",
    "render_files",
    "render_objects",
    "to_yaml",
    "validate",
    "verify_project",
]

Warn = Callable[[Problem], None]

DEFAULT_NAMESPACE = "default"


def read_sources(paths: Iterable[str | Path]) -> list[Source]:
    """The text of each file; a folder stands for every .yaml/.yml file below it.

    Raises InvalidInput for files that cannot be read or are not UTF-8.
    """
    found, problems = sources.read_files(paths)
    if problems:
        raise InvalidInput(problems)
    return found


def _pass_on(warnings: Iterable[Problem], warn: Warn | None) -> None:
    if warn is not None:
        for warning in warnings:
            warn(warning)


def load_inputs(sources: Iterable[Source], namespace: str = DEFAULT_NAMESPACE) -> Inputs:
    """Parse and validate every document: the custom resources, and the user's own objects (any
    other apiVersion). Those without a namespace go to ``namespace``.

    Raises InvalidInput listing every problem of every document.
    """
    inputs, problems = reading.load(sources, namespace)
    if problems:
        raise InvalidInput(problems)
    return inputs


def render_objects(inputs: Inputs, *, allow_skip: bool = False, warn: Warn | None = None) -> list[dict[str, Any]]:
    """Every object to deploy for ``inputs``, in `kustomize build` order: what the operator would
    create for the resources, and the user's objects, with the workloads that opt in wired as its
    webhooks would wire their pods.

    Checks across inputs (duplicates, references, generated names, webhook skips) happen here;
    raises InvalidInput when any fails. With ``allow_skip``, a workload the webhook would skip is
    deployed unwired with its skip-reason annotation, and ``warn`` receives the warning.
    """
    compiled = compile_fleet(inputs, allow_skip=allow_skip)
    _pass_on(compiled.warnings, warn)
    return compiled.objects()


def _all_at_once(found: list[Problem], compile_: Callable[[], Any]) -> Any:
    """``compile_()`` over what could be read, raising InvalidInput with the problems ``found``
    while reading and every problem the compile finds besides (never a consequence of another:
    what could not be read is excused wherever it is referenced)."""
    try:
        result = compile_()
    except InvalidInput as err:
        raise InvalidInput([*found, *err.problems]) from None
    if found:
        raise InvalidInput(found)
    return result


def render(
    sources: Iterable[Source], namespace: str = DEFAULT_NAMESPACE, *, allow_skip: bool = False, warn: Warn | None = None
) -> list[dict[str, Any]]:
    """``load_inputs`` then ``render_objects``, with every problem of both at once."""
    inputs, problems = reading.load(sources, namespace)
    objects: list[dict[str, Any]] = _all_at_once(
        problems, lambda: render_objects(inputs, allow_skip=allow_skip, warn=None if problems else warn)
    )
    return objects


def render_files(
    paths: Iterable[str | Path],
    namespace: str = DEFAULT_NAMESPACE,
    *,
    allow_skip: bool = False,
    warn: Warn | None = None,
) -> list[dict[str, Any]]:
    """``render`` for files and folders; unreadable files are reported with all other problems."""
    found, unreadable = sources.read_files(paths)
    inputs, problems = reading.load(found, namespace)
    problems = [*unreadable, *problems]
    objects: list[dict[str, Any]] = _all_at_once(
        problems, lambda: render_objects(inputs, allow_skip=allow_skip, warn=None if problems else warn)
    )
    return objects


def validate(
    sources: Iterable[Source], namespace: str = DEFAULT_NAMESPACE, *, allow_skip: bool = False
) -> list[Problem]:
    """Every problem in ``sources``, warnings last (an empty list when they compile cleanly)."""
    warnings: list[Problem] = []
    try:
        render(sources, namespace, allow_skip=allow_skip, warn=warnings.append)
    except InvalidInput as err:
        return list(err.problems)
    return warnings


def to_yaml(objects: Iterable[dict[str, Any]]) -> str:
    """Objects as one multi-document YAML stream, byte for byte the same on every machine."""
    return dump_all(objects)


@dataclass(frozen=True)
class LoadedProject:
    """A compiled project and where its files are."""

    file: Path
    output: Path
    build: ProjectBuild

    def tree(self, *, rendered: bool = False) -> Tree:
        """Every file of the tree (with rendered/ when the project or ``rendered`` asks for it)."""
        return build_tree(self.build, rendered=rendered)


def load_project(path: str | Path = PROJECT_FILE, *, allow_skip: bool = False) -> LoadedProject:
    """Read and compile a project: its file, the specs and manifests its globs match, every
    environment. ``allow_skip`` as in ``render_objects``; the warnings are in ``build.warnings``.

    Raises InvalidInput listing every problem of the project file, the inputs and the environments.
    """
    file = Path(path)
    (text,) = read_sources([file])
    documents, problems = load_documents(text.text, text.name)
    if len(documents) > 1:
        problems.append(documents[1].problem((), "the project file must hold one YAML document"))
    if problems:
        raise InvalidInput(problems)
    document = documents[0]
    settings, problems = validate_as(Project, document, document.data)
    if settings is None:
        raise InvalidInput(problems)
    root = file.parent
    output, problems = sources.output_folder(settings, document, root)
    tree, more = sources.tree_in_repository(settings, document, root)
    problems += more
    if problems:  # where the tree goes must be known first
        raise InvalidInput(problems)
    found, unread = sources.read_project_inputs(settings, document, root)
    inputs, more = reading.load(found, settings.namespace)
    build: ProjectBuild = _all_at_once(
        [*unread, *more], lambda: build_project(settings, document, inputs, allow_skip=allow_skip, tree=tree)
    )
    return LoadedProject(file, output, build)


def render_environment(
    environment: str, path: str | Path = PROJECT_FILE, *, allow_skip: bool = False, warn: Warn | None = None
) -> list[dict[str, Any]]:
    """Every object ``environment`` of the project deploys: what `kustomize build overlays/<env>` gives."""
    loaded = load_project(path, allow_skip=allow_skip)
    try:
        objects = loaded.build.environment(environment).objects()
    except KeyError as err:
        raise InvalidInput([Problem(str(loaded.file), 1, "environments", err.args[0])]) from None
    _pass_on(loaded.build.warnings, warn)
    return objects


def compile_project(
    path: str | Path = PROJECT_FILE,
    *,
    allow_skip: bool = False,
    rendered: bool = False,
    lock_timeout: float = treeio.LOCK_TIMEOUT,
) -> Report:
    """Write the project's tree, pruning the generated files it no longer has; the report lists
    every file created, changed or deleted (none when the tree was up to date), and the allowed
    webhook skips as warnings. ``rendered`` writes rendered/ even when the project does not ask for it.

    The tree is replaced whole or not at all: a compile killed at any moment leaves the old tree,
    or one the next compile completes first. A second compile of the same output waits up to
    ``lock_timeout`` seconds for the first, then raises InvalidInput naming it.
    """
    loaded = load_project(path, allow_skip=allow_skip)
    tree = loaded.tree(rendered=rendered)
    with treeio.locked(loaded.output, lock_timeout):
        treeio.recover(loaded.output)
        changes = treeio.plan(tree, loaded.output)
        if changes:
            treeio.apply(changes, loaded.output)
    return Report(changes, written=bool(changes), output=str(loaded.output), warnings=loaded.build.warnings)


def check_project(path: str | Path = PROJECT_FILE, *, allow_skip: bool = False, rendered: bool = False) -> Report:
    """Compare the project's tree with the files on disk, writing nothing; raises InvalidInput
    when a killed compile left the tree half written."""
    loaded = load_project(path, allow_skip=allow_skip)
    changes = treeio.plan(loaded.tree(rendered=rendered), loaded.output)
    return Report(changes, written=False, output=str(loaded.output), warnings=loaded.build.warnings)


@dataclass(frozen=True)
class Verification:
    """What `verify_project` built: the kustomize it ran, and each folder, which built to exactly
    what lmcache-gitops compiles for it."""

    kustomize: str
    folders: list[str]


_STALE = {
    "created": "is missing from the tree: run `lmcache-gitops compile`",
    "changed": "is out of date: run `lmcache-gitops compile`",
    "deleted": "is no longer generated: run `lmcache-gitops compile`",
}


def verify_project(path: str | Path = PROJECT_FILE, *, allow_skip: bool = False) -> Verification:
    """Build every folder of the project's tree on disk (the bases, each overlay and its tiers,
    each clusters/ folder) with the real kustomize, and check that each gives exactly the objects
    lmcache-gitops compiles for it. Raises InvalidInput when the tree is stale, when there is no
    kustomize, or naming each folder whose build fails, prints anything on stderr, or differs."""
    loaded = load_project(path, allow_skip=allow_skip)
    stale = treeio.plan(loaded.tree(), loaded.output)
    if stale:
        raise InvalidInput([Problem(str(loaded.output / c.path), 1, "", _STALE[c.change]) for c in stale])
    expected = builds(loaded.build)
    results = kustomize.build_all([loaded.output / folder for folder in expected])
    problems = []
    for (folder, objects), result in zip(expected.items(), results, strict=True):
        where = str(loaded.output / folder)
        if result.error is not None:
            problems.append(Problem(where, 1, "", f"kustomize build fails: {one_line(result.error)}"))
        elif differences := build_differences(objects, result.objects):
            message = "kustomize build gives other objects than lmcache-gitops compiles: " + "; ".join(differences)
            problems.append(Problem(where, 1, "", message))
    if problems:
        raise InvalidInput(problems)
    return Verification(kustomize.version(), list(expected))
