"""A project compiled: the specs as written (the bases) and each environment with its overrides."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import chain
from typing import Any

from ..build.fleet import Built
from ..errors import FieldPath, InvalidInput, Problem
from ..inject.deploy import Fleet, compile_fleet, deployed_objects
from ..inject.wiring import Deployed
from ..k8s import checks
from ..k8s.kinds import annotated_metadata, in_namespace, sort_objects
from ..models import KINDS, VllmRouterSpec
from ..models.inprocess import LMCacheConfigSpec
from ..models.project_file import Environment, Project, ResourceOverride
from ..naming import CACHE_TIER, WORKLOADS_TIER, selector_labels
from ..read.inputs import Inputs, Manifest, Resource, ResourceKey, parse, parse_manifest, repeats
from ..read.messages import validate_as
from ..read.yamlio import Document, Override
from . import addresses, delivery, smp, substitution

Objects = list[dict[str, Any]]

_RESERVED_LABELS = frozenset(selector_labels("", ""))  # the keys Services and ServiceMonitors select on


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
    built: list[Built]
    workloads: list[Deployed]
    namespace: dict[str, Any] | None = None  # the environment's Namespace object, when it owns it

    def __repr__(self) -> str:
        return f"<Environment {self.name}: namespace {self.settings.namespace}, {len(self.objects())} objects>"

    def tiers(self) -> dict[str, Objects]:
        """What each tier of the overlay deploys, exactly as `kustomize build overlays/<name>/<tier>`
        gives it: the cache tier (the namespace and what the specs generate), then the workloads
        (only in a project that has any)."""
        labels, annotations = self.settings.labels or {}, self.settings.annotations or {}
        cache = [*([self.namespace] if self.namespace else []), *deployed_objects(self.built, [])]
        tiers = {CACHE_TIER: cache}
        if self.workloads:
            tiers[WORKLOADS_TIER] = [deployed.object for deployed in self.workloads]
        return {
            tier: sort_objects(add_metadata(o, labels, annotations) for o in found) for tier, found in tiers.items()
        }

    def objects(self) -> Objects:
        """Everything the environment deploys, exactly as `kustomize build overlays/<name>` gives it."""
        return all_tiers(self.tiers())


def all_tiers(tiers: dict[str, Objects]) -> Objects:
    """The objects of every tier, in `kustomize build` order: what the overlay builds to."""
    return sort_objects(obj for objects in tiers.values() for obj in objects)


@dataclass(frozen=True)
class ProjectBuild:
    """The whole project, compiled: the bases (the specs as written, the manifests wired in the
    base namespace), every environment, and the webhook skips that were allowed."""

    project: Project
    base: Fleet  # its objects are what `kustomize build bases` gives
    environments: list[EnvironmentBuild]
    warnings: list[Problem]
    tree: str | None = None  # where the tree is in the repository, for the delivery objects

    def __repr__(self) -> str:
        return f"<ProjectBuild {', '.join(env.name for env in self.environments)}>"

    def clusters(self) -> dict[str, Objects]:
        """Per folder below clusters/, the objects that make Argo CD or Flux sync the environments."""
        if self.tree is None:
            return {}
        return delivery.cluster_objects(self.project, self.tree, {env.name: env.tiers() for env in self.environments})

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


def _with_extra_metadata(env: Environment, item: Built) -> Built:
    """The resource's objects with the labels and annotations its override adds (patched, in the tree)."""
    override = env.overrides.get(item.resource.name)
    if override is None:
        return item
    return replace(
        item, objects=[add_metadata(obj, override.labels or {}, override.annotations or {}) for obj in item.objects]
    )


def parse_project(document: Document) -> Project:
    project, problems = validate_as(Project, document, document.data)
    if project is None:
        raise InvalidInput(problems)
    return project


Selectors = dict[str, set[str]]  # a name an environment may use -> the ids of what it names


def _id(item: Resource | Manifest) -> str:
    """What `include` and `overrides` know an input by: a resource's name, `<kind>/<name>` for
    one of the user's objects."""
    return item.name if item.kind in KINDS else f"{item.kind}/{item.name}"


def selectors(inputs: Inputs) -> Selectors:
    """Every name an environment's `include` and `overrides` may use: a resource's name, and a
    user's object's `<kind>/<name>`, or its bare name (when no other input has it)."""
    found: Selectors = {}
    items: list[Resource | Manifest] = [*inputs.resources, *inputs.manifests]
    named = [(item.kind, item.name) for item in items] + [(kind, name) for kind, _, name in inputs.excused]
    for kind, name in named:  # an input with a problem of its own is named too: no second problem
        if kind in KINDS:
            found.setdefault(name, set()).add(name)
        else:
            found.setdefault(f"{kind}/{name}", set()).add(f"{kind}/{name}")
            found.setdefault(name, set()).add(f"{kind}/{name}")
    return found


