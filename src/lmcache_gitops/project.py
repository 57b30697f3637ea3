"""A project: the specs as written (the bases) and, per environment, the specs with its overrides."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace
from typing import Any, Iterable, Iterator

from . import checks, fleet
from .errors import FieldPath, InvalidInput, Problem
from .loading import Inputs, Manifest, Produced, Resource, Workloads, parse, validate_as
from .models.project import Environment, Project
from .naming import selector_labels
from .objects import annotated_metadata, in_namespace
from .yamlio import Document

Objects = list[dict[str, Any]]

_RESERVED_LABELS = frozenset(selector_labels("", ""))  # the keys Services and ServiceMonitors select on


@dataclass(frozen=True)
class OverriddenDocument(Document):
    """A spec document as one environment sees it: problems in fields the environment overrides
    point at the project file; all others point at the spec, naming the environment."""

    project: Document
    root: FieldPath  # where this resource's override spec sits in the project file
    patch: Any  # the override spec (None when the environment overrides nothing)
    environment: str

    def problem(self, path: FieldPath, message: str) -> Problem:
        if path[:1] == ("spec",) and _reaches(self.patch, path[1:]):
            return self.project.problem((*self.root, *path[1:]), message)
        return super().problem(path, f'{message} (in environment "{self.environment}")')


def _reaches(patch: Any, path: FieldPath) -> bool:
    """Whether the value at ``path`` (below spec) comes from the override rather than the spec."""
    if patch is None or not path:
        return False
    node = patch
    for part in path:
        if not isinstance(node, dict):
            return True  # the override replaced this subtree whole (a list or a scalar)
        if part not in node:
            return False
        node = node[part]
    return True


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: mappings merge key by key, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


@dataclass(frozen=True)
class EnvironmentBuild:
    """One environment, compiled: its settings, each deployed resource with its objects (with the
    resource's extra labels and annotations, before the environment's own), and each of the
    user's manifests with the object it deploys there."""

    name: str
    settings: Environment
    produced: Produced
    workloads: Workloads

    def objects(self) -> Objects:
        """Everything the environment deploys, exactly as `kustomize build overlays/<name>` gives it."""
        labels, annotations = self.settings.labels or {}, self.settings.annotations or {}
        return fleet.sort_objects(add_metadata(obj, labels, annotations) for obj in fleet.deployed(self.produced, self.workloads))


@dataclass(frozen=True)
class ProjectBuild:
    """The whole project, compiled: the bases (the specs as written, the manifests wired in the
    base namespace), every environment, and the webhook skips that were allowed."""

    base: fleet.Fleet  # its objects are what `kustomize build bases` gives
    environments: list[EnvironmentBuild]
    warnings: list[Problem]

    def environment(self, name: str) -> EnvironmentBuild:
        for env in self.environments:
            if env.name == name:
                return env
        known = ", ".join(f'"{env.name}"' for env in self.environments)
        raise KeyError(f'no environment "{name}" in the project (it has {known})')


