"""YAML documents -> validated resources, every problem with its file, line and field path."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import FieldPath, Problem
from .models import API_VERSION, KINDS, AnyResource
from .yamlio import Document, load_documents


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Source:
    """The text of one input file and the name to report it by."""

    name: str
    text: str


@dataclass(frozen=True)
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
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)

    def problem(self, path: FieldPath, message: str) -> Problem:
        return self.document.problem(path, message)


_TYPE_NAMES = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "a boolean",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {json.dumps(value)}"
    if value is None:
        return "null"
    return "a list" if isinstance(value, list) else "a mapping"


def _message(error: Any) -> str:
    """The user-facing message for one pydantic error, in Kubernetes' words where they exist."""
    kind = error["type"]
    if kind == "missing":
        return "Required value"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "literal_error":
        expected = error["ctx"]["expected"].replace("'", '"').replace(" or ", ", ")
        return f"Unsupported value: {json.dumps(error['input'])}: supported values: {expected}"
    if kind in _TYPE_NAMES:
        return f"must be {_TYPE_NAMES[kind]}, got {_describe(error['input'])}"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "string_pattern_mismatch":
        return f"must match {error['ctx']['pattern']}"
    if kind in ("rule", "kube_type"):
        return str(error["msg"])
    if kind in ("greater_than_equal", "less_than_equal"):  # integer bounds of Kubernetes fields
        return "must be a 64-bit integer" if abs(error["input"]) >= 2**31 else "must be a 32-bit integer"
    return str(error["msg"])  # pragma: no cover - every error type the models raise is mapped above


def _error_path(loc: tuple[Any, ...]) -> FieldPath:
    # Dict key errors carry the key twice, the second time as "[key]"; keep the first.
    return tuple(part for part in loc if not (isinstance(part, str) and part.startswith("[") and part.endswith("]")))


def _without_nulls(value: Any) -> Any:
    """Drop null fields, as the API server prunes them from custom resources before defaulting."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def validate_as(model_cls: type[M], document: Document, data: Any) -> tuple[M | None, list[Problem]]:
    """``data`` (read from ``document``) as a ``model_cls``, or every problem with it."""
    try:
        return model_cls.model_validate(data), []
    except ValidationError as err:
        return None, [document.problem(_error_path(e["loc"]), _message(e)) for e in err.errors()]


def parse(document: Document, default_namespace: str) -> tuple[Resource | None, list[Problem]]:
    """Validate one document as one of the custom resources."""
    data = document.data
    if not isinstance(data, dict):
        return None, [document.problem((), f"a document must be a mapping (a Kubernetes object), got {_describe(data)}")]
    problems = []
    if data.get("apiVersion") != API_VERSION:
        problems.append(
            document.problem(
                ("apiVersion",),
                "Required value" if "apiVersion" not in data else
                f"Unsupported value: {json.dumps(data['apiVersion'])}: supported values: \"{API_VERSION}\"",
            )
        )
    model_cls = KINDS.get(data.get("kind"))  # type: ignore[arg-type]
    if model_cls is None:
        supported = ", ".join(f'"{kind}"' for kind in KINDS)
        problems.append(
            document.problem(
                ("kind",),
                "Required value" if "kind" not in data else
                f"Unsupported value: {json.dumps(data['kind'])}: supported values: {supported}",
            )
        )
    if problems:
        return None, problems
    model, problems = validate_as(model_cls, document, _without_nulls(data))  # type: ignore[arg-type]
    if model is None:
        return None, problems
    namespace = model.metadata.namespace or default_namespace
    return Resource(model, namespace, document), []  # type: ignore[arg-type]


def load(sources: Iterable[Source], default_namespace: str) -> tuple[list[Resource], list[Problem]]:
    """Every resource of every source, or the problems found on the way (all of them)."""
    resources: list[Resource] = []
    problems: list[Problem] = []
    for source in sources:
        documents, found = load_documents(source.text, source.name)
        problems.extend(found)
        for document in documents:
            resource, found = parse(document, default_namespace)
            problems.extend(found)
            if resource is not None:
                resources.append(resource)
    return resources, problems
