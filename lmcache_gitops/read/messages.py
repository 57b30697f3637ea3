"""Pydantic's errors as located problems, in Kubernetes' words where it has them."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import FieldPath, Problem
from ..k8s.schema import Kube
from .yamlio import Document

M = TypeVar("M", bound=BaseModel)


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


def describe(value: Any) -> str:
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
        return f"must be {_TYPE_NAMES[kind]}, got {describe(error['input'])}"
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


def validate_as(model_cls: type[M], document: Document, data: Any) -> tuple[M | None, list[Problem]]:
    """``data`` (read from ``document``) as a ``model_cls``, or every problem with it."""
    try:
        return model_cls.model_validate(data), []
    except ValidationError as err:
        return None, [document.problem(_error_path(e["loc"]), _message(e)) for e in err.errors()]


def kube_problems(document: Document, path: FieldPath, type_name: str, value: Any) -> list[Problem]:
    """Every problem of ``value`` (at ``path`` in ``document``) as the Kubernetes type ``type_name``."""
    try:
        Kube(type_name).validate(value)
    except ValidationError as err:
        return [document.problem((*path, *_error_path(e["loc"])), _message(e)) for e in err.errors()]
    return []
