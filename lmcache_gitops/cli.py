"""The `lmcache-gitops` command line: a thin layer over the library with a stable exit-code contract.

0: success. 1: invalid input (one "<file>:<line>: <path>: <message>" line per problem on stderr).
2: wrong usage. 3: an internal error (a bug: please report it).
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

import lmcache_gitops as lg

from .errors import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, InvalidInput, Problem
from .files.treeio import LOCK_TIMEOUT
from .naming import DEFAULT_NAMESPACE, PROJECT_FILE


def _color() -> bool | None:
    """Colour on a terminal only (click's default), and never with NO_COLOR set (no-color.org)."""
    return False if os.environ.get("NO_COLOR") else None


def _say(text: str, *, err: bool = False, fg: str | None = None, nl: bool = True) -> None:
    click.secho(text, err=err, fg=fg, nl=nl, color=_color())


def _problem(problem: Problem) -> None:
    _say(str(problem), err=True, fg="yellow" if problem.severity == "warning" else "red")


def _json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def _run(action: Callable[[], None], json_problems: bool = False) -> None:
    """Run a command body, mapping bad input to exit 1 and anything unexpected to exit 3."""
    try:
        action()
    except InvalidInput as err:
        if json_problems:
            _json({"problems": [problem.to_json() for problem in err.problems]})
        for problem in err.problems:
            _problem(problem)
        noun = "problem" if len(err.problems) == 1 else "problems"
        _say(f"lmcache-gitops: {len(err.problems)} {noun} found; nothing was written", err=True)
        sys.exit(EXIT_INVALID)
    except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:
        _say(f"lmcache-gitops: internal error: {type(err).__name__}: {err}", err=True)
        _say("This is a bug in lmcache-gitops; please report it with the input that caused it.", err=True)
        sys.exit(EXIT_INTERNAL)


def _format_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="json: one JSON document on stdout (the result, or the problems), for scripts.",
    )(func)


def _quiet_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--quiet", "-q", is_flag=True, help="Print only problems; the exit code says the rest.")(func)


def _namespace_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--namespace",
        "-n",
        default=DEFAULT_NAMESPACE,
        show_default=True,
        help="Namespace for resources that do not set metadata.namespace.",
    )(func)


def _allow_skip_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--allow-skip",
        is_flag=True,
        help="Deploy the workloads the webhook would skip unwired, with its skip-reason annotation "
        'and a warning, instead of failing (one workload: the annotation lmcache-gitops/allow-skip: "true").',
    )(func)


_warn = _problem


def _project_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--project",
        "-p",
        "project_file",
        default=PROJECT_FILE,
        show_default=True,
        type=click.Path(dir_okay=False),
        help="The project file; paths in it are relative to its folder.",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(lg.__version__, prog_name="lmcache-gitops")
def cli() -> None:
    """Compile LMCache operator resources (LMCacheEngine, CacheBlendEngine, LMCacheCoordinator,
    VllmRouter) into plain Kubernetes objects and a Kustomize tree for Argo CD or Flux, with no
    operator or webhook in the cluster."""


def _project_objects(project_file: str, environment: str | None, allow_skip: bool) -> list[dict[str, Any]]:
    """What one environment deploys, or (none named) every environment, one after the other."""
    if environment:
        return lg.render_environment(environment, project_file, allow_skip=allow_skip, warn=_warn)
    loaded = lg.load_project(project_file, allow_skip=allow_skip)
    for warning in loaded.build.warnings:
        _warn(warning)
    return [obj for env in loaded.environments for obj in loaded.render(env)]


