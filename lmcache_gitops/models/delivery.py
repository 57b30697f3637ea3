"""The project file's `repository` and `delivery` blocks: where the tree is, and who syncs it.

Defaults live here; the objects they become are built in `gitops/delivery.py`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import Model, matches, non_empty, rule_error
from .shared import RelativePath

# Go durations as Flux's CRDs accept them (kustomize-controller and source-controller `interval`).
Duration = Annotated[str, matches(r"([0-9]+(\.[0-9]+)?(ms|s|m|h))+", "must be a duration such as 30s, 5m or 1h30m")]
# A git URL Argo CD and Flux clone: a URL with a scheme, or scp-like `user@host:path` (Argo CD only).
GitUrl = Annotated[
    str,
    matches(
        r"(https?|ssh)://[^\s/]+(/\S*)?|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+",
        "must be a git URL: https://host/path, ssh://user@host/path or user@host:path",
    ),
]
# git check-ref-format, in short: no whitespace, control characters, `..`, `~^:?*[\`, or a trailing `/` or `.lock`.
Revision = Annotated[
    str,
    matches(
        r"(?!.*\.\.)(?!.*//)(?!/)[^\s~^:?*\[\\\x00-\x1f\x7f]+(?<![/.])(?<!\.lock)",
        "must be a branch, tag or commit (a git revision: no spaces, `..`, or any of ~^:?*[\\)",
    ),
]
VariableName = Annotated[
    str, matches(r"[_a-zA-Z][_a-zA-Z0-9]*", "must be a variable name: letters, digits and _, not starting with a digit")
]
Name = Annotated[str, non_empty()]


class Repository(Model):
    """The git repository Argo CD or Flux reads the tree from."""

    url: GitUrl
    """The URL the GitOps tool clones (Flux needs an https:// or ssh:// URL)."""
    revision: Revision = "main"
    """The branch, tag or commit to sync."""
    path: RelativePath | None = None
    """The project's folder inside the repository, such as `platform/llm` (default: the project
    file's folder, relative to the root of the git repository that holds it)."""


class SyncPolicy(Model):
    """Argo CD's sync policy for every Application."""

    automated: bool = True
    """Sync on every change of the repository, without a manual sync."""
    prune: bool = True
    """Delete the objects a change removes (automated sync only)."""
    self_heal: bool = True
    """Undo changes made in the cluster (automated sync only)."""
    sync_options: list[Annotated[str, matches(".*=.*", "must be Option=value, such as ServerSideApply=true")]] = Field(
        default_factory=list
    )
    """Argo CD sync options, such as `ServerSideApply=true`."""


class ArgoEnvironment(Model):
    """Where Argo CD deploys one environment: the in-cluster server unless `server` or `name` says otherwise."""

    server: Annotated[str, matches(r"https?://\S+", "must be the API server's https:// URL")] = (
        "https://kubernetes.default.svc"
    )
    name: Name | None = None
    """The name of a cluster registered in Argo CD (instead of `server`)."""

    @model_validator(mode="after")
    def _one_destination(self) -> ArgoEnvironment:
        if self.name is not None and "server" in self.model_fields_set:
            raise rule_error("give the destination cluster's server or its name, not both")
        return self


class ArgoCD(Model):
    """Argo CD syncs these environments: an Application each, or one ApplicationSet for all."""

    namespace: Name = "argocd"
    """Where Argo CD runs (its Applications live there)."""
    project: Name = "default"
    """The AppProject of every Application."""
    application_set: bool = False
    """One ApplicationSet for all environments (in clusters/_argocd/) instead of an Application each."""
    source: Literal["overlays", "rendered"] = "overlays"
    """What each Application syncs: `overlays`, the environment's tier folders, which the repo-server
    builds with kustomize; or `rendered`, the plain files of `rendered/<env>/` (written for these
    environments), which it reads as a directory without a build: for a fleet too large to build
    within the repo-server's timeout."""
    sync_policy: SyncPolicy = Field(default_factory=SyncPolicy)
    environments: dict[str, ArgoEnvironment] | None = None
    """Per environment it syncs: the destination cluster (default: every environment, in-cluster)."""


class SecretKeyRef(Model):
    name: Name
    key: Name | None = None
    """The key holding the kubeconfig (Flux's default: `value`, then `value.yaml`)."""


class KubeConfig(Model):
    secret_ref: SecretKeyRef
    """A Secret in Flux's namespace with the kubeconfig of the remote cluster."""


class SubstituteFrom(Model):
    """A ConfigMap or Secret in Flux's namespace whose keys Flux substitutes."""

    kind: Literal["ConfigMap", "Secret"]
    name: Name
    optional: bool = False
    """Go on when it does not exist (its variables then need defaults)."""
    variables: list[VariableName] = Field(default_factory=list)
    """The keys it holds that the manifests use, so each `${VAR}` can be checked (not emitted)."""


class PostBuild(Model):
    """Flux's post-build substitution, for an environment that really uses `${VAR}` in its manifests."""

    substitute: dict[VariableName, str] = Field(default_factory=dict)
    substitute_from: list[SubstituteFrom] = Field(default_factory=list)


class FluxEnvironment(Model):
    """How Flux syncs one environment."""

    kube_config: KubeConfig | None = None
    """Deploy to a remote cluster (default: the cluster Flux runs in)."""
    post_build: PostBuild | None = None
    """Turn on `${VAR}` substitution for this environment (off: any `${` or `$$` is an error)."""


class GitRepository(Model):
    """The Flux GitRepository the Kustomizations read: created here, or an existing one."""

    name: Name | None = None
    """Its name (default: the delivery name)."""
    create: bool = True
    """Emit it (false: refer to an existing one, such as Flux bootstrap's `flux-system`)."""
    interval: Duration = "1m"
    secret_ref: Name | None = None
    """A Secret in Flux's namespace with the credentials to clone."""


class Flux(Model):
    """Flux syncs these environments: per environment, a Kustomization for the cache tier and one
    for the workloads, which waits for the first."""

    namespace: Name = "flux-system"
    git_repository: GitRepository = Field(default_factory=GitRepository)
    interval: Duration = "10m"
    """How often each Kustomization is reconciled (drift is corrected)."""
    timeout: Duration = "10m"
    """How long a rollout may take before Flux reports it failed."""
    prune: bool = True
    """Delete the objects a change removes."""
    wait: bool = True
    """Wait for every object to be ready (false: wait only for the cache tier's workloads)."""
    environments: dict[str, FluxEnvironment] | None = None
    """Per environment it syncs: its settings (default: every environment, in Flux's cluster)."""


class Delivery(Model):
    """Who syncs the tree: Argo CD, Flux, or each for some environments."""

    name: Annotated[
        str,
        matches(
            r"[a-z0-9]([-a-z0-9]*[a-z0-9])?",
            "must be lowercase letters, digits and '-', starting and ending with a letter or digit",
        ),
    ] = "lmcache"
    """The first part of every delivery object's name: `<name>-<env>`."""
    argocd: ArgoCD | None = None
    flux: Flux | None = None
