"""The library behind `import lmcache_gitops` (which loads it on first use): every public
function and type, with the examples its docstrings run."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .build import secrets
from .errors import InvalidInput as InvalidInput
from .errors import Problem as Problem
from .errors import one_line
from .files import cache as compile_cache
from .files import git, kustomize, sources, treeio
from .gitops import incremental
from .gitops.diff import FieldDiff as FieldDiff
from .gitops.diff import ObjectDiff as ObjectDiff
from .gitops.diff import ProjectDiff as ProjectDiff
from .gitops.diff import project_diff
from .gitops.drift import FileChange as FileChange
from .gitops.drift import Report as Report
from .gitops.drift import build_differences, hashes
from .gitops.environments import EnvironmentBuild, ProjectBuild, build_project, merge_patch
from .gitops.tree import Tree, build_tree, builds
from .inject.deploy import compile_fleet
from .models import API_VERSIONS, AnyResource
from .models.json_schema import json_schema as json_schema
from .models.json_schema import json_schema_text
from .models.json_schema import project_json_schema as project_json_schema
from .models.project_file import Project
from .naming import DEFAULT_NAMESPACE as DEFAULT_NAMESPACE
from .naming import PROJECT_FILE, SPEC_SCHEMA
from .read import cluster, helm
from .read import inputs as reading
from .read.cluster import Imported as Imported
from .read.inputs import Inputs as Inputs
from .read.messages import validate_as
from .read.source import Source as Source
from .read.yamlio import Document, dump_all, load_documents

Warn = Callable[[Problem], None]


def read_sources(paths: Iterable[str | Path]) -> list[Source]:
    """The text of each file; a folder stands for every .yaml/.yml file below it.

        >>> [source.name for source in read_sources(["specs/"])]
        ['specs/coordinator.yaml', 'specs/engines.yaml', 'specs/inprocess.yaml']

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

        >>> len(render_objects(load_inputs(read_sources(["specs/"]), "llm")))
        15
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
    """``load_inputs`` then ``render_objects``, with every problem of both at once.

    >>> sorted(obj["kind"] for obj in render([Source("c.yaml", "{apiVersion: lmcache.lmcache.ai/v1alpha1, kind: LMCacheEngine, metadata: {name: c}, spec: {l1: {sizeGB: 8}}}")]))
    ['ConfigMap', 'DaemonSet', 'Service', 'Service']
    """
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
    """``render`` for files and folders; unreadable files are reported with all other problems.

    >>> len(render_files(["specs/", "workloads/"], "llm"))
    19
    """
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
    """Every problem in ``sources``, warnings last (an empty list when they compile cleanly).

    >>> [str(p) for p in validate([Source("c.yaml", "{apiVersion: lmcache.lmcache.ai/v1alpha1, kind: LMCacheEngine, metadata: {name: c}, spec: {l1: {sizeGB: 0}}}")])]
    ['c.yaml:1: spec.l1.sizeGB: must be greater than 0']
    """
    warnings: list[Problem] = []
    try:
        render(sources, namespace, allow_skip=allow_skip, warn=warnings.append)
    except InvalidInput as err:
        return list(err.problems)
    return warnings


def to_yaml(objects: Iterable[dict[str, Any]]) -> str:
    """Objects as one multi-document YAML stream, byte for byte the same on every machine.

    >>> to_yaml([{"kind": "Namespace", "metadata": {"name": "llm"}}])
    'kind: Namespace\\nmetadata:\\n  name: llm\\n'
    """
    return dump_all(objects)


Data = Mapping[str, Any] | str  # a document as data, or as YAML text