@cli.command()
@click.argument("files", nargs=-1, metavar="[FILE...]")
@_namespace_option
@click.option("--env", "-e", "environment", help="Render this environment of the project instead of FILE...")
@_project_option
@_allow_skip_option
@_format_option
def render(
    files: Sequence[str],
    namespace: str,
    environment: str | None,
    project_file: str,
    allow_skip: bool,
    output_format: str,
) -> None:
    """Print every object the specs in FILE... generate, as multi-document YAML, with your own
    objects in FILE... (any other apiVersion): workloads that opt in to injection are wired to
    their engine as the operator's webhooks would wire their pods.

    A FILE may be a folder: every .yaml/.yml file below it is read. Without FILE, print what the
    project deploys: with --env, one environment (exactly what `kustomize build overlays/<env>`
    gives), else every environment in turn. Output goes to stdout in a fixed order (the same bytes
    for the same specs, whatever the order of the files). On invalid input nothing is printed to
    stdout; each problem is one line on stderr and the exit code is 1.

    \b
    Examples:
      lmcache-gitops render --namespace llm specs/engine.yaml workloads/vllm.yaml > objects.yaml
      lmcache-gitops render --env prod
      lmcache-gitops render --env prod --format json | jq '.[].kind'
    """
    if files and environment:
        raise click.UsageError("give either FILE... or --env ENV")

    def action() -> None:
        if files:
            objects = lg.render_files(files, namespace, allow_skip=allow_skip, warn=_warn)
        else:
            objects = _project_objects(project_file, environment, allow_skip)
        if output_format == "json":
            _json(objects)
        else:
            click.echo(lg.to_yaml(objects), nl=False)

    _run(action, json_problems=output_format == "json")


@cli.command()
@click.argument("files", nargs=-1, metavar="[FILE...]")
@_namespace_option
@_project_option
@_allow_skip_option
@_format_option
@_quiet_option
def validate(
    files: Sequence[str], namespace: str, project_file: str, allow_skip: bool, output_format: str, quiet: bool
) -> None:
    """Check the specs and workloads in FILE... (without FILE: the whole project, every
    environment) with every rule `render` and `compile` apply; print nothing when valid.

    \b
    Example (exit 0 when valid, 1 with one line per problem otherwise):
      lmcache-gitops validate specs/
      specs/engine.yaml:7: spec.l1.sizeGB: must be greater than 0
    """
    warnings: list[Problem] = []

    def action() -> None:
        if files:
            lg.render_files(files, namespace, allow_skip=allow_skip, warn=warnings.append)
        else:
            warnings.extend(lg.load_project(project_file, allow_skip=allow_skip).build.warnings)
        if output_format == "json":
            _json({"problems": [warning.to_json() for warning in warnings]})
        elif not quiet:
            for warning in warnings:
                _warn(warning)

    _run(action, json_problems=output_format == "json")


@cli.command(name="compile")
@_project_option
@click.option("--check", is_flag=True, help="Write nothing; report the files that are out of date.")
@_format_option
@_quiet_option
@_allow_skip_option
@click.option(
    "--rendered",
    is_flag=True,
    help="Also write (with --check: also compare) rendered/<env>/, as the project's `rendered: true` does.",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=LOCK_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another compile of the same tree to finish before failing.",
)
def compile_command(
    project_file: str,
    check: bool,
    output_format: str,
    quiet: bool,
    allow_skip: bool,
    rendered: bool,
    lock_timeout: float,
) -> None:
    """Compile the project into its Kustomize tree: bases/ and overlays/<env>/, with clusters/<env>/
    when the project delivers (Argo CD and Flux objects) and rendered/<env>/ when it asks for them.

    Writes the files that changed and deletes the generated files the project no longer has (never
    a file lmcache-gitops did not generate), all or none of them: a compile killed midway is
    completed by the next one, and --check reports it. Exit code 0 when the tree was already up to
    date, 1 when anything was created, changed or deleted (listed on stdout), as a pre-commit hook
    must. With --check nothing is written and each stale file is listed with its changed fields,
    as `diff` words them.

    \b
    Examples:
      lmcache-gitops compile                  # update the tree, then commit it
      lmcache-gitops compile --check          # in CI: fail when the committed tree is stale
    """

    def action() -> None:
        from .files import cache  # answers a compile that has nothing to do without loading the library

        options = cache.options(allow_skip=allow_skip, rendered=rendered)
        report = cache.cached_report(Path(project_file), options, check=check)
        if report is None and check:
            report = lg.check_project(project_file, allow_skip=allow_skip, rendered=rendered)
        elif report is None:
            report = lg.compile_project(
                project_file, allow_skip=allow_skip, rendered=rendered, lock_timeout=lock_timeout
            )
        if not quiet:
            for warning in report.warnings:
                _warn(warning)
        if output_format == "json":
            _json(report.to_json())
        elif not quiet:
            click.echo(report.text(), nl=False)
        if not report.up_to_date:
            sys.exit(EXIT_INVALID)

    _run(action, json_problems=output_format == "json")


