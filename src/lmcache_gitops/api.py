"""The library's entry points: read specs, validate them, render their objects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from . import fleet, loading, project, tree, treeio, yamlio
from .drift import Report
from .errors import InvalidInput, Problem
from .loading import Inputs, Source
from .models.project import PROJECT_FILE

Warn = Callable[[Problem], None]

DEFAULT_NAMESPACE = "default"
SPEC_SUFFIXES = (".yaml", ".yml")
KUSTOMIZATIONS = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})


def _is_input(path: Path) -> bool:
    """A file a folder or glob contributes: YAML, and not a kustomization (which names other
    files rather than holding objects)."""
    return path.suffix in SPEC_SUFFIXES and path.name not in KUSTOMIZATIONS and path.is_file()


def _read(paths: Iterable[str | Path]) -> tuple[list[Source], list[Problem]]:
    sources, problems = [], []
    for given in paths:
        path = Path(given)
        files = sorted(p for p in path.rglob("*") if _is_input(p)) if path.is_dir() else [path]
        for file in files:
            name = str(file)
            if file.name in KUSTOMIZATIONS:
                problems.append(Problem(name, 1, "", "a kustomization names other files rather than holding objects: give those files instead"))
                continue
            try:
                sources.append(Source(name, file.read_bytes().decode("utf-8")))
            except UnicodeDecodeError as err:
                problems.append(Problem(name, 1, "", f"the file is not UTF-8 text ({err.reason} at byte {err.start})"))
            except OSError as err:
                problems.append(Problem(name, 1, "", f"cannot read the file: {err.strerror or err}"))
    return sources, problems


def read_sources(paths: Iterable[str | Path]) -> list[Source]:
    """The text of each file; a folder stands for every .yaml/.yml file below it.

    Raises InvalidInput for files that cannot be read or are not UTF-8.
    """
    sources, problems = _read(paths)
    if problems:
        raise InvalidInput(problems)
    return sources


def _pass_on(warnings: Iterable[Problem], warn: Warn | None) -> None:
    if warn is not None:
        for warning in warnings:
            warn(warning)


def load_inputs(sources: Iterable[Source], namespace: str = DEFAULT_NAMESPACE) -> Inputs:
    """Parse and validate every document: the custom resources, and the user's own objects (any
    other apiVersion). Those without a namespace go to ``namespace``.

    Raises InvalidInput listing every problem of every document.
    """
    inputs, problems = loading.load(sources, namespace)
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
    compiled = fleet.build(inputs, allow_skip=allow_skip)
    _pass_on(compiled.warnings, warn)
    return compiled.objects()


def render(sources: Iterable[Source], namespace: str = DEFAULT_NAMESPACE, *, allow_skip: bool = False, warn: Warn | None = None) -> list[dict[str, Any]]:
    """``load_inputs`` then ``render_objects``."""
    return render_objects(load_inputs(sources, namespace), allow_skip=allow_skip, warn=warn)


def render_files(
    paths: Iterable[str | Path], namespace: str = DEFAULT_NAMESPACE, *, allow_skip: bool = False, warn: Warn | None = None
) -> list[dict[str, Any]]:
    """``render`` for files and folders; unreadable files are reported with all other problems."""
    sources, unreadable = _read(paths)
    inputs, problems = loading.load(sources, namespace)
    if unreadable or problems:
        raise InvalidInput([*unreadable, *problems])
    return render_objects(inputs, allow_skip=allow_skip, warn=warn)


def validate(sources: Iterable[Source], namespace: str = DEFAULT_NAMESPACE, *, allow_skip: bool = False) -> list[Problem]:
    """Every problem in ``sources``, warnings last (an empty list when they compile cleanly)."""
    warnings: list[Problem] = []
    try:
        render(sources, namespace, allow_skip=allow_skip, warn=warnings.append)
    except InvalidInput as err:
        return list(err.problems)
    return warnings


def to_yaml(objects: Iterable[dict[str, Any]]) -> str:
    """Objects as one multi-document YAML stream, byte for byte the same on every machine."""
    return yamlio.dump_all(objects)


@dataclass(frozen=True)
class LoadedProject:
    """A compiled project and where its files are."""

    file: Path
    output: Path
    build: project.ProjectBuild

    def tree(self) -> tree.Tree:
        return tree.build_tree(self.build)


def _input_files(settings: project.Project, document: yamlio.Document, root: Path) -> tuple[list[Path], list[Problem]]:
    """The files the `specs` and `workloads` globs match, each once, in a fixed order (never the
    project file itself, which a wide glob such as `*.yaml` matches too)."""
    files: dict[Path, None] = {}
    problems = []
    for field in ("specs", "workloads"):
        for index, pattern in enumerate(getattr(settings, field)):
            found = sorted(p for p in root.glob(pattern) if _is_input(p) and p.resolve() != Path(document.source).resolve())
            if not found:
                problems.append(document.problem((field, index), f"matches no file in {root}"))
            files.update(dict.fromkeys(found))
    return list(files), problems


def load_project(path: str | Path = PROJECT_FILE, *, allow_skip: bool = False) -> LoadedProject:
    """Read and compile a project: its file, the specs and manifests its globs match, every
    environment. ``allow_skip`` as in ``render_objects``; the warnings are in ``build.warnings``.

    Raises InvalidInput listing every problem of the project file, the inputs and the environments.
    """
    file = Path(path)
    sources, problems = _read([file])
    if problems:
        raise InvalidInput(problems)
    documents, problems = yamlio.load_documents(sources[0].text, sources[0].name)
    if len(documents) > 1:
        problems.append(documents[1].problem((), "the project file must hold one YAML document"))
    if problems:
        raise InvalidInput(problems)
    document = documents[0]
    settings = project.parse_project(document)
    root = file.parent
    input_files, problems = _input_files(settings, document, root)
    # A glob wide enough to match the tree itself must not read it back as input.
    sources, unreadable = _read(input_files)
    sources = [s for s in sources if not s.text.startswith(tree.HEADER)]
    inputs, found = loading.load(sources, settings.namespace)
    if problems or unreadable or found:
        raise InvalidInput([*problems, *unreadable, *found])
    return LoadedProject(file, root / settings.output, project.build(settings, document, inputs, allow_skip=allow_skip))


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


def _report(path: str | Path, write: bool, allow_skip: bool) -> Report:
    loaded = load_project(path, allow_skip=allow_skip)
    changes = treeio.plan(loaded.tree(), loaded.output)
    if write:
        treeio.apply(changes, loaded.output)
    return Report(changes, written=write and bool(changes), output=str(loaded.output), warnings=loaded.build.warnings)


def compile_project(path: str | Path = PROJECT_FILE, *, allow_skip: bool = False) -> Report:
    """Write the project's tree, pruning the generated files it no longer has; the report lists
    every file created, changed or deleted (none when the tree was up to date), and the allowed
    webhook skips as warnings."""
    return _report(path, write=True, allow_skip=allow_skip)


def check_project(path: str | Path = PROJECT_FILE, *, allow_skip: bool = False) -> Report:
    """Compare the project's tree with the files on disk, writing nothing."""
    return _report(path, write=False, allow_skip=allow_skip)


def json_schema(kind: str | None = None) -> dict[str, Any]:
    """JSON Schema of input documents: one kind, or any of them (for yaml-language-server)."""
    from pydantic.json_schema import models_json_schema

    from .kube import json_schema_definitions
    from .models import KINDS

    models = [KINDS[kind]] if kind is not None else list(KINDS.values())
    refs, schema = models_json_schema([(cls, "validation") for cls in models], by_alias=True)
    schema["$defs"].update(json_schema_definitions())
    if kind is not None:
        schema.update(schema["$defs"].pop(models[0].__name__))
    else:
        schema["oneOf"] = [refs[(cls, "validation")] for cls in models]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def project_json_schema() -> dict[str, Any]:
    """JSON Schema of the project file, lmcache-gitops.yaml."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **project.Project.model_json_schema(by_alias=True)}


def json_schema_text(kind: str | None = None) -> str:
    """``json_schema(kind)`` as text; the kind "project" gives the project file's schema."""
    schema = project_json_schema() if kind == "project" else json_schema(kind)
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
