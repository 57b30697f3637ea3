"""The GitOps tree of a compiled project, as file paths and their text (no I/O).

    bases/kustomization.yaml                  every base
    bases/<resource>/kustomization.yaml       the resource's objects
    bases/<resource>/<kind>.<name>.yaml       one object per file, in the base namespace
    bases/_workloads/<kind>.<name>.yaml       a copy of each of the user's objects, as written
    bases/_workloads/patches/<kind>.<name>.yaml   the webhook's wiring of a workload (base namespace)
    overlays/<env>/kustomization.yaml         the environment: its tiers
    overlays/<env>/cache/kustomization.yaml   the environment's Namespace and a folder per resource
    overlays/<env>/cache/namespace.<name>.yaml    the environment's Namespace, as deployed
    overlays/<env>/cache/<resource>/kustomization.yaml    its base, the namespace, labels, annotations, patches
    overlays/<env>/cache/<resource>/patches/<kind>.<name>.yaml    what differs in the environment (strategic merge)
    overlays/<env>/cache/<resource>/<kind>.<name>.yaml    an object only the environment has (a ServiceMonitor it enables)
    overlays/<env>/workloads/...              the same for the user's workloads, in one folder (applied second)
    clusters/<env>/...                        what makes Argo CD or Flux sync it (see delivery.py)
    rendered/<env>/<kind>.<name>.yaml         with `rendered`: every object the environment deploys

Kustomize's namespace transformer rewrites metadata.namespace but not names inside strings (the
connection JSON's host, coordinator URLs in args): those differ from the base in every
environment with another namespace, so patches carry them like any other difference.
"""

from __future__ import annotations

from typing import Any

from ..build.fleet import Built
from ..errors import InvalidInput, Problem
from ..inject.wiring import Deployed
from ..k8s.kinds import sort_objects
from ..naming import (
    BASES,
    CACHE_TIER,
    HEADER,
    KUSTOMIZATION,
    OVERLAYS,
    PATCHES,
    RENDERED,
    WORKLOADS,
    WORKLOADS_TIER,
    file_name,
)
from ..read.inputs import Manifest, Resource
from ..read.yamlio import dump_all
from . import smp
from .delivery import rendered_environments
from .environments import EnvironmentBuild, ProjectBuild, add_metadata, all_tiers

Tree = dict[str, str]  # POSIX path below the output folder -> file text

ObjectKey = tuple[str, str, str]


def _key(obj: dict[str, Any]) -> ObjectKey:
    return (obj["apiVersion"], obj["kind"], obj["metadata"]["name"])


def _text(obj: dict[str, Any]) -> str:
    return HEADER + dump_all([obj])


def _kustomization(**fields: Any) -> str:
    """A kustomization with current fields only, in kustomize's own field order
    (kustfile `determineFieldOrder`), so `kustomize edit fix` leaves it unchanged."""
    order = ("resources", "namespace", "labels", "commonAnnotations", "patches")
    body = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
    body.update((name, fields[name]) for name in order if fields.get(name) is not None)
    return HEADER + dump_all([body], sort_keys=False)


def _workloads(workloads: list[Deployed]) -> tuple[Tree, list[Problem]]:
    """The user's objects as written, and a patch with the wiring of each wired workload."""
    folder = f"{BASES}/{WORKLOADS}"
    tree: Tree = {}
    patches: list[dict[str, str]] = []
    problems: list[Problem] = []
    for deployed in workloads:
        manifest = deployed.manifest
        tree[f"{folder}/{file_name(manifest.data)}"] = _text(manifest.data)
        change = _patch(manifest, manifest.data, deployed.object, problems)
        if change is not None:
            path = f"{PATCHES}/{file_name(manifest.data)}"
            patches.append({"path": path})
            tree[f"{folder}/{path}"] = _text(change)
    names = sorted(file_name(deployed.manifest.data) for deployed in workloads)
    tree[f"{folder}/{KUSTOMIZATION}"] = _kustomization(
        resources=names, patches=sorted(patches, key=lambda p: p["path"]) or None
    )
    return tree, problems


