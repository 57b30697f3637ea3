"""lmcache-gitops: compile LMCache operator resources into plain Kubernetes objects and a Kustomize tree.

    import lmcache_gitops as lg
    objects = lg.render(lg.read_sources(["specs/"]), namespace="llm")
    print(lg.to_yaml(objects))

    report = lg.check_project("lmcache-gitops.yaml")     # or compile_project to write the tree
    for change in report.changes:
        print(change.change, change.path)

Every function raises ``InvalidInput`` (with ``.problems``) on bad input. Only ``compile_project``
writes files, and only inside the project's output folder.
"""

from .api import (
    DEFAULT_NAMESPACE,
    LoadedProject,
    check_project,
    compile_project,
    json_schema,
    load_inputs,
    load_project,
    project_json_schema,
    read_sources,
    render,
    render_environment,
    render_files,
    render_objects,
    to_yaml,
    validate,
)
from .drift import FieldChange, Report
from .errors import InvalidInput, Problem
from .loading import Inputs, Manifest, Resource, Source
from .treeio import FileChange

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_NAMESPACE",
    "FieldChange",
    "FileChange",
    "Inputs",
    "InvalidInput",
    "LoadedProject",
    "Manifest",
    "Problem",
    "Report",
    "Resource",
    "Source",
    "__version__",
    "check_project",
    "compile_project",
    "json_schema",
    "load_project",
    "load_inputs",
    "project_json_schema",
    "read_sources",
    "render",
    "render_environment",
    "render_files",
    "render_objects",
    "to_yaml",
    "validate",
]
