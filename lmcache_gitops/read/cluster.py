"""`lmcache-gitops import`: what a cluster prints (`kubectl get ... -o yaml`) -> the files of a project.

Moving off the operator means adopting the running objects with git: the custom resources become
spec files and the vLLM workloads workload files, cleaned of everything the cluster owns (status,
uids, managed fields, the last-applied annotation), so that compiling them gives the objects the
operator created, name for name and label for label, and Argo CD or Flux take them over in place.
What the operator generated (its DaemonSets, Services, ConfigMaps, ...) is skipped, because compile
regenerates it; so is whatever the cluster runs or records by itself (pods, ReplicaSets, Events)
and, always, Secrets: no secret material goes into git.

With ``minimal``, the defaults the API server filled in are dropped too (the CRD defaults as the
models define them; the built-in defaults of workloads and Services), so a file holds what a person
wrote. Dropping a default never changes what the file compiles to.

Pure: text in, text out. The command line writes the files.
"""

from __future__ import annotations

import copy
import json
import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ..errors import FieldPath, InvalidInput, Problem
from ..k8s import checks, kinds
from ..models import API_GROUP, API_VERSION, API_VERSIONS
from ..models import KINDS as ALL_KINDS
from ..naming import ENGINE_APP, MANAGED_BY, SPEC_SCHEMA, schema_comment
from .inputs import Named
from .messages import describe
from .source import Source
from .yamlio import Document, dump_all, load_documents

SPECS, WORKLOADS = "specs", "workloads"
# The operator's kinds: what a cluster can hold (lmcache-gitops's own kinds live only in git).
KINDS = {kind: model for kind, model in ALL_KINDS.items() if API_VERSIONS[kind] == API_VERSION}
# The first line of each spec file: its editor schema, from specs/<namespace>/ up to the root.
SCHEMA_COMMENT = schema_comment(SPEC_SCHEMA, 2)

# Written by the cluster, never by a person: dropped from every object's metadata.
_CLUSTER_METADATA = (
    "creationTimestamp",
    "deletionGracePeriodSeconds",
    "deletionTimestamp",
    "finalizers",  # the operator's old lmcache.ai/cleanup; a GitOps tool sets its own
    "generation",
    "managedFields",
    "ownerReferences",
    "resourceVersion",
    "selfLink",
    "uid",
)
_CLUSTER_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision")
_MANAGED_BY = "app.kubernetes.io/managed-by"

# Kinds the cluster keeps by itself: importing them would fight the controllers that own them.
_RUN_BY_THE_CLUSTER = {
    "Binding": "a record of the scheduler's",
    "ControllerRevision": "a rollout history entry its controller keeps",
    "Endpoints": "maintained by the cluster for its Service",
    "EndpointSlice": "maintained by the cluster for its Service",
    "Event": "a record of what happened, not configuration",
    "Lease": "held by a running controller",
    "Pod": (
        "a Pod holds what the cluster assigned it (its node, its service account token volume): import the "
        "Deployment, StatefulSet or Job that runs it instead"
    ),
    "ReplicaSet": "a ReplicaSet is run by its Deployment: import the Deployment",
}
# What Kubernetes itself creates, in every cluster or every namespace: (kind, namespace or None, name).
_BUILT_IN = {
    ("ConfigMap", None, "kube-root-ca.crt"): "published by Kubernetes in every namespace",
    ("ServiceAccount", None, "default"): "created by Kubernetes in every namespace",
    ("Service", "default", "kubernetes"): "the API server's own Service, in every cluster",
}
# A Job's selector and template labels made from its uid (unless it chose its own selector).
_JOB_UID_LABELS = (
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
    "controller-uid",
    "job-name",
)


@dataclass(frozen=True)
class Imported:
    """The files of a project for what the cluster runs, and what was left out.

    ``files`` maps a path relative to the project's root (``specs/<namespace>/<kind>.<name>.yaml``,
    ``workloads/<namespace>/<kind>.<name>.yaml``) to its text. ``project`` is a project file for
    them, to write only where there is none. ``skipped`` and ``pinned`` name objects as
    ``<kind>/<namespace>/<name>`` (``<kind>/<name>`` for cluster-scoped ones), each with why it was
    left out, or which field was written so that compile keeps what runs.
    """

    files: dict[str, str]
    project: dict[str, Any]
    skipped: list[tuple[str, str]]
    pinned: list[tuple[str, str]]
    resources: int
    workloads: int