@dataclass(frozen=True)
class LoadedProject:
    """A compiled project: its settings and inputs, every environment compiled, and where its files
    are (``file`` and ``output`` are relative paths for a project built in memory).

        >>> loaded = load_project("lmcache-gitops.yaml")
        >>> loaded
        <Project 3 environments, 6 resources, 4 workloads>
    """

    file: Path
    output: Path
    build: ProjectBuild
    settings: Mapping[str, Any] = field(repr=False)  # the project file's content
    sources: tuple[Source, ...] = field(repr=False)  # the spec and workload files
    allow_skip: bool = False
    text: str = field(default="", repr=False)  # the project file as read
    document: Document | None = field(default=None, repr=False)  # and parsed: where each field is

    def __repr__(self) -> str:
        base = self.build.base
        return (
            f"<Project {_count(len(self.build.environments), 'environment')}, "
            f"{_count(len(base.built), 'resource')}, {_count(len(base.workloads), 'workload')}>"
        )

    @property
    def environments(self) -> list[str]:
        return [env.name for env in self.build.environments]

    @property
    def resources(self) -> dict[str, AnyResource]:
        """Each custom resource by name, as written (its fields readable by their YAML names)."""
        return {item.resource.name: item.resource.model for item in self.build.base.built}

    def render(self, environment: str) -> list[dict[str, Any]]:
        """Every object ``environment`` deploys: what `kustomize build overlays/<env>` gives."""
        return _environment(self, environment).objects()

    def tree(self, *, rendered: bool = False) -> Tree:
        """Every file of the tree, path below the output folder -> text (with rendered/ when the
        project or ``rendered`` asks for it)."""
        return build_tree(self.build, rendered=rendered)

    def write(self, folder: str | Path | None = None, *, rendered: bool = False) -> Report:
        """Write the tree into ``folder`` (default: the project's output folder), as `compile`
        does: all or nothing, generated files it no longer has pruned."""
        return _write(self, Path(folder) if folder is not None else self.output, rendered=rendered)

    def with_spec(self, name: str, change: Mapping[str, Any]) -> LoadedProject:
        """A validated copy with ``change`` merged onto the spec of resource ``name`` (a JSON merge
        patch: null removes a field); raises InvalidInput as the CLI would report it.

            >>> load_project().with_spec("kv-cache", {"l1": {"sizeGB": 120}}).resources["kv-cache"].spec.l1.sizeGB
            120.0
        """
        for index, source in enumerate(self.sources):
            documents, _ = load_documents(source.text, source.name)
            data = [document.data for document in documents]
            hits = [i for i, d in enumerate(data) if _is_resource(d) and d["metadata"].get("name") == name]
            if hits:
                for hit in hits:
                    data[hit] = {**data[hit], "spec": merge_patch(data[hit].get("spec") or {}, dict(change))}
                changed = Source(source.name, dump_all(data))
                return self._rebuilt(self.settings, (*self.sources[:index], changed, *self.sources[index + 1 :]))
        known = ", ".join(sorted(self.resources))
        raise InvalidInput([Problem("<with_spec>", 1, "", f'no resource named "{name}" (the project has {known})')])

    def with_environment(self, name: str, change: Mapping[str, Any] | None) -> LoadedProject:
        """A validated copy with ``change`` merged onto environment ``name`` (a new one when it
        has none; None removes it).

            >>> load_project().with_environment("qa", {"namespace": "llm-qa"}).environments
            ['dev', 'prod', 'qa', 'staging']
        """
        environments = dict(self.settings.get("environments") or {})
        if change is None:
            environments.pop(name, None)
        else:
            environments[name] = merge_patch(environments.get(name) or {}, dict(change))
        return self._rebuilt({**self.settings, "environments": environments}, self.sources)

    def _rebuilt(self, settings: Mapping[str, Any], sources: tuple[Source, ...]) -> LoadedProject:
        text = Source(str(self.file), dump_all([dict(settings)]))
        document = _project_document(text)
        project = _settings(document)
        return _compiled(text, document, project, sources, [], self.output, _tree_path(project), self.allow_skip)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _is_resource(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and data.get("apiVersion") in API_VERSIONS.values()
        and isinstance(data.get("metadata"), dict)
    )


def _project_document(text: Source) -> Document:
    documents, problems = load_documents(text.text, text.name)
    if len(documents) > 1:
        problems.append(documents[1].problem((), "the project file must hold one YAML document"))
    if problems:
        raise InvalidInput(problems)
    return documents[0]


def _settings(document: Document) -> Project:
    settings, problems = validate_as(Project, document, document.data)
    if settings is None:
        raise InvalidInput(problems)
    return settings


def _tree_path(settings: Project) -> str | None:
    """Where the tree is in the repository, for a project not read from a checkout: repository.path."""
    if settings.delivery is None or settings.repository is None:
        return None
    return posixpath.normpath(posixpath.join(settings.repository.path or ".", settings.output))


