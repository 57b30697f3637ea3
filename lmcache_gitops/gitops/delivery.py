"""Delivery: which GitOps tool syncs each environment, what that adds to the environment (its
namespace, Argo CD's sync waves), and the objects that make the tool sync it (`clusters/`).

    clusters/<env>/       Argo CD: the environment's Application, with a source per tier folder
                          Flux: the GitRepository (unless an existing one), a Kustomization for
                          the cache tier, and one for the workloads that depends on it
    clusters/_argocd/     Argo CD with applicationSet: one ApplicationSet for its environments

Argo CD applies by sync wave and waits for each wave to be healthy: the namespace (0), the cache
tier (1), the workloads (2). Flux applies a Kustomization at a time: the workloads' one depends on
the cache tier's, which waits for its objects to be ready.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from ..build.secrets import url_password
from ..errors import FieldPath, Problem
from ..k8s import checks, podsecurity
from ..k8s.kinds import pod_template
from ..models.delivery import ArgoCD, ArgoEnvironment, Delivery, Flux, FluxEnvironment, Repository
from ..models.project_file import Environment, Project
from ..naming import ARGOCD, CACHE_TIER, CLUSTERS, OVERLAYS, RENDERED, WORKLOADS_TIER
from ..read.yamlio import Document

Tool = Literal["argocd", "flux"]

SYNC_WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
FLUX_PRUNE = "kustomize.toolkit.fluxcd.io/prune"
WAVES = {"namespace": "0", CACHE_TIER: "1", WORKLOADS_TIER: "2"}
_KEEP = {"argocd": {SYNC_OPTIONS: "Prune=false,Delete=false"}, "flux": {FLUX_PRUNE: "disabled"}}
_COMMIT = re.compile(r"[0-9a-f]{40}")
_READY_KINDS = ("DaemonSet", "Deployment", "StatefulSet")  # what Flux waits for without `wait`

Objects = list[dict[str, Any]]


@dataclass(frozen=True)
class Target:
    """How one environment is synced: the settings for it of the one tool that syncs it."""

    argocd: ArgoEnvironment | None = None
    flux: FluxEnvironment | None = None

    @property
    def tool(self) -> Tool:
        return "argocd" if self.argocd is not None else "flux"


def _synced(tool: ArgoCD | Flux | None, names: Iterable[str]) -> dict[str, Any]:
    if tool is None:
        return {}
    if tool.environments is None:
        return dict.fromkeys(names)
    return dict(tool.environments)


def targets(project: Project) -> dict[str, Target]:
    """Per delivered environment, its target (an environment both tools claim is Argo CD's here;
    `problems` reports it)."""
    delivery = project.delivery
    if delivery is None:
        return {}
    names = sorted(project.environments)
    found: dict[str, Target] = {}
    for name, flux in _synced(delivery.flux, names).items():
        found[name] = Target(flux=flux or FluxEnvironment())
    for name, argo in _synced(delivery.argocd, names).items():
        found[name] = Target(argocd=argo or ArgoEnvironment())
    return {name: found[name] for name in sorted(found) if name in project.environments}


def creates_namespace(project: Project, env: Environment) -> bool:
    return env.create_namespace if env.create_namespace is not None else project.delivery is not None


def problems(project: Project, document: Document) -> Iterator[Problem]:
    """The checks of `repository` and `delivery` that span fields."""
    delivery = project.delivery
    if delivery is None:
        return
    repository = project.repository
    if repository is None:
        yield document.problem(
            ("delivery",), "needs the repository the GitOps tool reads: add repository: {url: ..., revision: main}"
        )
    elif url_password(repository.url):
        yield document.problem(
            ("repository", "url"),
            "holds a password, which would be committed: give the credentials to the GitOps tool "
            "instead (an Argo CD repository Secret, or delivery.flux.gitRepository.secretRef)",
        )
    elif delivery.flux is not None and "://" not in repository.url:
        yield document.problem(
            ("repository", "url"), "Flux clones https:// and ssh:// URLs only: write it as ssh://user@host/path"
        )
    path = repository.path if repository is not None else None
    if path is not None and posixpath.normpath(path).startswith(".."):
        yield document.problem(("repository", "path"), "must be a folder inside the repository (no leading ..)")
    if delivery.argocd is None and delivery.flux is None:
        yield document.problem(("delivery",), "names no GitOps tool: add argocd, flux, or both")
    yield from _environment_problems(project, delivery, document)
    yield from _name_problems(delivery, document, sorted(targets(project)))


def _environment_problems(project: Project, delivery: Delivery, document: Document) -> Iterator[Problem]:
    known = ", ".join(json.dumps(name) for name in sorted(project.environments))
    argo = _synced(delivery.argocd, project.environments)
    for tool, settings in (("argocd", delivery.argocd), ("flux", delivery.flux)):
        for name in (settings.environments or {}) if settings is not None else {}:
            where = ("delivery", tool, "environments", name)
            if name not in project.environments:
                yield document.problem(where, f"is not an environment of the project (it has {known})")
            elif tool == "flux" and name in argo:
                yield document.problem(
                    where, f'"{name}" is synced by Argo CD too: list each environment under one tool only'
                )
    if delivery.flux is not None and delivery.flux.environments is None and delivery.argocd is not None:
        overlap = sorted(set(argo) & set(project.environments))
        if overlap:
            yield document.problem(
                ("delivery", "flux"),
                f"syncs every environment, and Argo CD syncs {', '.join(map(json.dumps, overlap))}: "
                "list the environments each tool syncs under its `environments`",
            )


def _name_problems(delivery: Delivery, document: Document, environments: list[str]) -> Iterator[Problem]:
    """The names the objects get: the tool labels what it applies with them, so each must be a
    DNS label (63 characters at most)."""
    for tool, settings in (("argocd", delivery.argocd), ("flux", delivery.flux)):
        if settings is not None and (reason := checks.dns1123_label(settings.namespace)):
            yield document.problem(("delivery", tool, "namespace"), reason)
    longest = max(environments, key=len, default=None)
    if longest is not None:
        name = f"{delivery.name}-{longest}-{WORKLOADS_TIER}" if delivery.flux else f"{delivery.name}-{longest}"
        if reason := checks.dns1123_label(name):
            yield document.problem(("delivery", "name"), f'makes the name "{name}", which {reason}: shorten it')
    if delivery.flux is not None:
        repository = delivery.flux.git_repository
        for path, value in (
            (("gitRepository", "name"), repository.name),
            (("gitRepository", "secretRef"), repository.secret_ref),
        ):
            if value is not None and (reason := checks.dns1123_subdomain(value)):
                yield document.problem(("delivery", "flux", *path), reason)
        for env, flux in (delivery.flux.environments or {}).items():
            where: FieldPath = ("delivery", "flux", "environments", env)
            if flux.kube_config and (reason := checks.dns1123_subdomain(flux.kube_config.secret_ref.name)):
                yield document.problem((*where, "kubeConfig", "secretRef", "name"), reason)
            for index, source in enumerate(flux.post_build.substitute_from if flux.post_build else ()):
                if reason := checks.dns1123_subdomain(source.name):
                    yield document.problem((*where, "postBuild", "substituteFrom", index, "name"), reason)


# ---- what delivery adds to an environment ----


def namespace_object(
    name: str, env: Environment, deployed: Iterable[dict[str, Any]], target: Target | None
) -> dict[str, Any]:
    """The environment's Namespace: labelled for privileged Pod Security when anything it deploys
    needs it, kept by the tool when the environment goes (prune would take everything in it)."""
    labels = dict.fromkeys(podsecurity.LABELS, "privileged") if any(map(podsecurity.needs_privileged, deployed)) else {}
    labels.update(env.namespace_labels or {})
    annotations = {SYNC_WAVE: WAVES["namespace"]} if target is not None and target.tool == "argocd" else {}
    if target is not None:
        annotations.update(_KEEP[target.tool])
    annotations.update(env.namespace_annotations or {})
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = dict(sorted(annotations.items()))
    if labels:
        metadata["labels"] = dict(sorted(labels.items()))
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def pod_security_problems(
    env_name: str, env: Environment, deployed: Iterable[dict[str, Any]], document: Document
) -> Iterator[Problem]:
    """A namespace label that would make Pod Security reject what the environment deploys."""
    chosen = {key: value for key, value in (env.namespace_labels or {}).items() if key in podsecurity.LABELS}
    if not chosen or all(value == "privileged" for value in chosen.values()):
        return
    for obj in deployed:
        template = pod_template(obj)
        reason = next(podsecurity.breaks(template), None) if template is not None else None
        if reason is not None:
            for key, value in sorted(chosen.items()):
                if value != "privileged":
                    yield document.problem(
                        ("environments", env_name, "namespaceLabels", key),
                        f'{key}: {value} would reject {obj["kind"]} "{obj["metadata"]["name"]}", which needs '
                        f"{reason}: leave the label to lmcache-gitops (privileged exactly when needed)",
                    )
            return


def with_wave(obj: dict[str, Any], wave: str) -> dict[str, Any]:
    """``obj`` in Argo CD sync wave ``wave``, unless it already names its own."""
    annotations = obj["metadata"].get("annotations") or {}
    if SYNC_WAVE in annotations:
        return obj
    return {**obj, "metadata": {**obj["metadata"], "annotations": {**annotations, SYNC_WAVE: wave}}}


# ---- the objects that make each tool sync ----


@dataclass(frozen=True)
class Paths:
    """Where the tree is inside the repository (a POSIX path, "." for its root)."""

    tree: str

    def folder(self, *parts: str) -> str:
        """The repository path of a folder of the tree, as Argo CD writes it."""
        return posixpath.normpath(posixpath.join(self.tree, *parts))

    def flux(self, *parts: str) -> str:
        return f"./{self.folder(*parts)}"


def _sync_policy(argocd: ArgoCD) -> dict[str, Any]:
    policy = argocd.sync_policy
    out: dict[str, Any] = {}
    if policy.automated:
        out["automated"] = {"prune": policy.prune, "selfHeal": policy.self_heal}
    if policy.sync_options:
        out["syncOptions"] = list(policy.sync_options)
    return out


def _destination(target: ArgoEnvironment, namespace: str) -> dict[str, str]:
    if target.name is not None:
        return {"name": target.name, "namespace": namespace}
    return {"namespace": namespace, "server": target.server}


def rendered_environments(project: Project) -> set[str]:
    """The environments Argo CD syncs from rendered/."""
    argocd = project.delivery.argocd if project.delivery is not None else None
    if argocd is None or argocd.source != "rendered":
        return set()
    return {env for env, target in targets(project).items() if target.argocd is not None}


def _synced_top(argocd: ArgoCD) -> str:
    """The top folder of the tree Argo CD syncs an environment's folder of."""
    return RENDERED if argocd.source == "rendered" else OVERLAYS