@dataclass(frozen=True)
class _Item(Named):
    """One object of the input: where it is (a document, and its path in it when it is an item of
    a List) and its data."""

    document: Document
    at: FieldPath
    data: dict[str, Any]

    @property
    def namespace(self) -> str | None:
        namespace = self.data["metadata"].get("namespace")
        return namespace if isinstance(namespace, str) and namespace else None

    @property
    def label(self) -> str:
        return "/".join(part for part in (self.kind, self.namespace, self.name) if part)

    def problem(self, path: FieldPath, message: str) -> Problem:
        return self.document.problem((*self.at, *path), message)

    def where(self) -> str:
        return self.document.where((*self.at, "metadata", "name"))


def import_cluster(sources: Iterable[Source], *, minimal: bool = False, namespace: str = "default") -> Imported:
    """The project files for the objects of ``sources``: what `kubectl get lmcacheengines,
    cacheblendengines,lmcachecoordinators,vllmrouters -A -o yaml` prints, and optionally what
    `kubectl get deploy,sts,svc -o yaml` prints (Lists, or documents of objects). A namespaced
    object without a namespace goes to ``namespace``. The same objects in any order give the same
    files, byte for byte.

    Raises InvalidInput with every problem that stops the import: YAML errors, documents that are
    not objects, objects without a kind or name, an object given twice, a name a project cannot
    hold twice, no custom resource at all.
    """
    sources = list(sources)
    items, problems = _read(sources, namespace)
    sorted_out = _sort_out(items)
    problems += sorted_out.problems
    resources, manifests = sorted_out.resources, sorted_out.manifests
    problems += _duplicates([*resources, *manifests])
    problems += _shared_names(resources, lambda item: item.name)
    problems += _shared_names(manifests, lambda item: f"{item.kind}/{item.name}")
    if not resources and not problems:
        where = sources[0].name if sources else "<input>"
        problems.append(
            Problem(
                where,
                1,
                "",
                f"no {', '.join(KINDS)} among the inputs: give what `kubectl get lmcacheengines,"
                "cacheblendengines,lmcachecoordinators,vllmrouters -A -o yaml` prints",
            )
        )
    if problems:
        raise InvalidInput(problems)
    files: dict[str, str] = {}
    pinned: list[tuple[str, str]] = []
    for item in resources:
        data = _clean_resource(item.data)
        pinned += _pin_running(item.label, data, sorted_out.daemonsets)
        if minimal:
            data = _minimal_resource(data)
        files[_path(SPECS, item)] = SCHEMA_COMMENT + dump_all([data])
    for item in manifests:
        files[_path(WORKLOADS, item)] = dump_all([_clean_manifest(item.data, minimal=minimal)])
    return Imported(
        files=dict(sorted(files.items())),
        project=_project(resources, manifests),
        skipped=sorted(sorted_out.skipped),
        pinned=sorted(pinned),
        resources=len(resources),
        workloads=len(manifests),
    )


# ---- reading ----


def _read(sources: list[Source], namespace: str) -> tuple[list[_Item], list[Problem]]:
    """Every object of ``sources`` that has what it takes to be told apart, in the order of the
    files (so that "also at" names the first), and the problems of the others."""
    problems: list[Problem] = []
    items: list[_Item] = []
    for source in sources:
        documents, found = load_documents(source.text, source.name)
        problems += found
        for document in documents:
            for item in _objects(document, document.data, (), problems):
                if not (found := list(_identity_problems(item))):
                    items.append(_with_namespace(item, namespace))
                problems += found
    items.sort(key=lambda item: (item.document.source, item.document.line(item.at)))
    return items, problems


@dataclass(frozen=True)
class _SortedOut:
    resources: list[_Item]  # the custom resources
    manifests: list[_Item]  # the user's objects, in the namespaces of the resources
    skipped: set[tuple[str, str]]
    daemonsets: list[_Item]  # the operator's, which say how its engines run
    problems: list[Problem]


