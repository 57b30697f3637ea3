"""What a set of inputs deploys: every resource built, and the user's objects wired to them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..build.fleet import Built, build_resources, manifest_problems, remote_problems, route_problems
from ..build.secrets import NotSecrets, secret_problems
from ..errors import InvalidInput, Problem
from ..k8s.kinds import sort_objects
from ..read.inputs import Inputs, Manifest, ResourceKey
from .wiring import Deployed, wire


@dataclass(frozen=True)
class Fleet:
    """Compiled inputs: each resource with its objects, each manifest with the object it deploys
    (wired when it opts in), and the webhook skips that were allowed, as warnings."""

    built: list[Built]
    workloads: list[Deployed]
    warnings: list[Problem]
    unresolved: list[tuple[Manifest, ResourceKey]] = field(default_factory=list)  # wired to an excused engine

    def __repr__(self) -> str:
        return f"<Fleet {len(self.built)} resources, {len(self.workloads)} objects of yours>"

    def objects(self) -> list[dict[str, Any]]:
        """Everything deployed, in `kustomize build` order."""
        return sort_objects(deployed_objects(self.built, self.workloads))


def deployed_objects(built: Iterable[Built], workloads: Iterable[Deployed]) -> Iterator[dict[str, Any]]:
    """Every object the resources generate, then every object of the user's."""
    for item in built:
        yield from item.objects
    for deployed in workloads:
        yield deployed.object


def compile_fleet(inputs: Inputs, *, allow_skip: bool = False, not_secrets: NotSecrets | None = None) -> Fleet:
    """Compile ``inputs``; raises InvalidInput with every problem of the resources and the
    manifests, a secret-looking value among them included (unless ``not_secrets`` clears it)."""
    built, problems = build_resources(inputs.resources, inputs.excused)
    problems += manifest_problems(inputs.manifests, built)
    problems += route_problems(built, inputs.manifests, inputs.excused)
    problems += remote_problems(built, inputs.manifests, inputs.excused)
    problems += secret_problems(inputs, not_secrets or {})
    wired, found = wire(inputs.manifests, built, allow_skip=allow_skip, excused=inputs.excused)
    if problems or found:
        raise InvalidInput([*problems, *found])
    return Fleet(built, wired.workloads, wired.warnings, wired.unresolved)