def _sources(repository: Repository, argocd: ArgoCD, folder: str, tiers: Iterable[str]) -> Objects:
    """What an Application syncs of the environment whose folder below `_synced_top` is ``folder``:
    a source per tier folder of the overlay (Argo CD builds each on its own, so no build holds the
    whole environment: kustomize's time grows faster than a build's objects), or the one folder of
    rendered files."""
    paths = [folder] if argocd.source == "rendered" else [posixpath.join(folder, tier) for tier in tiers]
    return [{"path": path, "repoURL": repository.url, "targetRevision": repository.revision} for path in paths]


def _application(
    name: str,
    repository: Repository,
    argocd: ArgoCD,
    paths: Paths,
    env: str,
    namespace: str,
    target: ArgoEnvironment,
    tiers: Iterable[str],
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "destination": _destination(target, namespace),
        "project": argocd.project,
        "sources": _sources(repository, argocd, paths.folder(_synced_top(argocd), env), tiers),
    }
    if policy := _sync_policy(argocd):
        spec["syncPolicy"] = policy
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            # Deleting the Application deletes what it deployed; its namespace stays (Delete=false).
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
            "name": f"{name}-{env}",
            "namespace": argocd.namespace,
        },
        "spec": spec,
    }


def _application_set(
    name: str,
    repository: Repository,
    argocd: ArgoCD,
    paths: Paths,
    synced: dict[str, tuple[str, ArgoEnvironment]],
    tiers: Iterable[str],
) -> dict[str, Any]:
    """One ApplicationSet whose list generator has an element per environment; its template gives
    the same Application as `_application` (an unset destination field is empty, which Argo CD
    reads as unset; every environment's overlay has the same tier folders)."""
    elements = [
        {
            "cluster": target.name or "",
            "env": env,
            "namespace": namespace,
            "path": paths.folder(_synced_top(argocd), env),
            "server": target.server if target.name is None else "",
        }
        for env, (namespace, target) in sorted(synced.items())
    ]
    spec: dict[str, Any] = {
        "destination": {"name": "{{.cluster}}", "namespace": "{{.namespace}}", "server": "{{.server}}"},
        "project": argocd.project,
        "sources": _sources(repository, argocd, "{{.path}}", tiers),
    }
    if policy := _sync_policy(argocd):
        spec["syncPolicy"] = policy
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name, "namespace": argocd.namespace},
        "spec": {
            "generators": [{"list": {"elements": elements}}],
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "template": {
                "metadata": {
                    "finalizers": ["resources-finalizer.argocd.argoproj.io"],
                    "name": f"{name}-{{{{.env}}}}",
                },
                "spec": spec,
            },
        },
    }