def _bases(base: list[Built], workloads: list[Deployed]) -> tuple[Tree, list[Problem]]:
    folders = sorted(item.resource.name for item in base) + ([WORKLOADS] if workloads else [])
    tree = {f"{BASES}/{KUSTOMIZATION}": _kustomization(resources=sorted(folders))}
    for item in base:
        folder = f"{BASES}/{item.resource.name}"
        names = sorted(file_name(obj) for obj in item.objects)
        tree[f"{folder}/{KUSTOMIZATION}"] = _kustomization(resources=names)
        tree.update((f"{folder}/{file_name(obj)}", _text(obj)) for obj in item.objects)
    if not workloads:
        return tree, []
    more, problems = _workloads(workloads)
    return {**tree, **more}, problems


def _patch(
    owner: Resource | Manifest, old: dict[str, Any], new: dict[str, Any] | None, problems: list[Problem]
) -> dict[str, Any] | None:
    """The patch from ``old`` to ``new`` (None: delete it), compared in ``old``'s namespace (an
    overlay's namespace transformer does the rest); None when they are equal or it cannot be
    patched, which is added to ``problems``."""
    if new is None:
        return smp.deletion(old)
    try:
        return smp.patch(old, {**new, "metadata": {**new["metadata"], "namespace": old["metadata"]["namespace"]}})
    except smp.Unpatchable as err:
        problems.append(
            owner.problem(
                ("metadata", "name"),
                f'{old["kind"]} "{old["metadata"]["name"]}" cannot be patched: {err} (kustomize merges that list item by item on it)',
            )
        )
        return None


def _overlay(env: EnvironmentBuild, base: list[Built], workloads: list[Deployed]) -> tuple[Tree, list[Problem]]:
    """The environment's overlay: a folder per tier, and a kustomization that builds them all.

    The cache tier is a folder per resource, each with the environment's namespace, labels,
    annotations and the resource's patches: kustomize searches a patch's target among the objects
    of its own kustomization, and transforms each object once, so this builds in half the time of
    one folder with them all (1000 specs: 25 s instead of 42 s) and gives the same bytes."""
    folder = f"{OVERLAYS}/{env.name}"
    tree: Tree = {}
    problems: list[Problem] = []
    cache = f"{folder}/{CACHE_TIER}"
    parts: list[str] = []
    if env.namespace is not None:
        # Written as deployed: the tier's own kustomization transforms nothing.
        namespace = add_metadata(env.namespace, env.settings.labels or {}, env.settings.annotations or {})
        parts.append(file_name(namespace))
        tree[f"{cache}/{file_name(namespace)}"] = _text(namespace)
    base_objects = {item.resource.name: item.objects for item in base}
    for item in env.built:
        leaf = _Kustomized(f"{cache}/{item.resource.name}", f"../../../../{BASES}/{item.resource.name}", tree, problems)
        before = {_key(obj): obj for obj in base_objects[item.resource.name]}
        after = {_key(obj): obj for obj in item.objects}
        for key in sorted(before.keys() | after.keys()):
            old, new = before.get(key), after.get(key)
            if old is not None:
                leaf.add_patch(item.resource, old, new)
            elif new is not None:
                leaf.add_object(new)
        leaf.write(env)
        parts.append(item.resource.name)
    tree[f"{cache}/{KUSTOMIZATION}"] = _kustomization(resources=sorted(parts))  # kustomize refuses one without fields
    tiers = [CACHE_TIER]
    if workloads:
        tier = _Kustomized(f"{folder}/{WORKLOADS_TIER}", f"../../../{BASES}/{WORKLOADS}", tree, problems)
        # The environment's objects are the base's it includes, moved to its namespace (and
        # overridden); the others are deleted from the build.
        deployed = {_key(d.object): d.object for d in env.workloads}
        for in_base in workloads:
            tier.add_patch(in_base.manifest, in_base.object, deployed.get(_key(in_base.object)))
        tier.write(env)
        tiers.append(WORKLOADS_TIER)
    tree[f"{folder}/{KUSTOMIZATION}"] = _kustomization(resources=tiers)
    return tree, problems


