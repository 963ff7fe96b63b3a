"""``serinus promote|abort|pause|resume|retry|skip-analysis NAME``: control a run by hand.

Each command checks that the request makes sense now (``promote`` on a Succeeded Canary is
refused at once, naming the phase), writes it on the Canary as the ``serinus.io/request``
annotation (RBAC: ``patch`` on ``canaries``; GitOps tools leave such annotations alone), then waits
for the operator to handle it on its next tick and prints what it made of it (for ``abort`` and
``promote``, once the run has left its analysing phases: the operator records a request before it
acts on it, in the same tick). Exit 0 when the
operator accepted it, 1 when it was refused (by this command or by the operator, whose view of
the run may be newer), 3 when the operator did not answer within ``--timeout`` (the request stays
written and is handled when the operator comes back).
"""

from __future__ import annotations

import asyncio

import click

from serinus.apis.base import format_duration
from serinus.apis.canary import Canary
from serinus.apis.control import Action
from serinus.cli import common
from serinus.cli.cluster import Cluster, cluster_options
from serinus.controller.manual import UNDER_WAY
from serinus.errors import SerinusError
from serinus.kube import Kube
from serinus.operating import reading, requests

EXIT_ACCEPTED, EXIT_REFUSED, EXIT_NO_ANSWER = 0, 1, 3

HELP = {
    Action.PROMOTE: "Promote the canary now, through the promotion steps (gates are skipped).",
    Action.ABORT: "Roll the run back now: all traffic to the primary, the run Failed.",
    Action.PAUSE: "Hold the run at its current weight: nothing is judged until resume.",
    Action.RESUME: "Continue a paused run.",
    Action.RETRY: "Run a Failed revision again, without editing the pod template.",
    Action.SKIP_ANALYSIS: "Promote the current revision without analysis once it is ready.",
}


def _command(action: Action) -> click.Command:
    @click.command(action.value, help=HELP[action])
    @click.argument("name")
    @cluster_options
    @click.option(
        "--timeout",
        default="2m",
        show_default=True,
        callback=common.duration("30s or 2m", positive=True),
        help="How long to wait for the operator's answer.",
    )
    @click.option("--no-wait", is_flag=True, help="Write the request and return at once.")
    def command(cluster: Cluster, name: str, timeout: float, no_wait: bool) -> None:
        code = asyncio.run(_request(cluster, name, action, within=None if no_wait else timeout))
        raise click.exceptions.Exit(code)

    return command


async def _request(cluster: Cluster, name: str, action: Action, *, within: float | None) -> int:
    try:
        async with cluster.kube() as kube:
            namespace = cluster.namespace_of(kube)
            by = await requests.whoami(kube)
            request = await requests.send(kube, namespace, name, action, by=by)
            key = f"{name}.{namespace}"
            if within is None:
                click.echo(f"{action.value} {key}: requested (by {by or 'you'})")
                return EXIT_ACCEPTED
            started = asyncio.get_running_loop().time()
            record = await requests.answer(kube, namespace, name, request, within=within)
            if record is None:
                click.echo(
                    f"{action.value} {key}: requested, but the operator did not answer within "
                    f"{format_duration(within)}; it will act on it when it next ticks",
                    err=True,
                )
                return EXIT_NO_ANSWER
            left = within - (asyncio.get_running_loop().time() - started)
            settles = record.accepted and action in (Action.ABORT, Action.PROMOTE)
            canary = await _acted(kube, namespace, name, within=left if settles else 0.0)
    except requests.RefusedError as error:
        click.echo(f"Error: {error}", err=True)
        return EXIT_REFUSED
    except SerinusError as error:
        raise click.ClickException(str(error)) from None
    status = canary.status
    phase = status.phase.value if status and status.phase else "?"
    where = f"{phase}, canary weight {status.canary_weight if status else 0}"
    if not record.accepted:
        click.echo(
            f"Error: {action.value} {key}: refused by the operator, {record.message}", err=True
        )
        return EXIT_REFUSED
    click.echo(f"{action.value} {key}: done ({record.message or 'accepted'}); now {where}")
    return EXIT_ACCEPTED


async def _acted(kube: Kube, namespace: str, name: str, *, within: float) -> Canary:
    """The Canary once its run has left the analysing phases, or as it is after ``within`` s."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        canary = await reading.canary(kube, namespace, name)
        phase = canary.status.phase if canary.status else None
        if phase not in UNDER_WAY or asyncio.get_running_loop().time() >= deadline:
            return canary
        await asyncio.sleep(0.2)


promote = _command(Action.PROMOTE)
abort = _command(Action.ABORT)
pause = _command(Action.PAUSE)
resume = _command(Action.RESUME)
retry = _command(Action.RETRY)
skip_analysis = _command(Action.SKIP_ANALYSIS)
