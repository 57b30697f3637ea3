"""The library's entry points: read specs, validate them, render their objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from . import fleet, loading, yamlio
from .errors import InvalidInput, Problem
from .loading import Resource, Source

DEFAULT_NAMESPACE = "default"
SPEC_SUFFIXES = (".yaml", ".yml")


def _read(paths: Iterable[str | Path]) -> tuple[list[Source], list[Problem]]:
    sources, problems = [], []
    for given in paths:
        path = Path(given)
        files = sorted(p for p in path.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file()) if path.is_dir() else [path]
        for file in files:
            name = str(file)
            try:
                sources.append(Source(name, file.read_bytes().decode("utf-8")))
            except UnicodeDecodeError as err:
                problems.append(Problem(name, 1, "", f"the file is not UTF-8 text ({err.reason} at byte {err.start})"))
            except OSError as err:
                problems.append(Problem(name, 1, "", f"cannot read the file: {err.strerror or err}"))
    return sources, problems


def read_sources(paths: Iterable[str | Path]) -> list[Source]:
    """The text of each file; a folder stands for every .yaml/.yml file below it.

    Raises InvalidInput for files that cannot be read or are not UTF-8.
    """
    sources, problems = _read(paths)
    if problems:
        raise InvalidInput(problems)
    return sources


def load_specs(sources: Iterable[Source], namespace: str = DEFAULT_NAMESPACE) -> list[Resource]:
    """Parse and validate every document; resources without a namespace go to ``namespace``.

    Raises InvalidInput listing every problem of every document.
    """
    resources, problems = loading.load(sources, namespace)
    if problems:
        raise InvalidInput(problems)
    return resources


def render_objects(resources: Iterable[Resource]) -> list[dict[str, Any]]:
    """Every Kubernetes object the operator would create for ``resources``, in a fixed order.

    Checks across resources (duplicates, coordinator references, generated names) happen here;
    raises InvalidInput when any fails.
    """
    return fleet.render(resources)


def render(sources: Iterable[Source], namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
    """``load_specs`` then ``render_objects``."""
    return render_objects(load_specs(sources, namespace))


def render_files(paths: Iterable[str | Path], namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
    """``render`` for files and folders; unreadable files are reported with all other problems."""
    sources, unreadable = _read(paths)
    resources, problems = loading.load(sources, namespace)
    if unreadable or problems:
        raise InvalidInput([*unreadable, *problems])
    return render_objects(resources)


def validate(sources: Iterable[Source], namespace: str = DEFAULT_NAMESPACE) -> list[Problem]:
    """Every problem in ``sources`` (an empty list when they compile)."""
    try:
        render(sources, namespace)
    except InvalidInput as err:
        return list(err.problems)
    return []


def to_yaml(objects: Iterable[dict[str, Any]]) -> str:
    """Objects as one multi-document YAML stream, byte for byte the same on every machine."""
    return yamlio.dump_all(objects)


def json_schema(kind: str | None = None) -> dict[str, Any]:
    """JSON Schema of input documents: one kind, or any of them (for yaml-language-server)."""
    from pydantic.json_schema import models_json_schema

    from .kube import json_schema_definitions
    from .models import KINDS

    models = [KINDS[kind]] if kind is not None else list(KINDS.values())
    refs, schema = models_json_schema([(cls, "validation") for cls in models], by_alias=True)
    schema["$defs"].update(json_schema_definitions())
    if kind is not None:
        schema.update(schema["$defs"].pop(models[0].__name__))
    else:
        schema["oneOf"] = [refs[(cls, "validation")] for cls in models]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def json_schema_text(kind: str | None = None) -> str:
    return json.dumps(json_schema(kind), indent=2, sort_keys=True) + "\n"
