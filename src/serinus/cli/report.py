"""``serinus report NAME``: one run's timeline as a standalone HTML file, for a ticket.

Reads the Canary's run history (needs ``get`` on ConfigMaps in its namespace) and writes the
page of :mod:`serinus.operating.report`: the last run by default, ``--run N`` for the N-th kept
(``--run -2`` for the one before the last), to ``--output`` (default ``<name>-run-<N>.html``;
``-`` for standard output).
"""

from __future__ import annotations

import asyncio
import pathlib

import click

from serinus.apis.history import History
from serinus.cli import common
from serinus.cli.cluster import Cluster, cluster_options
from serinus.operating import reading
from serinus.operating import report as pages


@click.command()
@click.argument("name")
@cluster_options
@click.option(
    "--run", "run", type=int, default=None, help="Which run (1 = oldest kept, -1 = last)."
)
@click.option(
    "-o", "--output", type=click.Path(path_type=pathlib.Path, dir_okay=False), default=None,
    help="Where to write the page (default: NAME-run-N.html; - for standard output).",
)  # fmt: skip
def report(cluster: Cluster, name: str, run: int | None, output: pathlib.Path | None) -> None:
    """Save one run of the Canary NAME as a standalone HTML page."""

    async def read() -> tuple[History | None, str]:
        async with cluster.kube() as kube:
            namespace = cluster.namespace_of(kube)
            await reading.canary(kube, namespace, name)  # a clear error when there is none
            return await reading.history(kube, namespace, name), namespace

    with common.click_errors():
        history, namespace = asyncio.run(read())
    if history is None:
        raise click.ClickException(
            f"{name}.{namespace} has no run history yet (or you may not read ConfigMaps there)"
        )
    try:
        index = pages.run_index(history, run)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--run") from None
    text = pages.page(history, index)
    if output is not None and str(output) == "-":
        click.echo(text, nl=False)
        return
    target = output or pathlib.Path(f"{name}-run-{index + 1}.html")
    target.write_text(text, encoding="utf-8")
    click.echo(f"{target}: run {index + 1} of {len(history.runs)} of {name}.{namespace}")