class _Kustomized:
    """A folder of an overlay that builds a base folder in the environment: the base, the objects
    only the environment has, the environment's namespace, labels and annotations, and patches."""

    def __init__(self, folder: str, base: str, tree: Tree, problems: list[Problem]) -> None:
        self.folder, self.tree, self.problems = folder, tree, problems
        self.resources = [base]
        self.patches: list[dict[str, str]] = []

    def add_object(self, obj: dict[str, Any]) -> None:
        """An object only the environment has."""
        self.resources.append(file_name(obj))
        self.tree[f"{self.folder}/{file_name(obj)}"] = _text(obj)

    def add_patch(self, owner: Resource | Manifest, old: dict[str, Any], new: dict[str, Any] | None) -> None:
        change = _patch(owner, old, new, self.problems)
        if change is not None:
            path = f"{PATCHES}/{file_name(old)}"
            self.patches.append({"path": path})
            self.tree[f"{self.folder}/{path}"] = _text(change)

    def write(self, env: EnvironmentBuild) -> None:
        settings = env.settings
        self.tree[f"{self.folder}/{KUSTOMIZATION}"] = _kustomization(
            resources=sorted(self.resources),
            namespace=settings.namespace,
            labels=[{"pairs": dict(sorted(settings.labels.items()))}] if settings.labels else None,
            commonAnnotations=dict(sorted(settings.annotations.items())) if settings.annotations else None,
            patches=sorted(self.patches, key=lambda p: p["path"]) or None,
        )


def _objects_folder(folder: str, objects: list[dict[str, Any]], *, kustomization: bool) -> Tree:
    """A file per object, and a kustomization naming them all when ``kustomization``."""
    tree = {f"{folder}/{file_name(obj)}": _text(obj) for obj in objects}
    if kustomization:
        tree[f"{folder}/{KUSTOMIZATION}"] = _kustomization(resources=sorted(file_name(obj) for obj in objects))
    return tree


def shared_file(path: str) -> bool:
    """Whether a file of the tree holds what every input adds to (a kustomization listing the
    resources or objects, an environment's Namespace, what syncs it) rather than what one
    resource or object of the user's makes."""
    top, *rest = path.split("/")
    if top == BASES:
        return rest in ([KUSTOMIZATION], [WORKLOADS, KUSTOMIZATION])
    if top == OVERLAYS:  # <env>/kustomization.yaml, and the files of its tier folders themselves
        return len(rest) <= 3
    if top == RENDERED:  # the Namespace, and any object of the user's of that kind
        return rest[-1].startswith("namespace.")
    return True  # clusters/


def builds(build: ProjectBuild) -> dict[str, list[dict[str, Any]]]:
    """Per folder of the tree that kustomize builds (each is a path Argo CD, Flux or a user
    points at), exactly the objects `kustomize build <folder>` must give."""
    found = {BASES: build.base.objects()}
    for env in build.environments:
        tiers = env.tiers()
        found[f"{OVERLAYS}/{env.name}"] = all_tiers(tiers)
        found.update((f"{OVERLAYS}/{env.name}/{tier}", objects) for tier, objects in tiers.items())
    found.update((folder, sort_objects(objects)) for folder, objects in sorted(build.clusters().items()))
    return found


def build_tree(build: ProjectBuild, *, rendered: bool = False) -> Tree:
    """Every file of the tree, with rendered/ when the project or ``rendered`` asks for it; raises
    InvalidInput when an environment's change cannot be patched."""
    tree, problems = _bases(build.base.built, build.base.workloads)
    synced = rendered_environments(build.project)
    for env in build.environments:
        overlay, found = _overlay(env, build.base.built, build.base.workloads)
        tree.update(overlay)
        problems += found
        if rendered or build.project.rendered or env.name in synced:
            tree.update(_objects_folder(f"{RENDERED}/{env.name}", env.objects(), kustomization=False))
    for folder, objects in build.clusters().items():
        tree.update(_objects_folder(folder, objects, kustomization=True))
    if problems:
        raise InvalidInput(problems)
    return dict(sorted(tree.items()))
