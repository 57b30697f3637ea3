"""The JSON Schemas of specs and of the project file, for editors (yaml-language-server)."""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import models_json_schema

from ..k8s.schema import json_schema_definitions
from .kinds import KINDS
from .project_file import Project

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema(kind: str | None = None) -> dict[str, Any]:
    """JSON Schema of input documents: one kind, or any of them."""
    models = [KINDS[kind]] if kind is not None else list(KINDS.values())
    refs, schema = models_json_schema([(cls, "validation") for cls in models], by_alias=True)
    schema["$defs"].update(json_schema_definitions())
    if kind is not None:
        schema.update(schema["$defs"].pop(models[0].__name__))
    else:
        schema["oneOf"] = [refs[(cls, "validation")] for cls in models]
    return {"$schema": _DIALECT, **schema}


def project_json_schema() -> dict[str, Any]:
    """JSON Schema of the project file, lmcache-gitops.yaml."""
    return {"$schema": _DIALECT, **Project.model_json_schema(by_alias=True)}


def json_schema_text(kind: str | None = None) -> str:
    """``json_schema(kind)`` as text; the kind "project" gives the project file's schema."""
    schema = project_json_schema() if kind == "project" else json_schema(kind)
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
