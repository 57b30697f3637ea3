"""The JSON Schemas of specs and of the project file, for editors (yaml-language-server).

A schema says what the compiler says: the models' own schema, with what the compiler does around
them. It prunes null fields from specs (as the API server does), validates some defaults, and makes
checks in code that a JSON Schema can state too (label syntax, names, quantities, ...).
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import json
import textwrap
from collections.abc import Callable, Iterator
from typing import Any, get_args

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.json_schema import models_json_schema

from ..k8s.schema import json_schema_definitions
from ..naming import COORDINATOR_APP, ENGINE_APP, MANAGED_BY, OWN_MANAGER, SERVER_APP, selector_labels
from .base import Model
from .inprocess import OTHER_KEYS
from .kinds import KINDS
from .project_file import Project

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
Schema = dict[str, Any]
Checks = dict[tuple[str, str], Schema]

# The checks of k8s/checks.py and of validators, as JSON Schema: per (definition, property), a
# schema that the property's value must match too. Those of specs let pruned nulls through.
_LABEL_RE = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"  # RFC 1123
_SUBDOMAIN_RE = rf"{_LABEL_RE}(\.{_LABEL_RE})*"
_NAME_RE = "([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]"  # a label key's name: 63 characters at most
_DNS_LABEL = {"type": "string", "maxLength": 63, "pattern": f"^{_LABEL_RE}$"}
_SUBDOMAIN = {"type": "string", "maxLength": 253, "pattern": f"^{_SUBDOMAIN_RE}$"}
_LABEL_KEY = {"pattern": f"^(((?=[^/]{{1,253}}/){_SUBDOMAIN_RE})?/)?{_NAME_RE}$"}  # [prefix/]name
_ANNOTATIONS = {"propertyNames": _LABEL_KEY}
_LABELS = {**_ANNOTATIONS, "additionalProperties": {"pattern": f"^({_NAME_RE})?$"}}
_QUANTITY = {"pattern": r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"}
_RELATIVE_PATH = {"pattern": r"^(?![/\\])[^:\x00-\x1f\x7f-\x9f]*$"}  # printable: at least no control characters
_K8S = "io.k8s.api.core.v1."


def _pod_labels(app: str, manager: str) -> Schema:
    """Labels that keep the selector's values (its instance label is the resource's name)."""
    fixed = {"app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": manager}
    return {**_LABELS, "properties": {key: {"enum": [value, None]} for key, value in fixed.items()}}


def _spec_checks() -> Checks:
    checks: Checks = {
        ("Metadata", "name"): _SUBDOMAIN,
        ("Metadata", "labels"): _LABELS,
        ("Metadata", "annotations"): _ANNOTATIONS,
        ("ServiceMonitorSpec", "labels"): _LABELS,
        ("RawBackendSpec", "config"): {"properties": {"type": {"type": "null"}}},  # use raw.type
        ("LMCacheConfigSpec", "settings"): {"propertyNames": {"enum": sorted(OTHER_KEYS)}},
        ("CacheBlendInjectionSpec", "env"): {
            "items": {"not": {"required": ["name"], "properties": {"name": {"const": "PYTHONPATH"}}}}
        },
        (_K8S + "ResourceRequirements", "limits"): {"additionalProperties": _QUANTITY},
        (_K8S + "ResourceRequirements", "requests"): {"additionalProperties": _QUANTITY},
    }
    for kind, model in KINDS.items():
        spec_model = model.model_fields["spec"].annotation
        spec = spec_model.__name__  # type: ignore[union-attr]
        fields = spec_model.model_fields  # type: ignore[union-attr]
        for name, field in (("node_selector", "nodeSelector"), ("pod_selector", "podSelector")):
            if name in fields:
                checks[spec, field] = _LABELS
        if "pod_labels" in fields:
            app = {"LMCacheCoordinator": COORDINATOR_APP, "LMCacheServer": SERVER_APP}.get(kind, ENGINE_APP)
            checks[spec, "podLabels"] = _pod_labels(app, OWN_MANAGER if kind == "LMCacheServer" else MANAGED_BY)
            checks[spec, "podAnnotations"] = _ANNOTATIONS
    return checks


_RESERVED = {"properties": dict.fromkeys(selector_labels("", ""), False)}  # lmcache-gitops sets them
_PROJECT_CHECKS: Checks = {
    ("Project", "specs"): {"items": _RELATIVE_PATH},
    ("Project", "workloads"): {"items": _RELATIVE_PATH},
    ("Project", "output"): _RELATIVE_PATH,
    ("Repository", "path"): _RELATIVE_PATH,
    ("Project", "environments"): {"propertyNames": _DNS_LABEL},
    ("Environment", "namespace"): _DNS_LABEL,
    ("Environment", "labels"): {**_LABELS, **_RESERVED},
    ("Environment", "annotations"): _ANNOTATIONS,
    ("Environment", "namespaceLabels"): _LABELS,
    ("Environment", "namespaceAnnotations"): _ANNOTATIONS,
    ("ArgoCD", "namespace"): _DNS_LABEL,
    ("Flux", "namespace"): _DNS_LABEL,
    ("ResourceOverride", "labels"): {**_LABELS, **_RESERVED},
    ("ResourceOverride", "annotations"): _ANNOTATIONS,
}


def json_schema(kind: str | None = None) -> Schema:
    """JSON Schema of input documents: one kind, or any of them.

    >>> json_schema("VllmRouter")["properties"]["kind"]["const"]
    'VllmRouter'
    """
    models: list[type[BaseModel]] = [KINDS[kind]] if kind is not None else list(KINDS.values())
    kubernetes = {name: _map(_no_null_type, schema) for name, schema in json_schema_definitions().items()}
    return _schema(models, kubernetes, _spec_checks(), pruned=True)


def project_json_schema() -> Schema:
    """JSON Schema of the project file, lmcache-gitops.yaml (read as written: no null is pruned).

    >>> project_json_schema()["required"]
    ['environments']
    """
    return _schema([Project], {}, _PROJECT_CHECKS, pruned=False)


def json_schema_text(kind: str | None = None) -> str:
    """``json_schema(kind)`` as text; the kind "project" gives the project file's schema."""
    schema = project_json_schema() if kind == "project" else json_schema(kind)
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """The docstring below each field of ``cls``'s own body, as pydantic's
    use_attribute_docstrings reads them."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    statements = body.body if isinstance(body, ast.ClassDef) else []
    return {
        field.target.id: inspect.cleandoc(text.value.value)
        for field, text in itertools.pairwise(statements)
        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name)
        if isinstance(text, ast.Expr) and isinstance(text.value, ast.Constant) and isinstance(text.value.value, str)
    }


def _models_below(models: Iterator[type[BaseModel]]) -> list[type[BaseModel]]:
    """``models`` and every model their fields hold, each after the models it holds."""
    found: dict[type[BaseModel], None] = {}

    def visit(cls: type[BaseModel]) -> None:
        if cls not in found:
            for field in cls.model_fields.values():
                for inner in _models_in(field.annotation):
                    visit(inner)
            found[cls] = None

    for cls in models:
        visit(cls)
    return list(found)


def _subclasses(cls: type[Model]) -> Iterator[type[Model]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@functools.cache
def _described() -> None:
    """Give every field of the models the docstring below it as its description, then build the
    models again, each after those it holds. pydantic's use_attribute_docstrings would read the
    source of every model when it is imported: a tenth of the import of a compile, which only
    validates with them."""
    models = _models_below(_subclasses(Model))
    for cls in (model for model in models if issubclass(model, Model)):
        for name, field in cls.model_fields.items():
            owner = next(base for base in cls.__mro__ if name in inspect.get_annotations(base))
            if field.description is None and (text := _attribute_docstrings(owner).get(name)) is not None:
                field.description = text
    for model in models:
        model.model_rebuild(force=True)


def _schema(models: list[type[BaseModel]], defs: dict[str, Schema], checks: Checks, *, pruned: bool) -> Schema:
    """The schema of ``models`` (one at the root, else one of them), with ``defs`` and ``checks``;
    ``pruned``: null fields are dropped before validation."""
    _described()
    refs, schema = models_json_schema([(cls, "validation") for cls in models], by_alias=True)
    defs = {**schema["$defs"], **defs}
    for name, field in _defaults_that_fail(models):
        defs[name].setdefault("required", []).append(field)
    defs = {name: _map(_key_pattern, definition) for name, definition in defs.items()}
    if pruned:
        defs = {name: _map(_null_where_pruned, definition) for name, definition in defs.items()}
    for (name, field), check in checks.items():
        if name in defs:  # a definition this schema has
            defs[name]["properties"][field].setdefault("allOf", []).append(check)
    root = defs.pop(models[0].__name__) if len(models) == 1 else {"oneOf": [refs[cls, "validation"] for cls in models]}
    return {"$schema": _DIALECT, **root, "$defs": defs}


def _defaults_that_fail(models: list[type[BaseModel]]) -> Iterator[tuple[str, str]]:
    """(model, field alias) of the fields whose default is validated and invalid, such as the
    `{}` of an engine's spec (it needs `l1`): leaving such a field out, or null, is an error."""
    seen: set[type[BaseModel]] = set()
    todo = list(models)
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            todo += _models_in(field.annotation)
            if field.validate_default:
                try:
                    TypeAdapter(field.rebuild_annotation()).validate_python(
                        field.get_default(call_default_factory=True)
                    )
                except ValidationError:
                    yield model.__name__, field.alias or name


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def _map(change: Callable[[Schema], Schema], node: Any) -> Any:
    """``node`` with ``change`` applied to each schema in it, innermost first."""
    if not isinstance(node, dict):
        return node  # true or false
    return change(
        {
            key: [_map(change, item) for item in value]
            if key in ("allOf", "anyOf", "oneOf")
            else {name: _map(change, item) for name, item in value.items()}
            if key == "properties"
            else _map(change, value)
            if key in ("items", "additionalProperties")
            else value
            for key, value in node.items()
        }
    )