def _git_ref(revision: str) -> dict[str, str]:
    if _COMMIT.fullmatch(revision):
        return {"commit": revision}
    if revision.startswith("refs/"):
        return {"name": revision}
    return {"branch": revision}


def _repository_name(delivery: Delivery, flux: Flux) -> str:
    return flux.git_repository.name or delivery.name


def _git_repository(repository: Repository, delivery: Delivery, flux: Flux) -> dict[str, Any]:
    settings = flux.git_repository
    spec: dict[str, Any] = {
        "interval": settings.interval,
        "ref": _git_ref(repository.revision),
        "url": repository.url,
    }
    if settings.secret_ref is not None:
        spec["secretRef"] = {"name": settings.secret_ref}
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": _repository_name(delivery, flux), "namespace": flux.namespace},
        "spec": spec,
    }


def _post_build(settings: FluxEnvironment) -> dict[str, Any] | None:
    post = settings.post_build
    if post is None:
        return None
    out: dict[str, Any] = {}
    if post.substitute:
        out["substitute"] = dict(sorted(post.substitute.items()))
    if post.substitute_from:
        out["substituteFrom"] = [
            {"kind": s.kind, "name": s.name, **({"optional": True} if s.optional else {})} for s in post.substitute_from
        ]
    return out


def _kustomizations(
    delivery: Delivery, flux: Flux, paths: Paths, env: str, settings: FluxEnvironment, tiers: dict[str, Objects]
) -> Iterator[dict[str, Any]]:
    """A Kustomization per tier of the environment, each depending on the one before."""
    before: str | None = None
    for tier, objects in tiers.items():
        name = f"{delivery.name}-{env}-{tier}"
        spec: dict[str, Any] = {
            "interval": flux.interval,
            "path": paths.flux(OVERLAYS, env, tier),
            "prune": flux.prune,
            "sourceRef": {"kind": "GitRepository", "name": _repository_name(delivery, flux)},
            "timeout": flux.timeout,
        }
        if flux.wait:
            spec["wait"] = True
        elif tier == CACHE_TIER and (checks_ := _health_checks(objects)):
            spec["healthChecks"] = checks_
        if before is not None:
            spec["dependsOn"] = [{"name": before}]
        if settings.kube_config is not None:
            ref = settings.kube_config.secret_ref
            spec["kubeConfig"] = {"secretRef": {"name": ref.name, **({"key": ref.key} if ref.key else {})}}
        if (post := _post_build(settings)) is not None:
            spec["postBuild"] = post
        yield {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": flux.namespace},
            "spec": dict(sorted(spec.items())),
        }
        before = name