def _compiled(
    text: Source,
    document: Document,
    settings: Project,
    found: Iterable[Source],
    unread: list[Problem],
    output: Path,
    tree: str | None,
    allow_skip: bool,
) -> LoadedProject:
    found = tuple(found)
    inputs, more = reading.load(found, settings.namespace)
    build: ProjectBuild = _all_at_once(
        [*unread, *more], lambda: build_project(settings, document, inputs, allow_skip=allow_skip, tree=tree)
    )
    return LoadedProject(Path(text.name), output, build, document.data, found, allow_skip, text.text, document)


def load_project(path: str | Path = PROJECT_FILE, *, allow_skip: bool = False) -> LoadedProject:
    """Read and compile a project: its file, the specs and manifests its globs match, every
    environment. ``allow_skip`` as in ``render_objects``; the warnings are in ``build.warnings``.

    Raises InvalidInput listing every problem of the project file, the inputs and the environments.
    """
    opened = _Opened.read(Path(path))
    found, unread = sources.read_project_inputs(opened.settings, opened.document, opened.file.parent)
    return _compiled(
        opened.text, opened.document, opened.settings, found, unread, opened.output, opened.tree, allow_skip
    )


@dataclass(frozen=True)
class _Opened:
    """A project file read: its settings, and where its tree goes (in the output folder, and in
    the repository)."""

    file: Path
    text: Source
    document: Document
    settings: Project
    output: Path
    tree: str | None

    @classmethod
    def read(cls, file: Path) -> _Opened:
        """Raises InvalidInput for the project file's problems."""
        (text,) = read_sources([file])
        return cls.parsed(file, text, _project_document(text))

    @classmethod
    def parsed(cls, file: Path, text: Source, document: Document) -> _Opened:
        """The project file of ``text`` parsed into ``document``; raises InvalidInput as `read`."""
        settings = _settings(document)
        output, problems = sources.output_folder(settings, document, file.parent)
        tree, more = sources.tree_in_repository(settings, document, file.parent)
        if problems or more:  # where the tree goes must be known first
            raise InvalidInput([*problems, *more])
        return cls(file, text, document, settings, output, tree)


def project(
    settings: Data, specs: Iterable[Data] = (), workloads: Iterable[Data] = (), *, allow_skip: bool = False
) -> LoadedProject:
    """A project built in memory from data: the project file's content, and each spec and workload
    file as a mapping (one document) or YAML text (any number). Problems name the item (`specs[0]`).

        >>> loaded = project(
        ...     {"environments": {"prod": {"namespace": "llm"}}},
        ...     specs=[{"apiVersion": "lmcache.lmcache.ai/v1alpha1", "kind": "LMCacheEngine",
        ...             "metadata": {"name": "kv-cache"}, "spec": {"l1": {"sizeGB": 60}}}],
        ... )
        >>> loaded
        <Project 1 environment, 1 resource, 0 workloads>
    """
    text = settings if isinstance(settings, str) else dump_all([dict(settings)])
    document = _project_document(Source(PROJECT_FILE, text))
    given = [("specs", item) for item in specs] + [("workloads", item) for item in workloads]
    numbered: dict[str, int] = {}
    found = []
    for kind, item in given:
        index = numbered[kind] = numbered.get(kind, -1) + 1
        found.append(Source(f"{kind}[{index}]", item if isinstance(item, str) else dump_all([dict(item)])))
    project_settings = _settings(document)
    output = Path(project_settings.output)
    tree = _tree_path(project_settings)
    return _compiled(Source(PROJECT_FILE, text), document, project_settings, found, [], output, tree, allow_skip)


def _environment(loaded: LoadedProject, name: str) -> EnvironmentBuild:
    try:
        return loaded.build.environment(name)
    except KeyError as err:
        raise InvalidInput([Problem(str(loaded.file), 1, "environments", err.args[0])]) from None


def render_environment(
    environment: str, path: str | Path = PROJECT_FILE, *, allow_skip: bool = False, warn: Warn | None = None
) -> list[dict[str, Any]]:
    """Every object ``environment`` of the project deploys: what `kustomize build overlays/<env>` gives.

    >>> sorted({obj["metadata"].get("namespace", "-") for obj in render_environment("prod")})  # and the Namespace
    ['-', 'llm']
    """
    loaded = load_project(path, allow_skip=allow_skip)
    objects = loaded.render(environment)
    _pass_on(loaded.build.warnings, warn)
    return objects


