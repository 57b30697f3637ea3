"""The Kubernetes 1.33 schema of the shapes inputs embed: strict validators, editor schema, merge keys.

The definitions are vendored in ``k8s-1.33.json`` (``scripts/vendor_k8s_schemas.py``). Each is
turned into a pydantic-core schema, so a typo deep in an affinity term is reported at its own field
path like any other spec error; their list metadata says how kustomize merges patches.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache
from importlib.resources import files
from typing import Any, cast

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import InitErrorDetails, PydanticCustomError, SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

from ..errors import FieldPath

Rules = Callable[[FieldPath, Any], Iterator[tuple[FieldPath, str]]]

K8S_VERSION = "1.33"
_PREFIX = "io.k8s.api.core.v1."
# The shapes that specs and opted-in pod templates embed: validated, and in the editor schema.
SPEC_ROOTS = tuple(
    _PREFIX + name
    for name in (
        "Affinity", "Container", "EnvVar", "LocalObjectReference", "PodTemplateSpec",
        "ResourceRequirements", "Toleration", "Volume", "VolumeMount",
    )
)  # fmt: skip
POD_TEMPLATE = _PREFIX + "PodTemplateSpec"
SERVICE_SPEC = _PREFIX + "ServiceSpec"  # vendored for its merge keys: generated Services are patched
# The spec of each built-in workload kind (a Pod's is its PodTemplateSpec's): every workload is
# checked against it, as the API server would.
WORKLOAD_SPECS = {
    "CronJob": "io.k8s.api.batch.v1.CronJobSpec",
    "DaemonSet": "io.k8s.api.apps.v1.DaemonSetSpec",
    "Deployment": "io.k8s.api.apps.v1.DeploymentSpec",
    "Job": "io.k8s.api.batch.v1.JobSpec",
    "ReplicaSet": "io.k8s.api.apps.v1.ReplicaSetSpec",
    "ReplicationController": _PREFIX + "ReplicationControllerSpec",
    "StatefulSet": "io.k8s.api.apps.v1.StatefulSetSpec",
}
VENDORED_ROOTS = (*SPEC_ROOTS, SERVICE_SPEC, *WORKLOAD_SPECS.values())
_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


@cache
def definitions() -> dict[str, Any]:
    """The vendored definitions, by full OpenAPI name."""
    text = files(__package__).joinpath(f"k8s-{K8S_VERSION}.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _core(schema: dict[str, Any]) -> cs.CoreSchema:
    if "$ref" in schema:
        return cs.definition_reference_schema(schema["$ref"])
    if "oneOf" in schema:  # IntOrString and Quantity: string or number
        kinds = " or ".join(sorted(f"a {_type_of(s)}" for s in schema["oneOf"]))
        return cs.union_schema(
            [_core(s) for s in schema["oneOf"]],
            custom_error_type="kube_type",
            custom_error_message=f"must be {kinds}",
        )
    return _core_of_kind(_type_of(schema), schema)


def _type_of(schema: dict[str, Any]) -> str:
    # The vendored schema lets every type be null. Only a field may be null (the API server drops
    # it); a list item or a map value that is null is an error, so nullability is added per field.
    types = schema.get("type", "object")
    concrete = [t for t in ([types] if isinstance(types, str) else types) if t != "null"]
    return concrete[0] if concrete else "object"


def _core_of_kind(kind: str, schema: dict[str, Any]) -> cs.CoreSchema:
    if kind == "object":
        if "properties" in schema:
            required = set(schema.get("required", ()))
            fields = {
                name: cs.typed_dict_field(cs.nullable_schema(_core(sub)), required=name in required)
                for name, sub in schema["properties"].items()
            }
            return cs.typed_dict_schema(fields, extra_behavior="forbid", total=False)
        extra = schema.get("additionalProperties")
        values = _core(extra) if isinstance(extra, dict) else cs.any_schema()
        return cs.dict_schema(cs.str_schema(strict=True), values, strict=True)
    if kind == "array":
        return cs.list_schema(_core(schema.get("items", {})), strict=True)
    if kind == "string":
        if "enum" in schema:
            return cs.literal_schema([v for v in schema["enum"] if v is not None])
        return cs.str_schema(strict=True)
    if kind == "integer":
        low, high = _INT_BOUNDS[schema.get("format", "int64")]
        return cs.int_schema(strict=True, ge=low, le=high)
    if kind == "number":  # an integer stays an integer: output keeps what the user wrote
        return cs.union_schema(
            [cs.int_schema(strict=True), cs.float_schema(strict=True, allow_inf_nan=False)],
            custom_error_type="kube_type",
            custom_error_message="must be a number",
        )
    if kind == "boolean":
        return cs.bool_schema(strict=True)
    raise ValueError(f"unsupported schema type {kind!r}")  # pragma: no cover - vendoring guard


@cache
def _definition_schemas() -> tuple[cs.CoreSchema, ...]:
    # Every kind of core schema takes a "ref"; the TypedDict union cannot say so.
    return tuple(cast("cs.CoreSchema", {**_core(schema), "ref": name}) for name, schema in definitions().items())


@cache
def validator(ref: str, many: bool = False) -> SchemaValidator:
    """A validator for one Kubernetes type (or a list of it), built on first use."""
    item = cs.definition_reference_schema(ref)
    root = cs.list_schema(item, strict=True) if many else item
    return SchemaValidator(cs.definitions_schema(root, list(_definition_schemas())))


class Kube:
    """Annotation: the value has the shape of the Kubernetes type ``name`` (``core.v1`` short names).

    ``Annotated[list[Any], Kube("Toleration", many=True)]`` validates a list of tolerations.
    The value stays plain JSON data, ready to be copied into generated objects. Errors raised by
    the inner validator keep their nested locations, so they point at the exact sub-field.
    """

    def __init__(self, name: str, *, many: bool = False, rules: Rules | None = None) -> None:
        self.ref = name if "." in name else _PREFIX + name
        self.many = many
        self.rules = rules

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        return cs.no_info_plain_validator_function(self.validate)

    def validate(self, value: Any) -> Any:
        """The value, once its shape holds and then ``rules`` (the API server's checks that a
        schema cannot say) find nothing; their findings come at once, each at its location."""
        checked = validator(self.ref, self.many).validate_python(value)
        found = list(self.rules((), checked)) if self.rules is not None else []
        if found:
            errors = [
                InitErrorDetails(type=PydanticCustomError("rule", message), loc=path, input=checked)
                for path, message in found
            ]
            raise ValidationError.from_exception_data("Kubernetes validation", errors)
        return checked

    def __get_pydantic_json_schema__(self, schema: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        item = {"$ref": f"#/$defs/{self.ref}"}
        return {"type": "array", "items": item} if self.many else item


def _closure(roots: tuple[str, ...]) -> list[str]:
    """The definitions ``roots`` refer to, directly or not, themselves included."""
    found: dict[str, None] = {}

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None and ref not in found:
                found[ref] = None
                visit(definitions()[ref])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit([{"$ref": root} for root in roots])
    return sorted(found)


def _items(node: dict[str, Any]) -> dict[str, Any]:
    """The object schema behind ``node``: through a reference, and into a list's items."""
    if "$ref" in node:
        node = definitions()[node["$ref"]]
    if "items" in node:
        return _items(node["items"])
    return node