def _sort_out(items: list[_Item]) -> _SortedOut:
    out = _SortedOut([], [], set(), [], [])
    for item in items:
        reason = _skip_reason(item)
        if reason is not None:
            out.skipped.add((item.label, reason))
            if item.kind == "DaemonSet" and _generated(item) is not None:
                out.daemonsets.append(item)
        elif kinds.group(str(item.data["apiVersion"])) != API_GROUP:
            out.manifests.append(item)
        elif item.data["apiVersion"] == API_VERSION:
            out.resources.append(item)
        else:
            version = json.dumps(item.data["apiVersion"])
            out.problems.append(
                item.problem(("apiVersion",), f'Unsupported value: {version}: supported values: "{API_VERSION}"')
            )
    namespaces = {item.namespace for item in out.resources}
    for item in [m for m in out.manifests if m.namespace not in namespaces]:
        out.manifests.remove(item)
        out.skipped.add((item.label, f'no LMCache resource in namespace "{item.namespace}" among the inputs'))
    return out


def _objects(document: Document, data: Any, at: FieldPath, problems: list[Problem]) -> Iterator[_Item]:
    """The objects of a document: itself, or the items of a List (kubectl's `kind: List`, or any
    `<Kind>List`), recursively."""
    if not isinstance(data, dict):
        what = "an item of a List" if at else "a document"
        problems.append(document.problem(at, f"{what} must be a mapping (a Kubernetes object), got {describe(data)}"))
        return
    kind = data.get("kind")
    if isinstance(kind, str) and (kind == "List" or (kind.endswith("List") and "items" in data)):
        items = data.get("items")
        if not isinstance(items, list):
            message = "Required value: a List holds its objects in items" if items is None else "must be a list"
            problems.append(
                document.problem((*at, "items"), message if items is None else f"{message}, got {describe(items)}")
            )
            return
        for index, item in enumerate(items):
            yield from _objects(document, item, (*at, "items", index), problems)
        return
    yield _Item(document, at, data)


def _identity_problems(item: _Item) -> Iterator[Problem]:
    """What an object needs to be told apart and named as a file: apiVersion, kind, name and
    namespace as Kubernetes spells them (so a file name is always one safe path segment)."""
    data = item.data
    if reason := checks.api_version(data.get("apiVersion")):
        yield item.problem(("apiVersion",), reason)
    kind = data.get("kind")
    if kind is None or kind == "":
        yield item.problem(("kind",), "Required value")
    elif reason := checks.kind(kind):
        yield item.problem(("kind",), reason)
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        yield item.problem(
            ("metadata",), "Required value" if metadata is None else f"must be a mapping, got {describe(metadata)}"
        )
        return
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not isinstance(name, str) or not name:
        message = "Required value" if name is None else f"must be a non-empty string, got {describe(name)}"
        yield item.problem(("metadata", "name"), message)
    elif reason := checks.dns1123_subdomain(name):
        yield item.problem(("metadata", "name"), reason)
    if namespace is not None and not isinstance(namespace, str):
        yield item.problem(("metadata", "namespace"), f"must be a string, got {describe(namespace)}")
    elif namespace and (reason := checks.dns1123_label(namespace)):
        yield item.problem(("metadata", "namespace"), reason)


def _with_namespace(item: _Item, namespace: str) -> _Item:
    if item.namespace is not None or item.kind in kinds.CLUSTER_SCOPED:
        return item
    data = {**item.data, "metadata": {**item.data["metadata"], "namespace": namespace}}
    return _Item(item.document, item.at, data)


def _generated(item: _Item) -> str | None:
    """Why ``item`` is one of the operator's objects, or None: its label, or an owner of its kinds."""
    for owner in _owners(item.data):
        if isinstance(owner.get("apiVersion"), str) and kinds.group(owner["apiVersion"]) == API_GROUP:
            return f'generated by the LMCache operator for {owner.get("kind")} "{owner.get("name")}": compile regenerates it'
    labels = item.data["metadata"].get("labels")
    if isinstance(labels, dict) and labels.get(_MANAGED_BY) == MANAGED_BY:
        return f"generated by the LMCache operator ({_MANAGED_BY}: {MANAGED_BY}): compile regenerates it"
    return None


def _owners(data: dict[str, Any]) -> list[dict[str, Any]]:
    owners = data["metadata"].get("ownerReferences")
    return [owner for owner in owners if isinstance(owner, dict)] if isinstance(owners, list) else []