def _resolve(name: str, known: Selectors) -> tuple[str | None, str | None]:
    """The id ``name`` selects, or why it selects none."""
    ids = known.get(name, set())
    if len(ids) == 1:
        return next(iter(ids)), None
    if ids:
        both = " and ".join(json.dumps(i if "/" in i else f"{i} (a spec)") for i in sorted(ids))
        return None, f"names {both}: write <kind>/<name> for one of your objects"
    listed = ", ".join(json.dumps(n) for n in sorted(k for k in known if "/" in k or len(known[k]) == 1)) or "none"
    return None, f"no resource or workload named {json.dumps(name)} among the inputs (they are {listed})"


def resolves(name: str, known: Selectors) -> bool:
    """Whether ``name`` selects one input (as `_resolve` finds it, without saying why not)."""
    return len(known.get(name, ())) == 1


def _included(env: Environment, known: Selectors) -> set[str] | None:
    if env.include is None:
        return None
    return {found for name in env.include if (found := _resolve(name, known)[0]) is not None}


def _overrides(env: Environment, known: Selectors) -> dict[str, tuple[str, ResourceOverride]]:
    """Each override by the input it selects, with the key it is written under."""
    return {found: (name, o) for name, o in env.overrides.items() if (found := _resolve(name, known)[0]) is not None}


def _setting_problems(project: Project, document: Document, known: Selectors) -> Iterator[Problem]:
    """Checks of the project file that need the inputs' names."""
    argo = {name for name, target in delivery.targets(project).items() if target.tool == "argocd"}
    for env_name, env in project.environments.items():
        where: FieldPath = ("environments", env_name)
        if reason := checks.dns1123_label(env_name):
            yield document.problem(where, f"environment name {reason} (it names the folder overlays/<name>)")
        if reason := checks.dns1123_label(env.namespace):
            yield document.problem((*where, "namespace"), reason)
        for index, name in enumerate(env.include or ()):
            if (why := _resolve(name, known)[1]) is not None:
                yield document.problem((*where, "include", index), why)
        included = _included(env, known)
        findings = [*_metadata_findings(where, env.labels, env.annotations)]
        findings += checks.labels((*where, "namespaceLabels"), env.namespace_labels)
        findings += checks.annotation_keys((*where, "namespaceAnnotations"), env.namespace_annotations)
        if env_name in argo:
            findings += _wave_findings(where, env)
        for name, override in env.overrides.items():
            found, why = _resolve(name, known)
            if why is not None:
                findings.append(((*where, "overrides", name), why))
            elif included is not None and found not in included:
                findings.append(((*where, "overrides", name), f'"{name}" is not in this environment\'s include list'))
            findings += _metadata_findings((*where, "overrides", name), override.labels, override.annotations)
        for path, message in findings:
            yield document.problem(path, message)


def _wave_findings(where: FieldPath, env: Environment) -> Iterator[checks.Finding]:
    """Argo CD's sync waves order the environment; an annotation that sets one for all would undo that."""
    settings = [((*where, "annotations"), env.annotations)]
    settings += [((*where, "overrides", name, "annotations"), o.annotations) for name, o in env.overrides.items()]
    for path, mapping in settings:
        if delivery.SYNC_WAVE in (mapping or {}):
            yield (
                (*path, delivery.SYNC_WAVE),
                (
                    "lmcache-gitops sets the sync wave (namespace, then the cache tier, then the workloads): "
                    "set it on a workload's own manifest instead"
                ),
            )


def _metadata_findings(
    where: FieldPath, labels: dict[str, str] | None, annotations: dict[str, str] | None
) -> Iterator[checks.Finding]:
    yield from checks.labels((*where, "labels"), labels)
    yield from checks.annotation_keys((*where, "annotations"), annotations)
    for key in sorted(set(labels or ()) & _RESERVED_LABELS):
        yield (*where, "labels", key), f"{key} is a label that selectors use; lmcache-gitops sets it"


def _names_problems(resources: list[Resource]) -> Iterator[Problem]:
    """An environment deploys into one namespace, so a name may appear once in the whole project;
    and it names the resource's folders in the tree, beside files that all end in .yaml."""
    for resource in resources:
        if resource.name.endswith(".yaml"):
            yield resource.problem(
                ("metadata", "name"),
                f"\"{resource.name}\" names the resource's folder in the tree, beside the tree's .yaml files: "
                "a resource name must not end in .yaml",
            )
    for again, first in repeats(resources, lambda r: r.name):
        if again.key != first.key:  # the same key is a duplicate, reported by the fleet
            yield again.problem(
                ("metadata", "name"),
                f'"{again.name}" is also the name of {first.kind} in namespace "{first.namespace}" '
                f"({first.document.where(('metadata', 'name'))}); resource names must be "
                "unique in a project, because each environment deploys into one namespace",
            )


