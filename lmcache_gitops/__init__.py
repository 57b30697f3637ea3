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

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from .naming import VERSION as __version__

if TYPE_CHECKING:
    from .api import (
        DEFAULT_NAMESPACE,
        FieldDiff,
        FileChange,
        Imported,
        Inputs,
        InvalidInput,
        LoadedProject,
        ObjectDiff,
        Problem,
        ProjectDiff,
        Report,
        Source,
        Verification,
        check_project,
        compile_project,
        diff_project,
        import_files,
        json_schema,
        load_project,
        project,
        project_json_schema,
        read_sources,
        render,
        render_environment,
        render_files,
        render_objects,
        to_yaml,
        validate,
        verify_project,
    )

__all__ = [
    "DEFAULT_NAMESPACE",
    "FieldDiff",
    "FileChange",
    "Imported",
    "Inputs",
    "InvalidInput",
    "LoadedProject",
    "ObjectDiff",
    "Problem",
    "ProjectDiff",
    "Report",
    "Source",
    "Verification",
    "__version__",
    "check_project",
    "compile_project",
    "diff_project",
    "import_files",
    "json_schema",
    "load_project",
    "project",
    "project_json_schema",
    "read_sources",
    "render",
    "render_environment",
    "render_files",
    "render_objects",
    "to_yaml",
    "validate",
    "verify_project",
]


def __getattr__(name: str) -> Any:
    """The library, loaded on first use: `lmcache-gitops --help` and a cached no-change
    `compile --check` never pay for building the models' classes."""
    # What tools probe a module for, and the submodules (`from lmcache_gitops import naming`
    # asks here first), are never a reason to load the library.
    here = os.path.dirname(__file__)
    if (
        name.startswith("__")
        or os.path.exists(os.path.join(here, name))
        or os.path.exists(os.path.join(here, f"{name}.py"))
    ):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    api = importlib.import_module(f"{__name__}.api")
    try:
        return getattr(api, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
