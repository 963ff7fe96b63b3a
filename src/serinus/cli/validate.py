"""``serinus validate FILE...``: check Canary, MetricTemplate and AlertProvider documents.

Prints one line per problem (file, document number, kind namespace/name, field path, what was
expected, what was found) and goes on to the end of every file. Exit 1 when anything is wrong.
"""

from __future__ import annotations

import pathlib
import sys

import click

from serinus.apis import documents


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=pathlib.Path))
@click.option(
    "--quiet", "-q", is_flag=True, help="Print problems only, not the documents that passed."
)
def validate(files: tuple[pathlib.Path, ...], quiet: bool) -> None:
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
            for problem in document.problems:
                click.echo(f"{path}: document {document.index}: {document.title}: {problem}")
                problems += 1
            if not document.problems and not quiet:
                click.echo(f"{path}: document {document.index}: {document.title}: valid")
        if checked == 0 and not quiet:
            click.echo(f"{path}: no flagger.app documents")
    if problems:
        raise click.exceptions.Exit(1)