def _skip_reason(item: _Item) -> str | None:
    """Why ``item`` is not imported, or None: secret material, what cannot move between
    namespaces, what the cluster keeps by itself, and what the operator or another controller made."""
    kind = item.kind
    if kind in kinds.SECRET_KINDS:
        return "secret material is never imported: keep creating it out of band (or as a sealed or external secret)"
    if kind == "Namespace":
        return "an environment's namespace: set createNamespace on the environment in lmcache-gitops.yaml to manage it"
    if kind in kinds.CLUSTER_SCOPED:
        return "cluster-scoped: an environment moves every object into its namespace, so keep it out of the project"
    if kinds.group(str(item.data["apiVersion"])) == API_GROUP:
        return None if kind in KINDS else f"not one of the operator's kinds ({', '.join(KINDS)})"
    if kind in _RUN_BY_THE_CLUSTER:
        return _RUN_BY_THE_CLUSTER[kind]
    if (reason := _generated(item)) is not None:
        return reason
    for owner in _owners(item.data):
        if owner.get("controller") is True:
            return f'created by {owner.get("kind")} "{owner.get("name")}": import that instead'
    for (built_kind, built_namespace, built_name), reason in _BUILT_IN.items():
        if (kind, item.name) == (built_kind, built_name) and built_namespace in (None, item.namespace):
            return reason
    return None


def _duplicates(items: list[_Item]) -> Iterator[Problem]:
    """Two objects that would be one file: the same kind, namespace and name (whatever the version)."""
    first: dict[str, _Item] = {}
    for item in items:
        key = _path("", item)
        other = first.setdefault(key, item)
        if other is not item:
            yield item.problem(
                ("metadata", "name"),
                f'{item.kind} "{item.name}" in namespace "{item.namespace}" is given twice '
                f"(also at {other.where()}): give each object once",
            )


def _shared_names(items: list[_Item], name: Callable[[_Item], str]) -> Iterator[Problem]:
    """A name in two namespaces: a project holds it once, as every environment deploys into one
    namespace (and `include` names what it deploys by name)."""
    first: dict[str, _Item] = {}
    for item in items:
        other = first.setdefault(name(item), item)
        if other.namespace != item.namespace:
            yield item.problem(
                ("metadata", "name"),
                f'{item.kind} "{item.name}" is also in namespace "{other.namespace}" ({other.where()}): a project '
                "holds each name once, as each environment deploys into one namespace; import the namespaces "
                "into projects of their own",
            )


# ---- cleaning ----


def _clean_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata without what the cluster wrote (an annotations map left empty goes too)."""
    out = {key: value for key, value in metadata.items() if key not in _CLUSTER_METADATA}
    annotations = out.get("annotations")
    if isinstance(annotations, dict):
        kept = {key: value for key, value in annotations.items() if key not in _CLUSTER_ANNOTATIONS}
        if kept:
            out["annotations"] = kept
        else:
            del out["annotations"]
    return out


def _clean_resource(data: dict[str, Any]) -> dict[str, Any]:
    out = {key: copy.deepcopy(value) for key, value in data.items() if key != "status"}
    out["metadata"] = _clean_metadata(data["metadata"])
    return out


def _minimal_resource(data: dict[str, Any]) -> dict[str, Any]:
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return data
    return {**data, "spec": _without_defaults(_spec_model(data["kind"]), spec)}


def _spec_model(kind: str) -> type[BaseModel]:
    model = _model_in(KINDS[kind].model_fields["spec"].annotation)
    assert model is not None, kind  # every kind's spec is a model
    return model


def _without_defaults(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a mapping read as ``model``) without the fields that hold their default, walking
    the model's fields by their YAML names: what validates to the same model, and so compiles to
    the same objects. A field whose default is None is never dropped (`nodeSelector: {}` is not
    unset), and a sub-mapping left empty goes only where an empty one reads as the default."""
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = fields.get(key)
        if field is None:  # an unknown field: compile reports it, at its line
            out[key] = value
            continue
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        inner = _model_in(field.annotation)
        if inner is not None and _is_list(field.annotation):
            if isinstance(value, list):
                value = [_without_defaults(inner, v) if isinstance(v, dict) else v for v in value]
        elif inner is not None and isinstance(value, dict):
            value = _without_defaults(inner, value)
            if not value and isinstance(default, BaseModel) and _reads_as(inner, default):
                continue
        elif (
            default is not None
            and not isinstance(default, BaseModel)
            and _equal(value, default)
            and not (isinstance(value, float) and _holds(field.annotation, int))  # 5.0 is no int: compile says so
        ):
            continue
        out[key] = value
    return out


def _reads_as(model: type[BaseModel], default: BaseModel) -> bool:
    """Whether an empty mapping validates as ``model`` to ``default``."""
    try:
        return model.model_validate({}) == default
    except ValidationError:
        return False


