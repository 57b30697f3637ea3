"""Input texts -> typed inputs: the custom resources and the user's own objects, every problem located."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import FieldPath, Problem
from ..k8s import apiserver, checks, kinds
from ..k8s.schema import WORKLOAD_SPECS
from ..models import API_VERSIONS, KINDS, AnyResource
from .messages import describe, kube_problems, validate_as
from .source import Source
from .yamlio import Document, load_documents

T = TypeVar("T")


ResourceKey = tuple[str, str, str]  # kind, namespace, name


@dataclass(frozen=True, eq=False)  # each is its own: two equal documents are a duplicate, not one
class Resource:
    """A validated custom resource, where it came from, and the namespace it compiles into."""

    model: AnyResource
    namespace: str
    document: Document

    @property
    def kind(self) -> str:
        return self.model.kind

    @property
    def name(self) -> str:
        return self.model.metadata.name

    @property
    def key(self) -> ResourceKey:
        return (self.kind, self.namespace, self.name)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.namespace}/{self.name}>"

    def problem(self, path: FieldPath, message: str) -> Problem:
        return self.document.problem(path, message)


class Named:
    """An object as data, with a kind and a name (checked before one is made)."""

    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.data["kind"])

    @property
    def name(self) -> str:
        return str(self.data["metadata"]["name"])


@dataclass(frozen=True, eq=False)
class Manifest(Named):
    """An object of the user's own (a vLLM Deployment, its Service, ...): passed through, and wired
    to its engine when its pod template opts in. ``data`` has its namespace filled in."""

    data: dict[str, Any]
    document: Document

    @property
    def namespace(self) -> str:
        return str(self.data["metadata"]["namespace"])

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (kinds.group(self.data["apiVersion"]), self.kind, self.namespace, self.name)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.namespace}/{self.name}>"

    def problem(self, path: FieldPath, message: str) -> Problem:
        return self.document.problem(path, message)


@dataclass(frozen=True)
class Inputs:
    """Everything read from the input files: the custom resources and the user's own objects, and
    the resources that are named but missing for a reason already reported (a document with a
    problem, an environment's include), so a reference to one is no second problem."""

    resources: list[Resource]
    manifests: list[Manifest]
    excused: frozenset[ResourceKey] = frozenset()

    def __repr__(self) -> str:
        return f"<Inputs {len(self.resources)} resources, {len(self.manifests)} objects of yours>"


def _named(data: Any, default_namespace: str, kinds: Iterable[str]) -> list[ResourceKey]:
    """The keys a document with a problem may have been meant to have: its own, or with a kind
    that is not one of ``kinds``, each of theirs (a reference to its name is a consequence)."""
    metadata = data.get("metadata") if isinstance(data, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str):
        return []
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    namespace = namespace if isinstance(namespace, str) and namespace else default_namespace
    kind = data.get("kind")
    kinds = list(kinds)
    return [(k, namespace, name) for k in ([kind] if isinstance(kind, str) and kind in kinds else kinds)]


def without_nulls(value: Any) -> Any:
    """Drop null fields, as the API server prunes them from custom resources before defaulting."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def parse(document: Document, default_namespace: str) -> tuple[Resource | None, list[Problem]]:
    """Validate one document as one of the custom resources."""
    data = document.data
    if not isinstance(data, dict):
        return None, [document.problem((), f"a document must be a mapping (a Kubernetes object), got {describe(data)}")]
    problems = []
    kind = data.get("kind")
    model_cls = KINDS.get(kind) if isinstance(kind, str) else None
    # A kind's own apiVersion, or (no kind known) any of the two groups'.
    expected = [API_VERSIONS[str(kind)]] if model_cls is not None else sorted(set(API_VERSIONS.values()))
    if data.get("apiVersion") not in expected:
        supported = ", ".join(f'"{version}"' for version in expected)
        problems.append(
            document.problem(
                ("apiVersion",),
                "Required value"
                if "apiVersion" not in data
                else f"Unsupported value: {json.dumps(data['apiVersion'])}: supported values: {supported}",
            )
        )
    if model_cls is None:
        supported = ", ".join(f'"{kind}"' for kind in KINDS)
        problems.append(
            document.problem(
                ("kind",),
                "Required value"
                if "kind" not in data
                else f"Unsupported value: {json.dumps(data['kind'])}: supported values: {supported}",
            )
        )
    if problems or model_cls is None:
        return None, problems
    model, problems = validate_as(model_cls, document, without_nulls(data))
    # Kubernetes' JSON has no infinity or NaN; free-form maps (an L2 adapter's config) could hold one.
    problems += [document.problem(path, "must be a finite number") for path in checks.non_finite(data, ())]
    if problems or not isinstance(model, AnyResource):  # None: the problems say why
        return None, problems
    namespace = model.metadata.namespace or default_namespace
    return Resource(model, namespace, document), []


def _kind_findings(data: dict[str, Any]) -> Iterator[checks.Finding]:
    """``apiVersion`` and ``kind`` name a real type (they also name the object's file in the tree)."""
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if reason := checks.api_version(api_version):
        yield ("apiVersion",), reason
    if kind is None or kind == "":
        yield ("kind",), "Required value"
    elif reason := checks.kind(kind):
        yield ("kind",), reason
    elif kind in ("Kustomization", "Component"):
        yield ("kind",), "a kustomization is not a Kubernetes object: list the files it names instead"
    elif kind == "List" or kind.endswith("List"):
        yield ("kind",), f"a {kind} is not an object: write each of its items as a document of its own"
    elif kind == "Namespace":
        yield (
            ("kind",),
            "an environment's namespace is generated: set createNamespace (and namespaceLabels, "
            "namespaceAnnotations) on the environment in lmcache-gitops.yaml",
        )
    elif kind in kinds.CLUSTER_SCOPED:
        yield (
            ("kind",),
            f"{kind} is cluster-scoped: an environment moves every object into its namespace, so keep it out of the inputs",
        )
    elif kind in kinds.SECRET_KINDS:
        yield (
            ("kind",),
            "lmcache-gitops never writes secret material into the tree: create the Secret out of band "
            "(or as a sealed or external secret)",
        )


def _manifest_findings(data: dict[str, Any]) -> Iterator[checks.Finding]:
    yield from _kind_findings(data)
    yield from ((path, "must be a finite number") for path in checks.non_finite(data, ()))
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        yield ("metadata",), "Required value" if metadata is None else f"must be a mapping, got {describe(metadata)}"
        return
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not isinstance(name, str) or not name:
        yield (
            ("metadata", "name"),
            "Required value" if name is None else f"must be a non-empty string, got {describe(name)}",
        )
    elif reason := checks.dns1123_subdomain(name):
        yield ("metadata", "name"), reason
    if namespace is not None and not isinstance(namespace, str):
        yield ("metadata", "namespace"), f"must be a string, got {describe(namespace)}"
    elif namespace and (reason := checks.dns1123_label(namespace)):
        yield ("metadata", "namespace"), reason
    yield from _metadata_maps(("metadata",), metadata)
    template_path = kinds.POD_TEMPLATES.get(data["kind"]) if isinstance(data.get("kind"), str) else None
    if template_path:  # a Pod's own metadata is checked above
        yield from _template_findings(data, template_path)


def _metadata_maps(path: FieldPath, metadata: dict[str, Any]) -> Iterator[checks.Finding]:
    for field, check in (("labels", checks.labels), ("annotations", checks.annotation_keys)):
        value = metadata.get(field)
        if value is not None and not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
            yield (*path, field), "must be a mapping of strings"
        elif value:
            yield from check((*path, field), value)


def _template_findings(data: dict[str, Any], template_path: tuple[str, ...]) -> Iterator[checks.Finding]:
    """The way to the pod template, and its metadata and spec, are mappings where present (the
    webhooks and kustomize's transformers read them; an opted-in template is checked whole later)."""
    node: Any = data
    for end in range(1, len(template_path) + 1):
        node = node.get(template_path[end - 1])
        if node is None:
            return
        if not isinstance(node, dict):
            yield template_path[:end], f"must be a mapping, got {describe(node)}"
            return
    for field in ("metadata", "spec"):
        value = node.get(field)
        if value is not None and not isinstance(value, dict):
            yield (*template_path, field), f"must be a mapping, got {describe(value)}"


def _workload_problems(document: Document, data: dict[str, Any]) -> tuple[list[Problem], list[Problem]]:
    """A built-in workload as the API server checks it: its spec's shapes (strictly, against the
    kind's schema), and then, when they hold, the rules of its validation code (which leave the
    object usable)."""
    kind = data["kind"]
    if kinds.WORKLOAD_API_VERSIONS.get(kind) != data.get("apiVersion"):
        return [], []
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return [document.problem(("spec",), "Required value")], []
    if kind == "Pod":  # a Pod is its own pod template
        shape = {field: data[field] for field in ("metadata", "spec") if data.get(field) is not None}
        problems = kube_problems(document, (), "PodTemplateSpec", shape)
    else:
        problems = kube_problems(document, ("spec",), WORKLOAD_SPECS[kind], spec)
    if problems:
        return problems, []
    at = kinds.POD_TEMPLATES[kind]
    return [], [document.problem(path, message) for path, message in apiserver.workload(data, at)]


def parse_manifest(document: Document, default_namespace: str) -> tuple[Manifest | None, list[Problem]]:
    """Check one object of the user's own: a namespaced object with a valid name, and a workload
    as the API server would. It is returned when the problems leave it readable."""
    data = document.data
    problems = [document.problem(path, message) for path, message in _manifest_findings(data)]
    if problems:
        return None, problems
    problems, rules = _workload_problems(document, data)
    if problems:
        return None, problems
    metadata = data["metadata"]
    return Manifest(
        {**data, "metadata": {**metadata, "namespace": metadata.get("namespace") or default_namespace}}, document
    ), rules


def is_manifest(data: Any) -> bool:
    """A document of the user's own: any apiVersion but the operator's and lmcache-gitops's (whose
    documents, like ones without an apiVersion, are checked as custom resources)."""
    if not isinstance(data, dict):
        return False
    api_version, kind = data.get("apiVersion"), data.get("kind")
    return (
        isinstance(api_version, str)
        and kinds.group(api_version) not in _GROUPS
        and not (isinstance(kind, str) and kind in KINDS)
    )


_GROUPS = frozenset(kinds.group(version) for version in API_VERSIONS.values())  # the operator's and ours


def load(sources: Iterable[Source], default_namespace: str) -> tuple[Inputs, list[Problem]]:
    """Every resource and object of every source, and the problems found on the way (all of them)."""
    documents: list[Document] = []
    problems: list[Problem] = []
    for source in sources:
        found, unread = load_documents(source.text, source.name)
        documents += found
        problems += unread
    inputs, more = parse_all(documents, default_namespace)
    return inputs, [*problems, *more]


def parse_all(documents: Iterable[Document], default_namespace: str) -> tuple[Inputs, list[Problem]]:
    """Every resource and object of ``documents``, and the problems found on the way."""
    inputs = Inputs([], [])
    excused: set[ResourceKey] = set()
    problems: list[Problem] = []
    for document in documents:
        if is_manifest(document.data):
            manifest, found = parse_manifest(document, default_namespace)
            if manifest is not None:
                inputs.manifests.append(manifest)
            elif isinstance(kind := document.data.get("kind"), str):  # a router may name it
                excused.update(_named(document.data, default_namespace, [kind]))
        else:
            resource, found = parse(document, default_namespace)
            if resource is not None:
                inputs.resources.append(resource)
            else:
                excused.update(_named(document.data, default_namespace, KINDS))
        problems.extend(found)
    return Inputs(inputs.resources, inputs.manifests, frozenset(excused)), problems


def repeats(items: Iterable[T], key: Callable[[T], Hashable]) -> Iterator[tuple[T, T]]:
    """Each item whose ``key`` an earlier item has already, with that first item."""
    first: dict[Hashable, T] = {}
    for item in items:
        other = first.setdefault(key(item), item)
        if other is not item:
            yield item, other