def _write(loaded: LoadedProject, output: Path, *, rendered: bool, lock_timeout: float = treeio.LOCK_TIMEOUT) -> Report:
    compiled = _Compiled.whole(loaded, rendered, remember=False)
    return _written(replace(compiled, output=output), lock_timeout=lock_timeout, cache=False)


@dataclass(frozen=True)
class _Replaced:
    """What a recompile's files replace: the last tree (the hash of each file, and the digest of
    what it was compiled from), and its files that the change reaches, as they are there."""

    last: Mapping[str, str]
    digest: str
    old: Tree


@dataclass(frozen=True)
class _Compiled:
    """A project's tree, and what the compile cache remembers of how it was made."""

    file: Path
    output: Path
    text: str  # the project file
    document: Document | None  # parsed, when it is known
    settings: Project
    sources: tuple[Source, ...]
    allow_skip: bool
    rendered: bool
    tree: Tree  # every file; for a recompile, the files it made again
    warnings: list[Problem]
    entries: incremental.Entries
    replaces: _Replaced | None = None  # a recompile's
    verdicts: Mapping[str, Sequence[str]] = field(default_factory=dict)  # kept of the last: strings not asked again

    @classmethod
    def whole(cls, loaded: LoadedProject, rendered: bool, *, remember: bool) -> _Compiled:
        """The tree of a loaded project (with ``remember``, the entries its record keeps)."""
        base = loaded.build.base
        entries = (
            incremental.entries([b.resource for b in base.built], [d.manifest for d in base.workloads])
            if remember
            else {}
        )
        return cls(
            loaded.file,
            loaded.output,
            loaded.text,
            loaded.document,
            loaded.build.project,
            loaded.sources,
            loaded.allow_skip,
            rendered,
            loaded.tree(rendered=rendered),
            loaded.build.warnings,
            entries,
        )


@dataclass(frozen=True)
class _Planned:
    """What writing a tree changes on disk, the hash of each file of the tree, and, after a
    recompile, the last tree as the record holds it."""

    changes: list[FileChange]
    tree: dict[str, str]
    recorded: compile_cache.Recorded | None = None


def _planned(compiled: _Compiled, *, cache: bool, remember: bool) -> tuple[_Compiled, _Planned]:
    """What writing the tree changes: a recompile's files replace theirs when the tree on disk is
    the last one, as the record holds it; else the whole tree (compiled whole after a recompile,
    with ``remember`` as in `_compiled_tree`) is compared with the disk (with ``cache``, the record
    vouches for the files it holds unchanged, which are not read)."""
    replaces = compiled.replaces
    if replaces is not None:
        recorded = compile_cache.on_disk(compiled.file, compiled.output)
        if recorded is not None and recorded.digest == replaces.digest:
            changes = treeio.replacing(replaces.old, compiled.tree, compiled.output, recorded.folders)
            if changes is not None:
                tree = {path: digest for path, digest in replaces.last.items() if path not in replaces.old}
                tree.update(hashes(compiled.tree))
                if any(change.change == "created" for change in changes):
                    tree = dict(sorted(tree.items()))
                return compiled, _Planned(changes, tree, recorded)
        loaded = load_project(compiled.file, allow_skip=compiled.allow_skip)
        compiled = _Compiled.whole(loaded, compiled.rendered, remember=remember)
    tree = hashes(compiled.tree) if cache else {}
    unchanged = compile_cache.unchanged(compiled.file, tree) if cache else None
    return compiled, _Planned(treeio.plan(compiled.tree, compiled.output, unchanged), tree)


def _written(compiled: _Compiled, *, lock_timeout: float, cache: bool) -> Report:
    """Write the tree under its lock and, with ``cache``, record what the project compiled to
    for the next compile or check (see files/cache.py)."""
    with treeio.locked(compiled.output, lock_timeout):
        treeio.recover(compiled.output)
        compiled, planned = _planned(compiled, cache=cache, remember=cache)
        if planned.changes:
            treeio.apply(planned.changes, compiled.output)
        if cache:
            compile_cache.store(
                Source(str(compiled.file), compiled.text),
                compiled.document,
                {"specs": compiled.settings.specs, "workloads": compiled.settings.workloads},
                compiled.sources,
                compiled.output,
                compile_cache.options(allow_skip=compiled.allow_skip, rendered=compiled.rendered),
                compiled.warnings,
                {**compiled.verdicts, **secrets.verdicts()},
                incremental.Last({s.name: s.text for s in compiled.sources}, compiled.entries, planned.tree),
                {change.path for change in planned.changes},
                planned.recorded,
            )
    changes = planned.changes
    return Report(changes, written=bool(changes), output=str(compiled.output), warnings=compiled.warnings)