def _equal(value: Any, default: Any) -> bool:
    """Equal, a bool being no number (`true` is not 1)."""
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    return bool(value == default)


def _same(value: Any, default: Any) -> bool:
    """Equal, and of the default's type for an integer (Kubernetes' integers: 600.0 is invalid
    there, and kept, so that compile still reports it)."""
    if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
        return False
    return _equal(value, default)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The one model class a field holds (through Annotated, Optional and list), or None."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _model_in(args[0])
    if origin in (Union, types.UnionType):
        found = {model for arg in args if arg is not type(None) and (model := _model_in(arg)) is not None}
        return found.pop() if len(found) == 1 else None
    if origin is list and args:
        return _model_in(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _is_list(annotation: Any) -> bool:
    """Whether a field holds a list (through Annotated and Optional)."""
    return get_origin(_bare(annotation)) is list


def _holds(annotation: Any, cls: type) -> bool:
    """Whether a field holds a ``cls`` (through Annotated and Optional)."""
    return _bare(annotation) is cls


def _bare(annotation: Any) -> Any:
    while get_origin(annotation) in (Annotated, Union, types.UnionType):
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    return annotation


# What the API server fills into the user's objects (`minimal` drops each when it holds exactly this).
_WORKLOAD_DEFAULTS: dict[str, dict[str, Any]] = {
    "Deployment": {
        "progressDeadlineSeconds": 600,
        "revisionHistoryLimit": 10,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    },
    "StatefulSet": {
        "podManagementPolicy": "OrderedReady",
        "revisionHistoryLimit": 10,
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
    },
    "DaemonSet": {
        "revisionHistoryLimit": 10,
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
    },
    "Job": {
        "backoffLimit": 6,
        "completionMode": "NonIndexed",
        "completions": 1,
        "parallelism": 1,
        "podReplacementPolicy": "TerminatingOrFailed",
        "suspend": False,
    },
    "CronJob": {
        "concurrencyPolicy": "Allow",
        "failedJobsHistoryLimit": 1,
        "successfulJobsHistoryLimit": 3,
        "suspend": False,
    },
    "ReplicationController": {},
}
_POD_SPEC_DEFAULTS: dict[str, Any] = {
    "dnsPolicy": "ClusterFirst",
    "restartPolicy": "Always",
    "schedulerName": "default-scheduler",
    "securityContext": {},
    "terminationGracePeriodSeconds": 30,
}
_CONTAINER_DEFAULTS: dict[str, Any] = {
    "resources": {},
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
}
_PROBE_DEFAULTS: dict[str, Any] = {
    "failureThreshold": 3,
    "periodSeconds": 10,
    "successThreshold": 1,
    "timeoutSeconds": 1,
}
_VOLUME_MODES = ("configMap", "secret", "downwardAPI", "projected")  # each with defaultMode 420 (0644)
_SERVICE_DEFAULTS: dict[str, Any] = {
    "allocateLoadBalancerNodePorts": True,
    "externalTrafficPolicy": "Cluster",
    "internalTrafficPolicy": "Cluster",
    "sessionAffinity": "None",
    "type": "ClusterIP",
}


def _clean_manifest(data: dict[str, Any], *, minimal: bool) -> dict[str, Any]:
    """One of the user's objects without what the cluster wrote; with ``minimal``, without the
    defaults the API server fills in too (it fills them in again, so the stored object, and its
    pod template hash, stay the same: no rollout)."""
    out = {key: copy.deepcopy(value) for key, value in data.items() if key != "status"}
    out["metadata"] = _clean_metadata(data["metadata"])
    kind = out["kind"]
    spec = out.get("spec")
    if kind == "Service" and isinstance(spec, dict):
        _clean_service(spec, minimal=minimal)
    if kind == "Job" and isinstance(spec, dict):
        _drop_job_uid(spec)
    if minimal and kind in _WORKLOAD_DEFAULTS and isinstance(spec, dict):
        _drop_equal(spec, _WORKLOAD_DEFAULTS[kind])
        if kind == "CronJob":
            job = kinds.get_path(spec, ("jobTemplate", "spec"))
            if isinstance(job, dict):
                _drop_equal(job, _WORKLOAD_DEFAULTS["Job"])
    if kind == "StatefulSet" and isinstance(spec, dict) and isinstance(spec.get("volumeClaimTemplates"), list):
        for claim in spec["volumeClaimTemplates"]:
            if isinstance(claim, dict):
                _clean_claim(claim, minimal=minimal)
    template = kinds.pod_template(out)
    if template is not None:
        if kind != "Pod" and isinstance(template.get("metadata"), dict):
            template["metadata"] = _clean_metadata(template["metadata"])
        if minimal and isinstance(template.get("spec"), dict):
            _minimal_pod_spec(template["spec"])
    return out


def _clean_service(spec: dict[str, Any], *, minimal: bool) -> None:
    """The addresses the cluster assigned go always (a headless Service's `clusterIP: None` stays)."""
    if spec.get("clusterIP") != "None":
        spec.pop("clusterIP", None)
    spec.pop("clusterIPs", None)
    if not minimal:
        return
    if spec.get("ipFamilyPolicy") in (None, "SingleStack"):
        spec.pop("ipFamilyPolicy", None)
        spec.pop("ipFamilies", None)
    _drop_equal(spec, _SERVICE_DEFAULTS)
    for port in spec.get("ports") or ():
        if isinstance(port, dict):
            _drop_equal(port, {"protocol": "TCP"})
            if "port" in port and _same(port.get("targetPort"), port["port"]):
                del port["targetPort"]


def _drop_job_uid(spec: dict[str, Any]) -> None:
    """A Job's selector and labels made from its uid (unless it has a manual selector)."""
    if spec.get("manualSelector") is True:
        return
    labels = kinds.get_path(spec, ("template", "metadata", "labels"))
    if isinstance(labels, dict):
        for key in _JOB_UID_LABELS:
            labels.pop(key, None)
    match = kinds.get_path(spec, ("selector", "matchLabels"))
    if isinstance(match, dict) and set(match) <= set(_JOB_UID_LABELS) and set(spec["selector"]) == {"matchLabels"}:
        del spec["selector"]


def _clean_claim(claim: dict[str, Any], *, minimal: bool) -> None:
    claim.pop("status", None)
    if isinstance(claim.get("metadata"), dict):
        claim["metadata"] = _clean_metadata(claim["metadata"])
    if minimal and isinstance(claim.get("spec"), dict):
        _drop_equal(claim["spec"], {"volumeMode": "Filesystem"})


def _minimal_pod_spec(spec: dict[str, Any]) -> None:
    _drop_equal(spec, _POD_SPEC_DEFAULTS)
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or ():
            if isinstance(container, dict):
                _minimal_container(container)
    for volume in spec.get("volumes") or ():
        if isinstance(volume, dict):
            for source in _VOLUME_MODES:
                if isinstance(volume.get(source), dict):
                    _drop_equal(volume[source], {"defaultMode": 420})
            if isinstance(volume.get("hostPath"), dict):
                _drop_equal(volume["hostPath"], {"type": ""})


def _minimal_container(container: dict[str, Any]) -> None:
    _drop_equal(container, _CONTAINER_DEFAULTS)
    image = container.get("image")
    if isinstance(image, str):
        _drop_equal(container, {"imagePullPolicy": _pull_policy(image)})
    for port in container.get("ports") or ():
        if isinstance(port, dict):
            _drop_equal(port, {"protocol": "TCP"})
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(probe), dict):
            _drop_equal(container[probe], _PROBE_DEFAULTS)
            if isinstance(container[probe].get("httpGet"), dict):
                _drop_equal(container[probe]["httpGet"], {"scheme": "HTTP"})
    for env in container.get("env") or ():
        source = env.get("valueFrom") if isinstance(env, dict) else None
        if isinstance(source, dict):
            if isinstance(source.get("fieldRef"), dict):
                _drop_equal(source["fieldRef"], {"apiVersion": "v1"})
            if isinstance(source.get("resourceFieldRef"), dict):
                _drop_equal(source["resourceFieldRef"], {"divisor": "0"})


