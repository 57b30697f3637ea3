"""lmcache-gitops: compile LMCache operator resources into plain Kubernetes objects.

    import lmcache_gitops as lg
    objects = lg.render(lg.read_sources(["specs/"]), namespace="llm")
    print(lg.to_yaml(objects))

Every function raises ``InvalidInput`` (with ``.problems``) on bad input; nothing here writes files.
"""

from .api import (
    DEFAULT_NAMESPACE,
    json_schema,
    load_specs,
    read_sources,
    render,
    render_files,
    render_objects,
    to_yaml,
    validate,
)
from .errors import InvalidInput, Problem
from .loading import Resource, Source

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_NAMESPACE",
    "InvalidInput",
    "Problem",
    "Resource",
    "Source",
    "__version__",
    "json_schema",
    "load_specs",
    "read_sources",
    "render",
    "render_files",
    "render_objects",
    "to_yaml",
    "validate",
]
