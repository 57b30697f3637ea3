"""Flux's post-build substitution, checked before it runs: Flux runs an envsubst over everything
an environment applies, in strict mode (kustomize-controller 1.9's default), so an unset
`${VAR}` fails the whole sync, an unclosed `${` fails the build, and `$$` becomes `$`.

Every string an environment's objects get comes from an input (a spec, a manifest, the project
file), so the inputs are scanned, and each problem names the file, line and field it is written
at. An object annotated or labelled `kustomize.toolkit.fluxcd.io/substitute: disabled` is
skipped by Flux and here. Argo CD substitutes nothing, so only Flux environments are checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import FieldPath, Problem
from ..models.delivery import FluxEnvironment
from ..models.project_file import Environment
from ..read.inputs import Manifest, Resource
from ..read.yamlio import Document

DISABLE = "kustomize.toolkit.fluxcd.io/substitute"
_TRIGGER = re.compile(r"\$(\{|\$)")
_EXPRESSION = re.compile(r"\$\{([^}]*)(\})?")
_VARIABLE = re.compile(r"#?([_a-zA-Z][_a-zA-Z0-9]*)(:?[-=])?")


def _strings(value: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, str]]:
    """Every string of JSON-like ``value``, mapping keys included, with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), str(key)
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))
    elif isinstance(value, str):
        yield path, value


def disabled(*mappings: dict[str, str] | None) -> bool:
    """Whether labels or annotations turn Flux's substitution off for an object."""
    return any((mapping or {}).get(DISABLE) == "disabled" for mapping in mappings)


class Scan:
    """The substitution rules of one Flux environment."""

    def __init__(self, env_name: str, settings: FluxEnvironment) -> None:
        self.env_name, self.post_build = env_name, settings.post_build
        self.provided: set[str] = set()
        if self.post_build is not None:
            self.provided = set(self.post_build.substitute)
            self.provided.update(v for s in self.post_build.substitute_from if not s.optional for v in s.variables)

    def findings(self, text: str) -> Iterator[str]:
        """Why ``text`` would break, or be changed by, the substitution."""
        if _TRIGGER.search(text) is None:
            return
        turn_on = f"delivery.flux.environments.{self.env_name}.postBuild"
        if self.post_build is None:
            sequence = "${" if "${" in text else "$$"
            effect = "substitutes ${VAR} (an unset one fails the sync)" if sequence == "${" else 'turns "$$" into "$"'
            yield (
                f'holds "{sequence}", and Flux, which syncs environment "{self.env_name}", {effect}: write it '
                f"without it, annotate the object {DISABLE}: disabled, or turn substitution on with {turn_on}"
            )
            return
        for match in _EXPRESSION.finditer(text):
            body, closed = match.group(1), match.group(2)
            variable = _VARIABLE.match(body)
            if closed is None:
                yield f'holds "${{" that is never closed, which fails Flux\'s build of environment "{self.env_name}"'
            elif variable is None:
                yield f'holds "${{{body}}}", which is not a variable Flux can substitute'
            elif variable.group(2) is None and variable.group(1) not in self.provided:
                name = variable.group(1)
                yield (
                    f"uses ${{{name}}}, which nothing provides, so Flux fails the sync: add it to "
                    f"{turn_on}.substitute or to the variables of a substituteFrom entry, or give a "
                    f"default (${{{name}:=value}})"
                )

    def problems(self, document: Document, value: Any, root: FieldPath = ()) -> Iterator[Problem]:
        for path, text in _strings(value, root):
            for message in self.findings(text):
                yield document.problem(path, message)


def problems(
    env_name: str,
    env: Environment,
    settings: FluxEnvironment,
    resources: Iterable[Resource],
    manifests: Iterable[Manifest],
    project: Document,
) -> Iterator[Problem]:
    """Every string that Flux's substitution would break or change in what ``env`` deploys, at
    the place it is written: the specs (with the environment's overrides), the manifests, and the
    environment's own labels and annotations."""
    if disabled(env.labels, env.annotations):
        return
    scan = Scan(env_name, settings)
    where: FieldPath = ("environments", env_name)
    for field in ("labels", "annotations", "namespaceLabels", "namespaceAnnotations"):
        yield from scan.problems(project, env.model_dump(by_alias=True).get(field), (*where, field))
    for resource in resources:
        override = env.overrides.get(resource.name)
        if override is not None:
            if disabled(override.labels, override.annotations):
                continue
            for field in ("labels", "annotations"):
                yield from scan.problems(project, getattr(override, field), (*where, "overrides", resource.name, field))
        yield from scan.problems(resource.document, resource.document.data)
    for manifest in manifests:
        metadata = manifest.data.get("metadata") or {}
        if not disabled(metadata.get("labels"), metadata.get("annotations")):
            yield from scan.problems(manifest.document, manifest.document.data)