def list_keys(ref: str, path: FieldPath) -> tuple[str, ...] | None:
    """The fields that identify the items of the list at ``path`` (field names, no indices) in an
    object of type ``ref``: its list-map keys, else its patch merge key; None for a list that a
    strategic merge patch replaces whole (or a path that is not a list)."""
    node: Any = {"$ref": ref}
    for part in path:
        node = _items(node).get("properties", {}).get(part)
        if node is None:
            return None
    keys = node.get("x-kubernetes-list-map-keys")
    if keys is None and "x-kubernetes-patch-merge-key" in node:
        keys = [node["x-kubernetes-patch-merge-key"]]
    return tuple(keys) if keys else None


def field_names(ref: str, loc: tuple[Any, ...]) -> list[str]:
    """The fields of the object at ``loc`` (an error location: list indices included) in a value
    of type ``ref`` or a list of it; none when ``loc`` leads to no object with properties."""
    node: Any = {"$ref": ref}
    for part in loc:
        if isinstance(part, int):  # ``_items`` already steps into lists
            continue
        node = _items(node).get("properties", {}).get(part)
        if node is None:
            return []
    return list(_items(node).get("properties", ()))


def json_schema_definitions() -> dict[str, Any]:
    """The definitions of the embedded shapes rewritten for a JSON Schema ``$defs`` section."""

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: (f"#/$defs/{value}" if key == "$ref" else rewrite(value))
                for key, value in node.items()
                if not key.startswith("x-kubernetes-")
            }
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    return {name: rewrite(definitions()[name]) for name in _closure(SPEC_ROOTS)}
