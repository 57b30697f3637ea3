"""Pydantic's errors as located problems, in Kubernetes' words where it has them."""

from __future__ import annotations

import difflib
import functools
import json
import types
from collections.abc import Callable, Collection
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ..errors import FieldPath, Problem
from ..k8s.schema import Kube, field_names
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


def _message(error: Any, known: Callable[[tuple[Any, ...]], Collection[str]]) -> str:
    """The user-facing message for one pydantic error, in Kubernetes' words where they exist;
    ``known`` gives the field names allowed at a location, for the suggestion of an unknown field."""
    kind = error["type"]
    if kind == "missing":
        return "Required value"
    if kind == "extra_forbidden":
        return _unknown_field(error["loc"][-1], known(error["loc"][:-1]))
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


def _unknown_field(name: Any, known: Collection[str]) -> str:
    """ "unknown field", naming the known field closest to ``name`` when it is a plausible typo."""
    by_lower = {k.lower(): k for k in known}  # a changed case is a typo too
    close = difflib.get_close_matches(str(name).lower(), by_lower, n=1, cutoff=0.75)
    return f"unknown field; did you mean {by_lower[close[0]]}?" if close else "unknown field"


def _known_fields(annotation: Any, loc: tuple[Any, ...]) -> Collection[str]:
    """The field names allowed at ``loc`` in a value of type ``annotation``: a model's aliases, or
    the properties of an embedded Kubernetes shape; none where the type cannot be followed."""
    if isinstance(annotation, Kube):
        return field_names(annotation.ref, loc)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _known_fields(_kube(args[1:]) or args[0], loc)
    if origin in (Union, types.UnionType):  # Optional fields: the first type that resolves
        return next((found for arg in args if (found := _known_fields(arg, loc))), ())
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = {field.alias or name: field for name, field in annotation.model_fields.items()}
        if not loc:
            return fields.keys()
        field = fields.get(loc[0])
        # pydantic keeps a field's outer Annotated extras apart from its type
        return () if field is None else _known_fields(_kube(field.metadata) or field.annotation, loc[1:])
    if loc and origin in (list, dict) and args:  # into a list item or a mapping value
        return _known_fields(args[-1], loc[1:])
    return ()


def _kube(extras: Any) -> Kube | None:
    return next((extra for extra in extras if isinstance(extra, Kube)), None)


def _error_path(loc: tuple[Any, ...]) -> FieldPath:
    # Dict key errors carry the key twice, the second time as "[key]"; keep the first.
    return tuple(part for part in loc if not (isinstance(part, str) and part.startswith("[") and part.endswith("]")))


def validate_as(model_cls: type[M], document: Document, data: Any) -> tuple[M | None, list[Problem]]:
    """``data`` (read from ``document``) as a ``model_cls``, or every problem with it."""
    try:
        return model_cls.model_validate(data), []
    except ValidationError as err:
        known = functools.partial(_known_fields, model_cls)
        return None, [document.problem(_error_path(e["loc"]), _message(e, known)) for e in err.errors()]


def kube_problems(document: Document, path: FieldPath, type_name: str, value: Any) -> list[Problem]:
    """Every problem of ``value`` (at ``path`` in ``document``) as the Kubernetes type ``type_name``."""
    kube = Kube(type_name)
    try:
        kube.validate(value)
    except ValidationError as err:
        known = functools.partial(field_names, kube.ref)
        return [document.problem((*path, *_error_path(e["loc"])), _message(e, known)) for e in err.errors()]
    return []