def _in_environment(env_name: str) -> str:
    return f' (in environment "{env_name}")'


@dataclass(frozen=True)
class _Deployed:
    """What an environment deploys of the specs, and the resources it does not: those its include
    leaves out, and those whose override has a problem (reported there)."""

    resources: list[Resource]
    problems: list[Problem]
    left_out: frozenset[ResourceKey]
    broken: frozenset[ResourceKey]


def _environment_resources(
    env_name: str, env: Environment, resources: list[Resource], document: Document, known: Selectors
) -> _Deployed:
    """The resources ``env`` deploys, in its namespace, with its overrides applied. A problem in a
    field an override sets points at the project file; any other at the spec, naming the environment."""
    out, problems, left_out, broken = [], [], set(), set()
    included, overrides = _included(env, known), _overrides(env, known)
    for resource in resources:
        key = (resource.kind, env.namespace, resource.name)
        if included is not None and resource.name not in included:
            left_out.add(key)
            continue
        written, override = overrides.get(resource.name, ("", None))
        seen = replace(resource.document, context=_in_environment(env_name))
        if override is None or override.spec is None:
            out.append(replace(resource, namespace=env.namespace, document=seen))
            continue
        root = ("environments", env_name, "overrides", written, "spec")
        data = {**seen.data, "spec": merge_patch(seen.data.get("spec") or {}, override.spec)}
        merged, found = parse(replace(seen, data=data, override=Override(document, root, override.spec)), env.namespace)
        problems += found
        if merged is not None:
            out.append(replace(merged, namespace=env.namespace))
        else:
            broken.add(key)
    return _Deployed(out, problems, frozenset(left_out), frozenset(broken))


def _environment_manifests(
    env_name: str, env: Environment, manifests: list[Manifest], document: Document, known: Selectors
) -> tuple[list[Manifest], list[Problem], frozenset[ResourceKey]]:
    """The user's objects ``env`` deploys, in its namespace, each with its override merged as a
    strategic-merge patch (before wiring, so a broken opt-in is the skip it causes) and checked
    again, and those it does not: left out by its include, or with an override that has a problem."""
    out, problems, missing = [], [], set()
    included, overrides = _included(env, known), _overrides(env, known)
    for manifest in manifests:
        if included is not None and _id(manifest) not in included:
            missing.add((manifest.kind, env.namespace, manifest.name))
            continue
        written, override = overrides.get(_id(manifest), ("", None))
        seen = replace(manifest.document, context=_in_environment(env_name))
        data = manifest.data
        if override is not None:
            if override.spec is not None:
                root = ("environments", env_name, "overrides", written, "spec")
                data = {**data, "spec": smp.apply(data.get("spec") or {}, override.spec, manifest.kind, ("spec",))}
                seen = replace(seen, data=data, override=Override(document, root, override.spec))
            data = add_metadata(data, override.labels or {}, override.annotations or {})
            checked, found = parse_manifest(replace(seen, data=data), env.namespace)
            problems += found
            if checked is None:
                missing.add((manifest.kind, env.namespace, manifest.name))
                continue
        out.append(Manifest(in_namespace(data, env.namespace), seen))
    return out, problems, frozenset(missing)


def _needs(resource: Resource) -> Iterator[ResourceKey]:
    """What a resource names in its namespace: an engine's coordinator, a router's Services, a
    configuration's server."""
    spec = resource.model.spec
    if isinstance(spec, LMCacheConfigSpec):
        if spec.remote is not None and spec.remote.server is not None:
            yield ("LMCacheServer", resource.namespace, spec.remote.server)
    elif isinstance(spec, VllmRouterSpec):
        yield from (("Service", resource.namespace, end.service_name) for end in (spec.prefill, spec.decode))
    elif (link := getattr(spec, "coordinator", None)) is not None and link.ref is not None:
        yield ("LMCacheCoordinator", resource.namespace, link.ref.name)


def _left_out_problems(
    env_name: str, deployed: _Deployed, left_out: frozenset[ResourceKey], fleet: Fleet, document: Document
) -> Iterator[Problem]:
    """A reference to an input the environment's include leaves out (an engine's coordinator, a
    workload's engine, a router's Service): fixed in the include, so reported there."""
    needs: list[tuple[Resource | Manifest, ResourceKey]] = [
        (resource, key) for resource in deployed.resources for key in _needs(resource)
    ]
    for owner, key in [*needs, *fleet.unresolved]:
        if key in left_out:
            yield document.problem(
                ("environments", env_name, "include"),
                f'leaves out {key[0]} "{key[2]}", which {owner.kind} "{owner.name}" needs: '
                f'add "{key[2] if key[0] in KINDS else f"{key[0]}/{key[2]}"}" to this include',
            )


