"""``serinus validate FILE...``: check Canary, MetricTemplate and AlertProvider documents.

Prints one line per problem (file, document number, kind namespace/name, field path, what was
expected, what was found) and goes on to the end of every file. Exit 1 when anything is wrong.
A Canary is also held against what its provider's router can do (``spec.provider``, else
``--mesh-provider``, the operator's default), as the operator holds it before acting on it. Where
serinus knowingly behaves differently from Flagger for a Canary (its last step stops at
``maxWeight``; a router writes an object differently), a ``note:`` line says so; notes are not
problems and do not change the exit code.
"""

from __future__ import annotations

import contextlib
import pathlib
import sys

import click

from serinus.apis import documents
from serinus.apis.canary import Canary
from serinus.controller import strategies
from serinus.errors import UnknownProviderError
from serinus.operator.settings import OperatorSettings
from serinus.routers import registry as routers


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=pathlib.Path))
@click.option(
    "--quiet", "-q", is_flag=True, help="Print problems only: no notes, no documents that passed."
)
@click.option(
    "--mesh-provider",
    default=OperatorSettings.mesh_provider,
    show_default=True,
    help="The provider of Canaries without spec.provider (the operator's --mesh-provider).",
)
def validate(files: tuple[pathlib.Path, ...], quiet: bool, mesh_provider: str) -> None:
    """Check the flagger.app documents in FILES ('-' reads standard input).

    Other kinds in the same files (Deployments, Services) are skipped.
    """
    problems = 0
    for path in files:
        try:
            text = sys.stdin.read() if str(path) == "-" else path.read_text()
        except OSError as error:
            click.echo(f"{path}: cannot read: {error.strerror}", err=True)
            problems += 1
            continue
        checked = 0
        for document in documents.load_documents(text):
            checked += 1
            found = [*document.problems, *_router_refusals(document.model, mesh_provider)]
            for problem in found:
                click.echo(f"{path}: document {document.index}: {document.title}: {problem}")
                problems += 1
            if not found and not quiet:
                click.echo(f"{path}: document {document.index}: {document.title}: valid")
            for note in [] if quiet else _notes(document.model, mesh_provider):
                click.echo(f"{path}: document {document.index}: {document.title}: note: {note}")
        if checked == 0 and not quiet:
            click.echo(f"{path}: no flagger.app documents")
    if problems:
        raise click.exceptions.Exit(1)


def _router_refusals(model: object, default_provider: str) -> list[str]:
    """What a Canary asks of its router that the router cannot do (or that it has none)."""
    if not isinstance(model, Canary):
        return []
    provider = model.spec.provider or default_provider
    try:
        return routers.refusals(model, provider)
    except UnknownProviderError as error:
        field = "spec.provider" if model.spec.provider else "--mesh-provider"
        return [f"{field}: {error}"]


def _notes(model: object, default_provider: str) -> list[str]:
    """Where serinus knowingly differs from Flagger for a Canary (its steps, its router)."""
    if not isinstance(model, Canary):
        return []
    found = strategies.notes(model.spec.effective_analysis)
    with contextlib.suppress(UnknownProviderError):  # reported as a problem already
        found += routers.notes(model, model.spec.provider or default_provider)
    return found
