"""The base of every spec model, and the rule annotations that carry the operator's messages."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError
from pydantic_core import core_schema as cs

from ..errors import InvalidInput, Problem, format_path

API_GROUP = "lmcache.lmcache.ai"
API_VERSION = f"{API_GROUP}/v1alpha1"


class Model(BaseModel):
    """A CRD object: camelCase names, unknown fields rejected, no type coercion (as the API server)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        extra="forbid",
        frozen=True,
        strict=True,
        allow_inf_nan=False,
        defer_build=True,  # built when first used: a compile after a change validates few kinds
    )

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update`` (fields by either name), validated as the compiler validates
        them: an invalid value raises InvalidInput, never a copy the operator would reject."""
        if not update:
            return super().model_copy(deep=deep)
        aliases = {name: info.alias or name for name, info in type(self).model_fields.items()}
        data = self.model_dump(by_alias=True, exclude_unset=True)
        data.update((aliases.get(key, key), value) for key, value in update.items())
        try:
            return type(self).model_validate(data)
        except ValidationError as err:
            raise InvalidInput(
                Problem(f"<{type(self).__name__}.model_copy>", 1, format_path(e["loc"]), e["msg"]) for e in err.errors()
            ) from None

    def narrowed(self, **fields: Any) -> Self:
        """A copy with ``fields`` (by Python name) set to parts of what they hold (a list or a
        mapping with fewer items): valid already, so not validated again."""
        return super().model_copy(update=fields)

    if not TYPE_CHECKING:  # for mypy, the Python names only: a typo stays a type error

        def __getattr__(self, name: str) -> Any:
            """A field by its YAML name too (``spec.l1.sizeGB`` as well as ``spec.l1.size_gb``)."""
            for field, info in type(self).model_fields.items():
                if info.alias == name:
                    return getattr(self, field)
            return super().__getattr__(name)  # pydantic's: private attributes, and the error


def rule_error(message: str) -> PydanticCustomError:
    """An error whose message is shown to the user as is (the operator's wording)."""
    return PydanticCustomError("rule", message)


class Rule:
    """Annotation: ``check(value)`` must hold, else ``message``; ``schema`` goes into the JSON Schema,
    its ``pattern`` anchored: the check matches whole values (``fullmatch``), a JSON Schema anywhere."""

    def __init__(self, check: Callable[[Any], bool], message: str, **schema: Any) -> None:
        if "pattern" in schema:
            schema["pattern"] = f"^(?:{schema['pattern']})$"
        self.check, self.message, self.schema = check, message, schema

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        def validate(value: Any) -> Any:
            if value is not None and not self.check(value):
                raise rule_error(self.message)
            return value

        return cs.no_info_after_validator_function(validate, handler(source))

    def __get_pydantic_json_schema__(self, schema: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        out.update(self.schema)
        return out


def matches(pattern: str, message: str) -> Rule:
    """The whole value matches the regular expression ``pattern`` (checked and in the JSON Schema alike)."""
    compiled = re.compile(pattern)
    return Rule(lambda v: compiled.fullmatch(v) is not None, message, pattern=pattern)


def in_range(low: float, high: float, *, message: str | None = None, open_low: bool = False) -> Rule:
    """``low <= v <= high`` (``low < v`` with ``open_low``); the message defaults to ``[low, high]``."""
    if message is None:
        message = f"must be in {'(' if open_low else '['}{low}, {high}]"
    low_schema = {"exclusiveMinimum": low} if open_low else {"minimum": low}
    return Rule(
        (lambda v: low < v <= high) if open_low else (lambda v: low <= v <= high),
        message,
        **low_schema,
        maximum=high,
    )


def at_least(low: float, *, go: bool = False) -> Rule:
    """``v >= low``; ``go``: in the operator's ValidateSpec wording (`must be >= 0`), else its CRD marker's."""
    message = f"must be >= {low}" if go else f"must be greater than or equal to {low}"
    return Rule(lambda v: v >= low, message, minimum=low)


def greater_than(low: float) -> Rule:
    return Rule(lambda v: v > low, f"must be greater than {low}", exclusiveMinimum=low)


def non_empty(detail: str | None = None) -> Rule:
    """A non-empty string; ``detail`` is the operator's wording after "Required value", where it has one."""
    return Rule(lambda v: v != "", f"Required value: {detail}" if detail else "Required value", minLength=1)


def required(detail: str) -> BeforeValidator:
    """A field the operator requires in its own words: null reads `Required value: <detail>`
    (list it in ``AS_GO_READS_MISSING`` as None so that leaving it out reads the same)."""

    def check(value: Any) -> Any:
        if value is None:
            raise rule_error(f"Required value: {detail}")
        return value

    return BeforeValidator(check)


class AsGoReadsMissing:
    """A model mixin: the fields of ``AS_GO_READS_MISSING`` (by their YAML name) read as its
    value when left out, as Go reads a missing field (a string as "", a pointer as nil), so that
    missing and empty get the operator's one message."""

    AS_GO_READS_MISSING: ClassVar[dict[str, Any]] = {}

    @model_validator(mode="before")
    @classmethod
    def _as_go_reads_missing(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {**cls.AS_GO_READS_MISSING, **data}
        return data