def _pull_policy(image: str) -> str:
    """The API server's default imagePullPolicy: Always for a `latest` (or no) tag, else IfNotPresent."""
    name, at, _digest = image.partition("@")
    last = name.rpartition("/")[2]
    tag = last.rpartition(":")[2] if ":" in last else ""
    return "Always" if tag == "latest" or (not tag and not at) else "IfNotPresent"


def _drop_equal(mapping: dict[str, Any], defaults: dict[str, Any]) -> None:
    for key, default in defaults.items():
        if key in mapping and _same_json(mapping[key], default):
            del mapping[key]


def _same_json(value: Any, default: Any) -> bool:
    if isinstance(default, dict):
        return (
            isinstance(value, dict)
            and value.keys() == default.keys()
            and all(_same_json(value[k], d) for k, d in default.items())
        )
    return _same(value, default)


# ---- what runs, kept ----


def _pin_running(label: str, spec_data: dict[str, Any], generated: list[_Item]) -> list[tuple[str, str]]:
    """Write into an engine's spec the IPC and privilege settings its running DaemonSet has where
    the spec leaves them to a default that lmcache-gitops reads otherwise than newer operators
    (hostIPC and privileged default to true here, to false there; isolatedIPC is never automatic
    here): compile then gives the pod template that runs, and adoption restarts no engine pod."""
    kind, name = spec_data["kind"], spec_data["metadata"]["name"]
    namespace = spec_data["metadata"].get("namespace")
    spec = spec_data.get("spec")
    if kind not in ("LMCacheEngine", "CacheBlendEngine") or not isinstance(spec, dict):
        return []
    daemonset = _running_daemonset(kind, name, namespace, generated)
    pod = kinds.get_path(daemonset, ("spec", "template", "spec")) if daemonset else None
    containers = pod.get("containers") if isinstance(pod, dict) else None
    if not isinstance(pod, dict) or not isinstance(containers, list) or not containers:
        return []
    container = next((c for c in containers if isinstance(c, dict) and c.get("name") == "lmcache"), containers[0])
    if not isinstance(container, dict):
        return []
    out = []
    why = f'the running DaemonSet "{name}" has it, and lmcache-gitops would otherwise compile'
    privileged = kinds.get_path(container, ("securityContext", "privileged")) is True
    if "privileged" not in spec and not privileged:
        spec["privileged"] = False
        out.append((label, f"spec.privileged: false written: {why} privileged: true"))
    args = container.get("args")
    isolated = isinstance(args, list) and "--isolated-ipc" in args
    if isolated and kind == "LMCacheEngine" and "isolatedIPC" not in spec:
        spec["isolatedIPC"] = True
        out.append((label, f"spec.isolatedIPC: true written: {why} hostIPC: true"))
    elif not isolated and "hostIPC" not in spec and pod.get("hostIPC") is not True:
        spec["hostIPC"] = False
        out.append((label, f"spec.hostIPC: false written: {why} hostIPC: true"))
    return out


