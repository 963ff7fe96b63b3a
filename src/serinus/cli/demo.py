"""``serinus demo``: play the seed's canary releases in the sandbox, live.

Everything happens for real in the sandbox (``serinus sandbox``): the operator, the mesh proxy,
Prometheus, the load tester's ``hey`` and the seed's fault injection. The command starts a
sandbox when none runs in ``--dir`` and stops it at the end (``--keep`` leaves it running).
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys

import click

from serinus import logs
from serinus.cli import common

# Below 5s the metric windows hold too few Prometheus samples (one per second) for the first
# burst of 500s to show at the next step: the story would drift from the seed's.
INTERVALS = (5.0, 60.0)


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=pathlib.Path(".sandbox"),
    show_default=True,
    help="The sandbox to play in; one is started there when none runs.",
)
@click.option(
    "--interval",
    default="10s",
    show_default=True,
    callback=common.duration("10s", within=INTERVALS),
    help="The Canary's analysis interval, 5s to 1m. The seed's is 10s (about 6 minutes in all); "
    "other values patch the Canary, and the demo says so.",
)
@click.option(
    "--mesh-provider",
    type=click.Choice(["linkerd", "contour"]),
    default="linkerd",
    show_default=True,
    help="The operator's mesh provider: the seed's linkerd (SMI TrafficSplit), or contour "
    "(HTTPProxy, Envoy's statistics); the demo sets the sandbox's operator to it.",
)
@click.option(
    "--keep",
    is_flag=True,
    help="Leave a sandbox the demo started running at the end (for kubectl).",
)
def demo(directory: pathlib.Path, interval: float, mesh_provider: str, keep: bool) -> None:
    """Play the seed's canary releases in the sandbox: a promotion, then a rollback.

    Deploys podinfo 2.1.0, the load tester and the seed's Canary; releases 2.1.1, which is
    promoted under load; then 2.1.2, with the seed's HTTP 500s and 1s delays injected, which is
    rolled back. Shows the run live, then a summary of both releases. Exits 1 when either ends
    otherwise than in the seed.
    """
    from rich.console import Console

    from serinus.sandbox.demo import play

    logs.configure(level="warning", fmt="console")
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True)  # whole lines in pipes and logs
    try:
        with common.click_errors():
            ok = asyncio.run(
                play.run(
                    directory,
                    interval=interval,
                    mesh_provider=mesh_provider,
                    console=console,
                    environment=dict(os.environ),
                    keep=keep,
                )
            )
    except KeyboardInterrupt:
        raise click.ClickException("interrupted") from None
    sys.exit(0 if ok else 1)
