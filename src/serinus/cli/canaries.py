"""``serinus get canaries`` and ``serinus status NAME``: what the Canaries are doing.

``status`` shows one Canary (:func:`serinus.cli.screens.status_lines`); ``-w`` keeps it on screen,
redrawn as it changes on a terminal, printed again at each change elsewhere; ``--wait`` returns
when the run of the target's current revision has ended, for pipelines: exit 0 when it
Succeeded, 1 when it Failed, 3 on ``--timeout``, 4 when the Canary cannot be read. ``-o json``
and ``-o yaml`` print the same view as data (one document per change with ``-w``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import click
import yaml
from rich.console import Console, Group
from rich.live import Live

from serinus.apis.base import format_duration
from serinus.cli import common, screens
from serinus.cli.cluster import Cluster, cluster_options
from serinus.errors import SerinusError
from serinus.operating import following, reading, view, waiting

POLL_SECONDS = 1.0
"""How often ``-w`` and ``--wait`` refresh the view when the Canary has not changed."""
EXIT_SUCCEEDED, EXIT_FAILED, EXIT_TIMEOUT, EXIT_UNREADABLE = 0, 1, 3, 4
OUTPUTS = click.Choice(["text", "json", "yaml"])


def console() -> Console:
    terminal = sys.stdout.isatty()
    return Console(highlight=False, soft_wrap=not terminal, no_color=not terminal or None)


def _data(document: Any, output: str) -> str:
    if output == "json":
        return json.dumps(document, indent=2)
    return yaml.safe_dump(document, sort_keys=False).rstrip()


@click.group("get")
def get() -> None:
    """List Canaries."""


@get.command("canaries")
@cluster_options
@click.option("-A", "--all-namespaces", is_flag=True, help="Canaries of every namespace.")
@click.option("-o", "--output", type=OUTPUTS, default="text", show_default=True)
def get_canaries(cluster: Cluster, all_namespaces: bool, output: str) -> None:
    """Every Canary of the namespace (or all): phase, weight, step, failed checks."""

    async def read() -> list[view.CanaryView]:
        async with cluster.kube() as kube:
            namespace = None if all_namespaces else cluster.namespace_of(kube)
            now = datetime.datetime.now(datetime.UTC)
            found = await reading.canaries(kube, namespace)
            return [view.build(c, events=[], history=None, now=now) for c in found]

    with common.click_errors():
        views = asyncio.run(read())
    if output != "text":
        click.echo(_data({"items": [v.document() for v in views]}, output))
        return
    if not views:
        where = "any namespace" if all_namespaces else f"namespace {cluster.namespace or ''}"
        click.echo(f"No Canaries found in {where.strip()}.", err=True)
        return
    out = console()
    now = datetime.datetime.now(datetime.UTC)
    for line in screens.table(views, all_namespaces=all_namespaces, now=now):
        out.print(line)


get.add_command(get_canaries, "canary")


@click.command()
@click.argument("name")
@cluster_options
@click.option("-w", "--watch", is_flag=True, help="Keep watching; Ctrl-C to stop.")
@click.option(
    "--wait",
    is_flag=True,
    help="Wait until the run of the target's current revision ends: exit 0 Succeeded, "
    "1 Failed, 3 timeout, 4 the Canary cannot be read.",
)
@click.option(
    "--timeout",
    default="30m",
    show_default=True,
    callback=common.duration("30s, 10m or 1h", positive=True),
    help="How long --wait waits.",
)
@click.option("-o", "--output", type=OUTPUTS, default="text", show_default=True)
def status(
    cluster: Cluster, name: str, watch: bool, wait: bool, timeout: float, output: str
) -> None:
    """Where the Canary NAME is: phase, weight, step, metrics, hooks, events."""
    if wait:
        code = asyncio.run(_wait(cluster, name, within=timeout, output=output))
        raise click.exceptions.Exit(code)
    if not watch:
        with common.click_errors():
            found = asyncio.run(_read(cluster, name))
        _show(found, output)
        return
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_watch(cluster, name, output=output))


async def _read(cluster: Cluster, name: str) -> view.CanaryView:
    async with cluster.kube() as kube:
        return await reading.canary_view(kube, cluster.namespace_of(kube), name)


def _show(found: view.CanaryView, output: str, out: Console | None = None) -> None:
    if output != "text":
        click.echo(_data(found.document(), output))
        return
    out = out or console()
    for line in screens.status_lines(found, fancy=out.is_terminal):
        out.print(line)


def _changed(before: view.CanaryView | None, after: view.CanaryView) -> bool:
    """Whether a change is worth printing again (not only the clocks moving)."""
    if before is None:
        return True
    moving = ("in_step", "time_left")
    a = {k: v for k, v in before.document().items() if k not in moving}
    b = {k: v for k, v in after.document().items() if k not in moving}
    return a != b


async def _watch(cluster: Cluster, name: str, *, output: str) -> None:
    out = console()
    async with cluster.kube() as kube:
        namespace = cluster.namespace_of(kube)
        views = _views(kube, namespace, name)
        if out.is_terminal and output == "text":
            with Live(console=out, auto_refresh=False) as live:
                async for found in views:
                    live.update(Group(*screens.status_lines(found, fancy=True)), refresh=True)
        last: view.CanaryView | None = None
        async for found in views:
            if _changed(last, found):
                if output == "json":
                    click.echo(json.dumps(found.document()))  # one document per line
                elif output == "yaml":
                    click.echo("---\n" + _data(found.document(), output))
                else:
                    if last is not None:
                        out.print()
                    _show(found, output, out)
                last = found


async def _views(kube: Any, namespace: str, name: str) -> AsyncIterator[view.CanaryView]:
    """The view of every version of the Canary (and again each second for the clocks)."""
    try:
        async for canary in following.versions(kube, namespace, name, beat=POLL_SECONDS):
            yield await reading.view_of(kube, canary)
    except SerinusError as error:
        raise click.ClickException(str(error)) from None


async def _wait(cluster: Cluster, name: str, *, within: float, output: str) -> int:
    out = console()
    deadline = asyncio.get_running_loop().time() + within
    last: view.CanaryView | None = None
    try:
        async with cluster.kube() as kube:
            namespace = cluster.namespace_of(kube)
            async for canary in following.versions(kube, namespace, name, beat=POLL_SECONDS):
                found = await reading.view_of(kube, canary)
                ended = await waiting.outcome(kube, canary)
                if ended is not None:
                    _show(found, output, out)
                    return EXIT_SUCCEEDED if ended is waiting.Outcome.SUCCEEDED else EXIT_FAILED
                if output == "text" and _changed(last, found):
                    out.print(_progress_line(found))
                last = found
                if asyncio.get_running_loop().time() >= deadline:
                    click.echo(
                        f"timed out after {format_duration(within)}: {found.key} is {found.phase}"
                        f" at canary weight {found.weight}",
                        err=True,
                    )
                    return EXIT_TIMEOUT
    except SerinusError as error:
        click.echo(f"Error: {error}", err=True)
        return EXIT_UNREADABLE
    raise AssertionError("following.versions never ends without an error")


def _progress_line(found: view.CanaryView) -> str:
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    step = f", step {found.step} of {found.steps}" if found.steps else ""
    failed = f", {found.failed_checks} failed checks" if found.failed_checks else ""
    return f"{stamp} {found.key} {found.phase}, canary weight {found.weight}%{step}{failed}"