def _cached(path: str | Path, allow_skip: bool, rendered: bool, *, check: bool) -> Report | None:
    """The record's report, else None, the compile that follows scanning only strings it has not seen."""
    options = compile_cache.options(allow_skip=allow_skip, rendered=rendered)
    report = compile_cache.cached_report(Path(path), options, check=check)
    if report is None:
        secrets.remember(compile_cache.verdicts(Path(path)))
    return report


def _recompiled(file: Path, allow_skip: bool, rendered: bool) -> _Compiled | None:
    """The files the inputs that changed since the last compile reach (gitops/incremental.py),
    or None: then only a whole compile can tell, and reports every problem there is."""
    try:
        (text,) = read_sources([file])
    except InvalidInput:
        return None
    last = compile_cache.last(text, compile_cache.options(allow_skip=allow_skip, rendered=rendered))
    if last is None:
        return None
    try:
        opened = _Opened.parsed(file, text, last.document or _project_document(text))
    except InvalidInput:
        return None
    found, unread = sources.read_project_inputs(opened.settings, opened.document, file.parent)
    if unread or opened.output != last.output:
        return None
    made = incremental.recompile(
        opened.settings, opened.document, last.last, found, allow_skip=allow_skip, tree=opened.tree, rendered=rendered
    )
    if made is None:
        return None
    verdicts = compile_cache.verdicts(file)  # a recompile asks only about its group's strings
    return _Compiled(
        file,
        opened.output,
        opened.text.text,
        opened.document,
        opened.settings,
        tuple(found),
        allow_skip,
        rendered,
        made.new,
        last.warnings,
        made.entries,
        _Replaced(last.last.tree, last.digest, made.old),
        verdicts,
    )


def _compiled_tree(path: str | Path, allow_skip: bool, rendered: bool, *, cache: bool, remember: bool) -> _Compiled:
    """The project's tree: with ``cache``, the files a change reaches when little changed since
    the last compile; else compiled whole (with ``remember``, with what the next compile
    recompiles from)."""
    if cache and (made := _recompiled(Path(path), allow_skip, rendered)) is not None:
        return made
    return _Compiled.whole(load_project(path, allow_skip=allow_skip), rendered, remember=remember)


def compile_project(
    path: str | Path = PROJECT_FILE,
    *,
    allow_skip: bool = False,
    rendered: bool = False,
    lock_timeout: float = treeio.LOCK_TIMEOUT,
    cache: bool = True,
) -> Report:
    """Write the project's tree, pruning the generated files it no longer has; the report lists
    every file created, changed or deleted (none when the tree was up to date), and the allowed
    webhook skips as warnings. ``rendered`` writes rendered/ even when the project does not ask for it.

    The tree is replaced whole or not at all: a compile killed at any moment leaves the old tree,
    or one the next compile completes first. A second compile of the same output waits up to
    ``lock_timeout`` seconds for the first, then raises InvalidInput naming it. With ``cache``,
    the record of the last compile in `.lmcache-gitops/cache/` beside the project file answers
    when no input changed and the tree is as it left it, and is updated after compiling.

        >>> compile_project("lmcache-gitops.yaml").text()      # doctest: +SKIP
        'lmcache-gitops: the tree is up to date\\n'
    """
    if cache and (report := _cached(path, allow_skip, rendered, check=False)) is not None:
        return report
    compiled = _compiled_tree(path, allow_skip, rendered, cache=cache, remember=cache)
    return _written(compiled, lock_timeout=lock_timeout, cache=cache)