def _no_null_type(schema: Schema) -> Schema:
    """The vendored Kubernetes schema lets every value be null; ``_null_where_pruned`` says where."""
    types = schema.get("type")
    if not isinstance(types, list):
        return schema
    kept = [t for t in types if t != "null"]
    return {**schema, "type": kept[0] if len(kept) == 1 else kept}


def _key_pattern(schema: Schema) -> Schema:
    """A map whose keys have a pattern: pydantic's ``patternProperties`` leave other keys free."""
    if "patternProperties" not in schema or "additionalProperties" in schema:
        return schema
    out = dict(schema)
    [(pattern, values)] = out.pop("patternProperties").items()
    return {**out, "propertyNames": {"pattern": pattern}, "additionalProperties": values}


def _null_where_pruned(schema: Schema) -> Schema:
    """Null where the compiler prunes it (``read/inputs.py``): a property that may be left out,
    and a map value; not a required property (pruned, it is missing) nor a list item (kept)."""
    out = dict(schema)
    if "properties" in out:
        required = set(out.get("required", ()))
        out["properties"] = {k: v if k in required else _or_null(v) for k, v in out["properties"].items()}
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _or_null(out["additionalProperties"])
    return out


_NOTES = ("title", "description", "default")
_NOT_NULL = ("enum", "const", "$ref", "allOf", "anyOf", "oneOf", "not")  # keywords that would reject null


def _or_null(schema: Schema) -> Schema:
    types = schema.get("type")
    if types == "null" or (isinstance(types, list) and "null" in types) or {"type": "null"} in schema.get("anyOf", ()):
        return schema
    if types is not None and not any(key in schema for key in _NOT_NULL):
        return {**schema, "type": [*([types] if isinstance(types, str) else types), "null"]}
    notes = {key: value for key, value in schema.items() if key in _NOTES}
    rest = {key: value for key, value in schema.items() if key not in _NOTES}
    return {**notes, "anyOf": [rest, {"type": "null"}]}