@cli.command()
@_project_option
@click.option("--env", "-e", "environments", multiple=True, help="Only this environment (repeat for more).")
@click.option("--base", default="HEAD", show_default=True, help="The git revision to compare the work tree with.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when any environment deploys something different.")
@_format_option
@_quiet_option
@_allow_skip_option
def diff(
    project_file: str,
    environments: Sequence[str],
    base: str,
    exit_code: bool,
    output_format: str,
    quiet: bool,
    allow_skip: bool,
) -> None:
    """Show what the change deploys: per environment, every object that the project deploys now
    (the work tree) differently from git revision --base, field by field. Containers, env vars,
    volumes and ports are named by their name; inserted, removed and moved list items are shown
    as such.

    \b
    Examples:
      lmcache-gitops diff                     # the uncommitted change
      lmcache-gitops diff --base origin/main --env prod --exit-code
      prod  DaemonSet/kv-cache  spec.template.spec.containers[lmcache].resources.requests.memory: 65Gi -> 125Gi
    """

    def action() -> None:
        result = lg.diff_project(project_file, base=base, environments=environments, allow_skip=allow_skip)
        if output_format == "json":
            _json(result.to_json())
        elif not quiet:
            click.echo(result.text(), nl=False)
        if exit_code and result.differs:
            sys.exit(EXIT_INVALID)

    _run(action, json_problems=output_format == "json")


@cli.command()
@_project_option
@_allow_skip_option
@_format_option
@_quiet_option
def verify(project_file: str, allow_skip: bool, output_format: str, quiet: bool) -> None:
    """Build every folder of the committed tree with the real kustomize, as Argo CD and Flux will:
    the bases, each overlays/<env>/ and its tiers, each clusters/ folder. Fails when the tree is
    stale, when a build fails or prints anything on stderr, or when it gives other objects than
    lmcache-gitops compiles for that folder.

    kustomize is $LMCACHE_GITOPS_KUSTOMIZE, a `kustomize` on PATH, the one of
    `pip install 'lmcache-gitops[kustomize]'` (5.8.1, as Argo CD and Flux run it), or a `kubectl` on PATH.

    \b
    Example (in CI, after compile --check):
      lmcache-gitops verify
    """

    def action() -> None:
        result = lg.verify_project(project_file, allow_skip=allow_skip)
        if output_format == "json":
            _json({"kustomize": result.kustomize, "folders": result.folders})
        elif not quiet:
            for folder in result.folders:
                click.echo(f"  built  {folder}")
            click.echo(
                f"lmcache-gitops: {len(result.folders)} folders build to what the project compiles ({result.kustomize})"
            )

    _run(action, json_problems=output_format == "json")


@cli.command()
@click.argument("folder", default=".", type=click.Path(file_okay=False))
@_quiet_option
def init(folder: str, quiet: bool) -> None:
    """Start a project in FOLDER (default: here): a project file with dev and prod environments,
    an example spec and workload with editor-schema comments, the schema files beside them, a
    .pre-commit-config.yaml that runs compile, and the compiled tree. FOLDER may be an existing
    repository (its README, .gitignore, .git and other files stay); init refuses to write where
    a project file, specs/, workloads/ or a tree folder already is.

    \b
    Then:
      pre-commit install && git add -A && git commit -m "LMCache for dev and prod"
    """

    def action() -> None:
        from .files.scaffold import scaffold

        written, hooks = scaffold(Path(folder))
        report = lg.compile_project(Path(folder) / PROJECT_FILE)
        if quiet:
            return
        for path in written:
            click.echo(f"  created  {path}")
        click.echo(report.text(), nl=False)
        if not hooks:
            click.echo(
                "Kept your .pre-commit-config.yaml: add the hook `lmcache-gitops compile` to it "
                '(see the README, "The workflow").'
            )
        click.echo(
            "Next: edit the specs or lmcache-gitops.yaml (set repository and delivery to have Argo CD or Flux "
            "sync it), run `lmcache-gitops compile`, commit, and apply clusters/<env> once."
        )

    _run(action)


