"""The `lmcache-gitops` command line: a thin layer over the library with a stable exit-code contract.

0: success. 1: invalid input (one "<file>:<line>: <path>: <message>" line per problem on stderr).
2: wrong usage. 3: an internal error (a bug: please report it).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Sequence

import click

from . import __version__, api
from .errors import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, InvalidInput
from .models import KINDS


def _run(action: Callable[[], None]) -> None:
    """Run a command body, mapping bad input to exit 1 and anything unexpected to exit 3."""
    try:
        action()
    except InvalidInput as err:
        for problem in err.problems:
            click.echo(str(problem), err=True)
        noun = "problem" if len(err.problems) == 1 else "problems"
        click.echo(f"lmcache-gitops: {len(err.problems)} {noun} found; nothing was written", err=True)
        sys.exit(EXIT_INVALID)
    except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # noqa: BLE001 - the exit-3 contract: a bug, never bad input
        click.echo(f"lmcache-gitops: internal error: {type(err).__name__}: {err}", err=True)
        click.echo("This is a bug in lmcache-gitops; please report it with the input that caused it.", err=True)
        sys.exit(EXIT_INTERNAL)


def _inputs(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options shared by the commands that read specs."""
    func = click.argument("files", nargs=-1, required=True, metavar="FILE...")(func)
    return click.option(
        "--namespace",
        "-n",
        default=api.DEFAULT_NAMESPACE,
        show_default=True,
        help="Namespace for resources that do not set metadata.namespace.",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="lmcache-gitops")
def cli() -> None:
    """Compile LMCache operator resources (LMCacheEngine, CacheBlendEngine, LMCacheCoordinator)
    into plain Kubernetes objects, with no operator or webhook in the cluster."""


@cli.command()
@_inputs
def render(namespace: str, files: Sequence[str]) -> None:
    """Print every object the specs in FILE... generate, as multi-document YAML.

    A FILE may be a folder: every .yaml/.yml file below it is read. Output goes to stdout in a
    fixed order (the same bytes for the same specs, whatever the order of the files). On invalid
    input nothing is printed to stdout; each problem is one line on stderr and the exit code is 1.

    \b
    Example:
      lmcache-gitops render --namespace llm specs/engine.yaml specs/coordinator.yaml > objects.yaml
    """

    def action() -> None:
        text = api.to_yaml(api.render_files(files, namespace))
        click.echo(text, nl=False)

    _run(action)


@cli.command()
@_inputs
def validate(namespace: str, files: Sequence[str]) -> None:
    """Check the specs in FILE... with every rule `render` applies; print nothing when valid.

    \b
    Example (exit 0 when valid, 1 with one line per problem otherwise):
      lmcache-gitops validate specs/
      specs/engine.yaml:7: spec.l1.sizeGB: must be greater than 0
    """

    def action() -> None:
        api.render_files(files, namespace)

    _run(action)


@cli.command()
@click.argument("kind", required=False, type=click.Choice(sorted(KINDS)))
def schema(kind: str | None) -> None:
    """Print the JSON Schema of input documents (of one KIND, or of any kind).

    Point an editor at it for completion and checks as you type.

    \b
    Example, with yaml-language-server:
      lmcache-gitops schema > lmcache.schema.json
      # yaml-language-server: $schema=./lmcache.schema.json      (first line of a spec file)
    """
    _run(lambda: click.echo(api.json_schema_text(kind), nl=False))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code instead of exiting (for tests and embedding)."""
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