def add_metadata(obj: dict[str, Any], labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    """``obj`` with extra labels on its metadata and extra annotations on its metadata and pod
    templates, as kustomize's `labels` (includeSelectors false) and `commonAnnotations` add them."""
    if not labels and not annotations:
        return obj
    out = copy.deepcopy(obj)
    if labels:
        out["metadata"]["labels"] = {**(out["metadata"].get("labels") or {}), **labels}
    if annotations:
        for path in annotated_metadata(out):
            node = out
            for part in path:  # created where missing, as kustomize's fieldspecs (create: true) do
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
            node["annotations"] = {**(node.get("annotations") or {}), **annotations}
    return out


def _with_extra_metadata(env: Environment, resource: Resource, objects: Objects) -> tuple[Resource, Objects]:
    """The resource's objects with the labels and annotations its override adds (patched, in the tree)."""
    override = env.overrides.get(resource.name)
    if override is None:
        return resource, objects
    return resource, [add_metadata(obj, override.labels or {}, override.annotations or {}) for obj in objects]


def parse_project(document: Document) -> Project:
    project, problems = validate_as(Project, document, document.data)
    if project is None:
        raise InvalidInput(problems)
    return project


def _setting_problems(project: Project, document: Document, names: set[str]) -> Iterator[Problem]:
    """Checks of the project file that need the resources' names."""
    for env_name, env in project.environments.items():
        where: FieldPath = ("environments", env_name)
        if reason := checks.dns1123_label(env_name):
            yield document.problem(where, f"environment name {reason} (it names the folder overlays/<name>)")
        if reason := checks.dns1123_label(env.namespace):
            yield document.problem((*where, "namespace"), reason)
        for index, name in enumerate(env.include or ()):
            if name not in names:
                yield document.problem((*where, "include", index), _unknown(name, names))
        findings = [*_metadata_findings((*where,), env.labels, env.annotations)]
        for name, override in env.overrides.items():
            if name not in names:
                findings.append(((*where, "overrides", name), _unknown(name, names)))
            elif env.include is not None and name not in env.include:
                findings.append(((*where, "overrides", name), f'"{name}" is not in this environment\'s include list'))
            findings += _metadata_findings((*where, "overrides", name), override.labels, override.annotations)
        for path, message in findings:
            yield document.problem(path, message)


def _metadata_findings(where: FieldPath, labels: dict[str, str] | None, annotations: dict[str, str] | None) -> Iterator[checks.Finding]:
    yield from checks.labels((*where, "labels"), labels)
    yield from checks.annotations((*where, "annotations"), annotations)
    for key in sorted(set(labels or ()) & _RESERVED_LABELS):
        yield (*where, "labels", key), f"{key} is a label that selectors use; lmcache-gitops sets it"


def _unknown(name: str, names: Iterable[str]) -> str:
    known = ", ".join(json.dumps(n) for n in sorted(names)) or "none"
    return f"no resource named {json.dumps(name)} among the specs (they define {known})"


def _names_problems(resources: list[Resource]) -> Iterator[Problem]:
    """An environment deploys into one namespace, so a name may appear once in the whole project."""
    first: dict[str, Resource] = {}
    for resource in resources:
        other = first.setdefault(resource.name, resource)
        if other is not resource and other.key != resource.key:  # the same key is a duplicate, reported by fleet
            yield resource.problem(
                ("metadata", "name"),
                f'"{resource.name}" is also the name of {other.kind} in namespace "{other.namespace}" '
                f"({other.document.source}:{other.document.line(('metadata', 'name'))}); resource names must be "
                "unique in a project, because each environment deploys into one namespace",
            )


def _environment_resources(
    env_name: str, env: Environment, resources: list[Resource], document: Document
) -> tuple[list[Resource], list[Problem]]:
    """The resources ``env`` deploys, in its namespace, with its overrides applied."""
    out, problems = [], []
    included = set(env.include) if env.include is not None else None
    for resource in resources:
        if included is not None and resource.name not in included:
            continue
        override = env.overrides.get(resource.name)
        patch = override.spec if override is not None else None
        root = ("environments", env_name, "overrides", resource.name, "spec")
        base = resource.document
        data = base.data
        if patch is not None:
            data = {**data, "spec": merge_patch(data.get("spec") or {}, patch)}
        seen = OverriddenDocument(base.source, data, base.lines, document, root, patch, env_name)
        if patch is None:
            out.append(replace(resource, namespace=env.namespace, document=seen))
            continue
        merged, found = parse(seen, env.namespace)
        problems += found
        if merged is not None:
            out.append(replace(merged, namespace=env.namespace))
    return out, problems


def _compile(inputs: Inputs, allow_skip: bool, environment: str | None = None) -> tuple[fleet.Fleet, list[Problem]]:
    try:
        return fleet.build(inputs, allow_skip=allow_skip, environment=environment), []
    except InvalidInput as err:
        return fleet.Fleet([], [], []), list(err.problems)


def build(project: Project, document: Document, inputs: Inputs, *, allow_skip: bool = False) -> ProjectBuild:
    """Compile the bases and every environment; raises InvalidInput with every problem of all of them."""
    resources = inputs.resources
    problems = [*_names_problems(resources), *_setting_problems(project, document, {r.name for r in resources})]
    base, found = _compile(inputs, allow_skip)
    problems += found
    warnings = list(base.warnings)
    environments = []
    for env_name, env in sorted(project.environments.items()):
        env_resources, found = _environment_resources(env_name, env, resources, document)
        moved = [Manifest(in_namespace(m.data, env.namespace), m.document) for m in inputs.manifests]
        compiled, more = _compile(Inputs(env_resources, moved), allow_skip, env_name)
        # A problem (or an allowed skip) of the input itself shows in every environment too: report it once.
        for known, new in ((problems, [*found, *more]), (warnings, compiled.warnings)):
            seen = {(p.source, p.line, p.path) for p in known}
            known += [p for p in new if (p.source, p.line, p.path) not in seen]
        produced = [_with_extra_metadata(env, *pair) for pair in compiled.produced]
        environments.append(EnvironmentBuild(env_name, env, produced, compiled.workloads))
    if problems:
        raise InvalidInput(problems)
    return ProjectBuild(base, environments, sorted(warnings))
