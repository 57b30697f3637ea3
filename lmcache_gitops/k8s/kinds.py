"""Kubernetes kinds as kustomize sees them: pod templates, scope, transformers, merge keys, order.

Where pod templates sit, what kustomize's namespace and annotation transformers touch, which kinds
are cluster-scoped, which lists a patch merges item by item, and the order `kustomize build` lists
objects in. Each table is checked against kustomize 5.8.1 by the round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import FieldPath
from .schema import POD_TEMPLATE, SERVICE_SPEC, list_keys

# Where each workload kind keeps its pod template ({metadata, spec}); a Pod is its own template.
POD_TEMPLATES: dict[str, tuple[str, ...]] = {
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Deployment": ("spec", "template"),
    "Job": ("spec", "template"),
    "Pod": (),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
}

# The built-in API of each of those kinds: the only ones whose pods the webhooks see.
WORKLOAD_API_VERSIONS = {
    "CronJob": "batch/v1",
    "DaemonSet": "apps/v1",
    "Deployment": "apps/v1",
    "Job": "batch/v1",
    "Pod": "v1",
    "ReplicaSet": "apps/v1",
    "ReplicationController": "v1",
    "StatefulSet": "apps/v1",
}

# The metadata that kustomize's commonAnnotations writes besides the object's own (its built-in
# fieldspecs): pod templates, and a CronJob's job template too.
_ANNOTATED_METADATA: dict[str, tuple[tuple[str, ...], ...]] = {
    **{kind: ((*path, "metadata"),) for kind, path in POD_TEMPLATES.items() if path},
    "CronJob": (("spec", "jobTemplate", "metadata"), ("spec", "jobTemplate", "spec", "template", "metadata")),
}

# Built-in kinds that live outside namespaces: an environment cannot move them into its namespace.
CLUSTER_SCOPED = frozenset(
    {
        "APIService",
        "CSIDriver",
        "CSINode",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)

# Kinds that hold secret material, refused wherever they appear: git is no place for it.
SECRET_KINDS = frozenset({"Secret"})

# kustomize's LegacyOrderTransformer (resid/gvk.go): these kinds first, in this order; these last;
# every other kind in between; ties by "<group>_<version>_<kind>" with "~G" for the core group.
_ORDER_FIRST = (
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
)
_ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_RANK = {
    **{kind: index - len(_ORDER_FIRST) for index, kind in enumerate(_ORDER_FIRST)},
    **{kind: index + 1 for index, kind in enumerate(_ORDER_LAST)},
}


def merge_keys(kind: str, path: FieldPath) -> tuple[str, ...] | None:
    """The fields kustomize merges the items of the list at ``path`` (no list indices) of a ``kind``
    on, from the schema's list metadata; None for a list that a patch replaces whole."""
    if kind in POD_TEMPLATES:
        prefix, ref = POD_TEMPLATES[kind], POD_TEMPLATE
    elif kind == "Service":
        prefix, ref = ("spec",), SERVICE_SPEC
    else:
        return None
    return list_keys(ref, path[len(prefix) :]) if path[: len(prefix)] == prefix else None


def group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def sort_key(obj: dict[str, Any]) -> tuple[Any, ...]:
    """Where ``obj`` comes in `kustomize build` output."""
    kind, api_version = obj["kind"], obj["apiVersion"]
    gvk = f"{group(api_version) or '~G'}_{api_version.rpartition('/')[2]}_{kind}"
    meta = obj["metadata"]
    return (_RANK.get(kind, 0), gvk, meta.get("namespace", ""), meta["name"])


def sort_objects(found: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """In `kustomize build` order, so `render` and kustomize list objects alike."""
    return sorted(found, key=sort_key)


def get_path(obj: Any, path: FieldPath) -> Any:
    """The value at ``path``, or None when any step is missing or not a mapping."""
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def pod_template(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template of a workload (a Pod: the Pod itself), or None for other kinds."""
    kind = obj.get("kind")
    path = POD_TEMPLATES.get(kind) if isinstance(kind, str) else None
    if path is None:
        return None
    found = get_path(obj, path)
    return found if isinstance(found, dict) else None


def annotated_metadata(obj: dict[str, Any]) -> Iterator[tuple[str, ...]]:
    """Every metadata kustomize's commonAnnotations writes to in ``obj``: its own, then templates'."""
    yield ("metadata",)
    yield from _ANNOTATED_METADATA.get(obj["kind"], ())


def in_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """``obj`` moved to ``namespace`` as kustomize's namespace transformer moves it: metadata, and
    a (Cluster)RoleBinding's ServiceAccount subjects named "default"."""
    out = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
    if obj["kind"] in ("RoleBinding", "ClusterRoleBinding") and isinstance(obj.get("subjects"), list):
        out["subjects"] = [
            {**subject, "namespace": namespace}
            if isinstance(subject, dict)
            and subject.get("kind") == "ServiceAccount"
            and subject.get("name") == "default"
            else subject
            for subject in obj["subjects"]
        ]
    return out