def check_project(
    path: str | Path = PROJECT_FILE, *, allow_skip: bool = False, rendered: bool = False, cache: bool = True
) -> Report:
    """Compare the project's tree with the files on disk, writing nothing in it; raises
    InvalidInput when a killed compile left the tree half written. With ``cache``, the last
    compile's record answers when it holds (it is never written here).

        >>> check_project("lmcache-gitops.yaml").up_to_date
        True
    """
    if cache and (report := _cached(path, allow_skip, rendered, check=True)) is not None:
        return report
    compiled = _compiled_tree(path, allow_skip, rendered, cache=cache, remember=False)
    compiled, planned = _planned(compiled, cache=cache, remember=False)
    return Report(planned.changes, written=False, output=str(compiled.output), warnings=compiled.warnings)


def diff_project(
    path: str | Path = PROJECT_FILE,
    *,
    base: str = "HEAD",
    environments: Iterable[str] = (),
    allow_skip: bool = False,
) -> ProjectDiff:
    """What each environment deploys now (the work tree) against what it deployed at git revision
    ``base``, object by object and field by field; ``environments``: only these.

        >>> for line in diff_project(base="main").text().splitlines():   # doctest: +SKIP
        ...     print(line)
        prod  DaemonSet/kv-cache  spec.template.spec.containers[lmcache].resources.requests.memory: 65Gi -> 125Gi
    """
    file = Path(path)
    now = load_project(file, allow_skip=allow_skip)
    wanted = list(environments)
    unknown = [env for env in wanted if env not in now.environments]
    root = git.repository_root(file.resolve().parent)
    relative = file.resolve().relative_to(root)
    with git.at_revision(root, base) as folder:
        before: dict[str, list[dict[str, Any]]] = {}
        if (folder / relative).exists():
            try:
                then = load_project(folder / relative, allow_skip=True)
            except InvalidInput as err:  # name the base's files as git does: <rev>:<path>
                raise InvalidInput(
                    replace(p, source=f"{base}:{Path(p.source).relative_to(folder)}") for p in err.problems
                ) from None
            before = {env.name: env.objects() for env in then.build.environments}
            unknown = [env for env in unknown if env not in before]
    if unknown:
        names = ", ".join(f'"{env}"' for env in sorted({*now.environments, *before}))
        raise InvalidInput(
            [Problem(str(file), 1, "environments", f'no environment "{unknown[0]}" (there are {names})')]
        )
    after = {env.name: env.objects() for env in now.build.environments}
    return project_diff(base, before, after, wanted)


def import_files(
    paths: Iterable[str | Path],
    folder: str | Path = ".",
    *,
    minimal: bool = False,
    namespace: str = DEFAULT_NAMESPACE,
    stdin: str | None = None,
    helm_values: str | Path | None = None,
    release: str = "lmcache",
) -> Imported:
    """Turn what `kubectl get ... -o yaml` printed (files, and ``stdin`` for `-`), or the LMCache
    Helm chart's ``helm_values`` (a release named ``release``), into spec and workload files in
    ``folder``, with a project file and the editor schema where it has none. Never overwrites a
    file: raises InvalidInput naming those that exist, and writes nothing.

        >>> import_files(["cluster.yaml"], "platform/", minimal=True).skipped   # doctest: +SKIP
        [('DaemonSet/llm/kv-cache', 'generated by the operator: compile makes it again')]
    """
    if helm_values is not None:
        (values,) = read_sources([helm_values])
        imported = helm.import_helm_values(values, release=release, namespace=namespace)
    else:
        given = [str(path) for path in paths]
        found = read_sources([path for path in given if path != "-"])
        if "-" in given:
            found.append(Source("<stdin>", stdin or ""))
        imported = cluster.import_cluster(found, minimal=minimal, namespace=namespace)
    root = Path(folder)
    taken = sorted(path for path in imported.files if (root / path).exists())
    if taken:
        raise InvalidInput(
            Problem(
                str(root / path), 1, "", "already exists: import writes only new files (move it, or import elsewhere)"
            )
            for path in taken
        )
    extra = {PROJECT_FILE: dump_all([imported.project]), SPEC_SCHEMA: json_schema_text()}
    for path, text in {**imported.files, **extra}.items():
        target = root / path
        if path in extra and target.exists():
            continue  # the project's own project file and schema stay
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return imported


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
    kustomize, or naming each folder whose build fails, prints anything on stderr, or differs.

        >>> verify_project("lmcache-gitops.yaml").folders[:2]   # doctest: +SKIP
        ['bases', 'overlays/dev']
    """
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