def _running_daemonset(kind: str, name: str, namespace: Any, generated: list[_Item]) -> dict[str, Any] | None:
    """The operator's DaemonSet of an engine among the skipped objects: owned by it, or with its labels."""
    for item in generated:
        if item.kind != "DaemonSet" or item.name != name or item.namespace != namespace:
            continue
        owners = _owners(item.data)
        labels = item.data["metadata"].get("labels")
        if any(o.get("kind") == kind and o.get("name") == name for o in owners) or (
            not owners
            and isinstance(labels, dict)
            and labels.get("app.kubernetes.io/name") == ENGINE_APP
            and labels.get("app.kubernetes.io/instance") == name
        ):
            return item.data
    return None


# ---- the project ----


def _path(folder: str, item: _Item) -> str:
    return f"{folder}/{item.namespace}/{item.kind.lower()}.{item.name}.yaml"


def _project(resources: list[_Item], manifests: list[_Item]) -> dict[str, Any]:
    """A project file for the imported files: one environment per namespace, named after it and
    deploying into it, so each compiles to the objects that run there. With several namespaces,
    each environment's `include` keeps it to its own namespace's resources and workloads."""
    namespaces = sorted({str(item.namespace) for item in resources})
    environments: dict[str, Any] = {}
    for namespace in namespaces:
        environment: dict[str, Any] = {"namespace": namespace}
        if len(namespaces) > 1:
            environment["include"] = sorted(
                [item.name for item in resources if item.namespace == namespace]
                + [f"{item.kind}/{item.name}" for item in manifests if item.namespace == namespace]
            )
        environments[namespace] = environment  # a namespace is an RFC 1123 label: a valid environment name
    project: dict[str, Any] = {"specs": [f"{SPECS}/**/*.yaml"]}
    if manifests:
        project["workloads"] = [f"{WORKLOADS}/**/*.yaml"]
    project["environments"] = environments
    return project