def _health_checks(objects: Objects) -> list[dict[str, str]]:
    return [
        {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": obj["metadata"]["name"],
            "namespace": obj["metadata"]["namespace"],
        }
        for obj in objects
        if obj["kind"] in _READY_KINDS
    ]


def cluster_objects(project: Project, tree: str, tiers: dict[str, dict[str, Objects]]) -> dict[str, Objects]:
    """Per folder below clusters/, the delivery objects in it. ``tree`` is where the tree is in
    the repository; ``tiers`` has each delivered environment's objects by tier (non-empty tiers only)."""
    delivery, repository = project.delivery, project.repository
    if delivery is None or repository is None:
        return {}
    paths = Paths(tree)
    found = targets(project)
    folders: dict[str, Objects] = {}
    argocd, flux = delivery.argocd, delivery.flux
    argo_targets = {
        env: (project.environments[env].namespace, t.argocd) for env, t in found.items() if t.argocd is not None
    }
    if argocd is not None and argo_targets:
        if argocd.application_set:
            every = [tier for tier in (CACHE_TIER, WORKLOADS_TIER) if any(tier in tiers[env] for env in argo_targets)]
            folders[f"{CLUSTERS}/{ARGOCD}"] = [
                _application_set(delivery.name, repository, argocd, paths, argo_targets, every)
            ]
        else:
            for env, (namespace, argo) in argo_targets.items():
                folders[f"{CLUSTERS}/{env}"] = [
                    _application(delivery.name, repository, argocd, paths, env, namespace, argo, tiers[env])
                ]
    if flux is not None:
        for env, target in found.items():
            if target.flux is not None:
                objects = list(_kustomizations(delivery, flux, paths, env, target.flux, tiers[env]))
                if flux.git_repository.create:
                    objects.insert(0, _git_repository(repository, delivery, flux))
                folders[f"{CLUSTERS}/{env}"] = objects
    return folders