@cli.command(name="import")
@click.argument("files", nargs=-1, metavar="[FILE...]")
@click.option(
    "--helm-values",
    type=click.Path(dir_okay=False),
    help="Import a release of the LMCache Helm chart from its values file instead of FILE...",
)
@click.option("--release", default="lmcache", show_default=True, help="The Helm release's name (with --helm-values).")
@click.option(
    "--folder", "-C", default=".", show_default=True, type=click.Path(file_okay=False), help="The project's folder."
)
@click.option(
    "--minimal", is_flag=True, help="Also drop the values the API server filled in (CRD and built-in defaults)."
)
@_namespace_option
@_format_option
@_quiet_option
def import_command(
    files: Sequence[str],
    helm_values: str | None,
    release: str,
    folder: str,
    minimal: bool,
    namespace: str,
    output_format: str,
    quiet: bool,
) -> None:
    """Start a project from a cluster that runs the operator: FILE... (`-` for stdin) hold what
    `kubectl get ... -o yaml` printed, the operator's custom resources and, optionally, your vLLM
    Deployments, StatefulSets and Services. Each becomes specs/<namespace>/<kind>.<name>.yaml or
    workloads/<namespace>/..., without what the cluster wrote (status, uid, managedFields, the
    last-applied annotation, ...). What the operator generated, pods, Events and Secrets are
    skipped and listed. A project file with one environment per namespace is written where there
    is none. Existing files are never overwritten. See the README, "Moving off the operator".
    With --helm-values, import a release of the LMCache Helm chart instead: an LMCacheConfig and
    the chart's Deployment and Service; values it does not import are listed.

    \b
    Examples:
      kubectl get lmcacheengines,cacheblendengines,lmcachecoordinators,vllmrouters -A -o yaml > cluster.yaml
      lmcache-gitops import cluster.yaml --minimal && lmcache-gitops compile
      lmcache-gitops import --helm-values values.yaml --release lmcache --namespace llm
    """
    if bool(files) == bool(helm_values):
        raise click.UsageError("give either FILE... or --helm-values FILE")

    def action() -> None:
        stdin = sys.stdin.read() if "-" in files else None
        result = lg.import_files(
            files,
            folder,
            minimal=minimal,
            namespace=namespace,
            stdin=stdin,
            helm_values=helm_values,
            release=release,
        )
        if output_format == "json":
            _json(
                {
                    "files": sorted(result.files),
                    "skipped": [{"object": name, "reason": why} for name, why in result.skipped],
                    "pinned": [{"object": name, "field": what} for name, what in result.pinned],
                    "resources": result.resources,
                    "workloads": result.workloads,
                }
            )
            return
        if quiet:
            return
        for path in sorted(result.files):
            click.echo(f"  created  {path}")
        for name, why in result.skipped:
            click.echo(f"  skipped  {name}: {why}")
        for name, what in result.pinned:
            click.echo(f"  pinned   {name}: {what}")
        click.echo(
            f"lmcache-gitops: imported {result.resources} resource{'' if result.resources == 1 else 's'} and "
            f"{result.workloads} workload{'' if result.workloads == 1 else 's'}; next: `lmcache-gitops compile`, "
            "review, commit"
        )

    _run(action, json_problems=output_format == "json")


class _Kinds(click.Choice):  # type: ignore[type-arg]  # click's Choice is generic only in newer releases
    """The kinds `schema` takes, listed when click needs them (help, a bad value): the models they
    come from cost more to load than a whole cached `compile --check`."""

    def __init__(self) -> None:
        super().__init__([])

    @property  # type: ignore[override]
    def choices(self) -> list[str]:
        from .models import KINDS

        return [*sorted(KINDS), "project"]

    @choices.setter
    def choices(self, _: object) -> None:
        pass


@cli.command()
@click.argument("kind", required=False, type=_Kinds())
def schema(kind: str | None) -> None:
    """Print the JSON Schema of input documents (of one KIND, or of any kind), or with
    `project`, of the project file.

    Point an editor at it for completion and checks as you type.

    \b
    Example, with yaml-language-server:
      lmcache-gitops schema > lmcache.schema.json
      # yaml-language-server: $schema=./lmcache.schema.json      (first line of a spec file)
    """
    from .models.json_schema import json_schema_text

    _run(lambda: click.echo(json_schema_text(kind), nl=False))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code instead of exiting (for tests and embedding)."""
    # A compile builds millions of short-lived acyclic dicts and lists: with Python's default
    # thresholds the cycle collector runs thousands of times for nothing (a fifth of a compile of
    # 1000 specs). Collect rarely instead, after freezing what the imports made.
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="lmcache-gitops", standalone_mode=False)
    except click.exceptions.Exit as err:
        return err.exit_code
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 130
    except SystemExit as err:
        return err.code if isinstance(err.code, int) else EXIT_INVALID
    return EXIT_OK