def _compile(inputs: Inputs, allow_skip: bool, project: Project) -> tuple[Fleet, list[Problem]]:
    try:
        return compile_fleet(inputs, allow_skip=allow_skip, not_secrets=project.not_secrets), []
    except InvalidInput as err:
        return Fleet([], [], []), list(err.problems)


def _moved(keys: frozenset[ResourceKey], namespace: str) -> frozenset[ResourceKey]:
    return frozenset((kind, namespace, name) for kind, _, name in keys)


def build_project(
    project: Project, document: Document, inputs: Inputs, *, allow_skip: bool = False, tree: str | None = None
) -> ProjectBuild:
    """Compile the bases and every environment; raises InvalidInput with every problem of all of
    them. ``tree`` is where the tree is in the repository (needed for `delivery`)."""
    resources = inputs.resources
    known = selectors(inputs)
    problems = [*_names_problems(resources), *_setting_problems(project, document, known)]
    problems += delivery.problems(project, document)
    objects = {f"{r.kind}/{r.name}" for r in inputs.resources} | {f"{m.kind}/{m.name}" for m in inputs.manifests}
    problems += [
        document.problem(
            ("notSecrets", key), f"names no object among the inputs (they are {', '.join(sorted(objects))})"
        )
        for key in sorted(project.not_secrets)
        if key not in objects
    ]
    base, found = _compile(inputs, allow_skip, project)
    problems += found
    warnings = list(base.warnings)
    targets = delivery.targets(project)
    rendered = delivery.rendered_environments(project)
    services = addresses.services(chain(base.objects(), (m.data for m in inputs.manifests)))
    environments = []
    for env_name, env in sorted(project.environments.items()):
        if checks.dns1123_label(env.namespace):
            continue  # reported once, at the project file; every object would repeat it
        target = targets.get(env_name)
        deployed_specs = _environment_resources(env_name, env, resources, document, known)
        env_resources, found = deployed_specs.resources, deployed_specs.problems
        moved, more_found, missing = _environment_manifests(env_name, env, inputs.manifests, document, known)
        found = [*found, *more_found]
        rewrite = project.rewrite_service_addresses
        for index, manifest in enumerate(moved):
            moved[index], more_found = addresses.check(env_name, env.namespace, manifest, services, rewrite=rewrite)
            found += more_found
        excused = _moved(inputs.excused, env.namespace) | deployed_specs.left_out | deployed_specs.broken | missing
        compiled, more = _compile(Inputs(env_resources, moved, excused), allow_skip, project)
        more += _left_out_problems(env_name, deployed_specs, deployed_specs.left_out | missing, compiled, document)
        if target is not None and target.flux is not None:
            more += substitution.problems(env_name, env, target.flux, env_resources, moved, document)
        built = [_with_extra_metadata(env, item) for item in compiled.built]
        compiled_env = EnvironmentBuild(env_name, env, built, compiled.workloads)
        if delivery.creates_namespace(project, env):
            deployed = compiled_env.objects()
            more += delivery.pod_security_problems(env_name, env, deployed, document)
            compiled_env = replace(
                compiled_env, namespace=delivery.namespace_object(env.namespace, env, deployed, target)
            )
        # A problem (or an allowed skip) of the input itself shows in every environment too: report it once.
        for reported, new in ((problems, [*found, *more]), (warnings, compiled.warnings)):
            seen = {(p.source, p.line, p.path) for p in reported}
            reported += [p for p in new if (p.source, p.line, p.path) not in seen]
        if target is not None and target.tool == "argocd":
            compiled_env = _in_waves(compiled_env)
            if env_name in rendered and not compiled_env.objects():
                problems.append(
                    document.problem(
                        ("delivery", "argocd", "source"),
                        f'Argo CD would sync rendered/{env_name}, but environment "{env_name}" deploys nothing, '
                        "and git keeps no empty folder: deploy something there, or sync it with source: overlays",
                    )
                )
        environments.append(compiled_env)
    if problems:
        raise InvalidInput(problems)
    return ProjectBuild(project, base, environments, sorted(warnings), tree)


def _in_waves(env: EnvironmentBuild) -> EnvironmentBuild:
    """``env`` with each object in its Argo CD sync wave: the cache tier, then the workloads."""
    cache, workloads = delivery.WAVES[CACHE_TIER], delivery.WAVES[WORKLOADS_TIER]
    return replace(
        env,
        built=[replace(item, objects=[delivery.with_wave(o, cache) for o in item.objects]) for item in env.built],
        workloads=[replace(d, object=delivery.with_wave(d.object, workloads)) for d in env.workloads],
    )
