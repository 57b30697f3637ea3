"""The project file, `lmcache-gitops.yaml`: where the specs are, where the tree goes, the environments.

These settings are not part of any custom resource, so specs stay valid CRs for the operator.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from .base import Model, Rule, non_empty
from .delivery import Delivery, Repository
from .shared import RelativePath, StringMap


class ResourceOverride(Model):
    """What changes for one resource in one environment."""

    spec: dict[str, Any] | None = None
    """Merged onto the resource's spec as a JSON merge patch (RFC 7386): mappings merge key by key,
    any other value (lists included) replaces the base value, and `null` removes a field."""
    labels: StringMap | None = None
    """Added to the metadata of every object generated for the resource."""
    annotations: StringMap | None = None
    """Added to the metadata of every object generated for the resource, and to its pod template."""


class Environment(Model):
    """One deployment target: `overlays/<name>/` in the tree."""

    namespace: Annotated[str, non_empty()]
    """Every object of the environment goes to this namespace."""
    include: list[Annotated[str, non_empty()]] | None = None
    """Names of the resources this environment deploys (all of them when left out)."""
    labels: StringMap | None = None
    """Added to the metadata of every object of the environment (kustomize `labels`, never selectors)."""
    annotations: StringMap | None = None
    """Added to every object of the environment and to pod templates (kustomize `commonAnnotations`)."""
    overrides: dict[str, ResourceOverride] = Field(default_factory=dict)
    """Per resource name: the spec changes, labels and annotations of this environment."""
    create_namespace: bool | None = None
    """Emit the namespace as an object of the environment, labelled for privileged Pod Security
    when anything in it needs that (default: true when `delivery` is set)."""
    namespace_labels: StringMap | None = None
    """Added to the namespace object's labels."""
    namespace_annotations: StringMap | None = None
    """Added to the namespace object's annotations."""


class Project(Model):
    """The project file, `lmcache-gitops.yaml`."""

    specs: Annotated[list[RelativePath], Rule(bool, "must list at least one glob", minItems=1)] = Field(
        default_factory=lambda: ["specs/**/*.yaml"]
    )
    """Glob patterns of the spec files, relative to the project file (`**` matches any folders)."""
    workloads: list[RelativePath] = Field(default_factory=list)
    """Glob patterns of your own manifest files (vLLM Deployments, their Services, ...). They are
    deployed with every environment, and the workloads that opt in to the operator's injection
    labels and annotations are wired to their engine."""
    output: RelativePath = "."
    """The folder that receives `bases/` and `overlays/`, relative to the project file."""
    namespace: Annotated[str, non_empty()] = "default"
    """The namespace of the bases for specs that set no metadata.namespace."""
    not_secrets: dict[str, list[str]] = Field(default_factory=dict)
    """Values lmcache-gitops would take for secrets that a reviewer has cleared: per object
    (`<kind>/<name>`, such as `Deployment/vllm`), the field paths as its error names them."""
    rewrite_service_addresses: bool = False
    """Rewrite `<service>.<namespace>.svc` addresses of the inputs' Services in your workloads to
    each environment's namespace (off: such an address in another namespace is an error)."""
    rendered: bool = False
    """Also write `rendered/<env>/`: every object each environment deploys, fully built, one file
    per object (what `kustomize build overlays/<env>` gives), for review and for plain-directory sync."""
    repository: Repository | None = None
    """The git repository Argo CD or Flux reads the tree from (needed by `delivery`)."""
    delivery: Delivery | None = None
    """Who syncs which environment: compiled into `clusters/<env>/` (Argo CD Applications, Flux
    Kustomizations and GitRepository)."""
    environments: Annotated[
        dict[str, Environment], Rule(bool, "must declare at least one environment", minProperties=1)
    ]
    """Per environment name: where and what it deploys."""
