"""``serinus backtest CANARY.yaml --prometheus URL --from T1 --to T2``: both judges on recorded
data.

Prints one line per analysis step (each metric's value and threshold verdict, the sequential judge's
outcome, the failed checks so far), then when Flagger's thresholds and the sequential judge would
each have rolled the release back. Times are RFC 3339 (``2026-11-29T09:00:00Z``) or unix seconds.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import pathlib

import click
import httpx

from serinus.apis.base import format_duration
from serinus.cli import common
from serinus.cli.rehearse import load_canary
from serinus.rehearsal import backtest as replaying


def _time(ctx: click.Context, param: click.Parameter, value: str) -> datetime.datetime:
    try:
        return datetime.datetime.fromtimestamp(float(value), tz=datetime.UTC)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"expected RFC 3339 (2026-11-29T09:00:00Z) or unix seconds, got {value!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


@click.command()
@click.argument("canary_file", metavar="CANARY.yaml", type=click.Path(path_type=pathlib.Path))
@click.option("--prometheus", required=True, help="Prometheus address, e.g. http://127.0.0.1:9090.")
@click.option("--from", "start", required=True, callback=_time, help="Start of the replay.")
@click.option("--to", "end", required=True, callback=_time, help="End of the replay.")
@click.option(
    "--interval",
    callback=common.duration("10s"),
    help="Step length; the analysis interval if unset.",
)
@click.option("--provider", default=None, help="Mesh provider; the Canary's, else linkerd.")
@click.option("--canary", "canary_name", help="Which Canary of the file, when it holds several.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def backtest(
    canary_file: pathlib.Path,
    prometheus: str,
    start: datetime.datetime,
    end: datetime.datetime,
    interval: float | None,
    provider: str | None,
    canary_name: str | None,
    output: str,
) -> None:
    """Replay CANARY.yaml's analysis over what Prometheus recorded between --from and --to."""
    if end <= start:
        raise click.BadParameter("--to must be later than --from", param_hint="--to")
    canary = load_canary(canary_file, canary_name)
    mesh = provider or canary.spec.provider or "linkerd"

    async def replay() -> replaying.Backtest:
        async with httpx.AsyncClient() as http:
            return await replaying.backtest(
                canary,
                prometheus=prometheus,
                start=start,
                end=end,
                provider=mesh,
                interval=interval,
                http=http,
            )

    result = asyncio.run(replay())
    if output == "json":
        click.echo(json.dumps(_json(result, start), indent=2))
    else:
        _text(result, start)


def _text(result: replaying.Backtest, start: datetime.datetime) -> None:
    for step in result.steps:
        offset = "+" + format_duration((step.at - start).total_seconds())
        parts = []
        for name, check in step.checks.items():
            value = "no data" if check.value is None else f"{check.value:.2f}"
            judged = step.comparisons.get(name)
            parts.append(
                f"{name} {value} {check.verdict.value}/{judged.outcome if judged else '-'}"
            )
        click.echo(f"{offset:>8}  {'; '.join(parts)}; failed checks {step.failed_checks}")
    for name in result.skipped:
        click.echo(f"skipped {name}: it uses a MetricTemplate, which a backtest cannot read")
    judges = (("Flagger's thresholds", result.flagger), ("sequential judge", result.sequential))
    for title, verdict in judges:
        if verdict.at is None:
            click.echo(f"{title}: no rollback")
        else:
            offset = format_duration((verdict.at - start).total_seconds())
            click.echo(
                f"{title}: rollback at +{offset} ({verdict.at.isoformat()}): {verdict.reason}"
            )


def _json(result: replaying.Backtest, start: datetime.datetime) -> dict[str, object]:
    def verdict(rollback: replaying.Rollback) -> dict[str, object]:
        at = rollback.at.isoformat() if rollback.at else None
        return {"at": at, "reason": rollback.reason}

    return {
        "steps": [
            {
                "at": step.at.isoformat(),
                "failedChecks": step.failed_checks,
                "checks": {
                    n: {"value": c.value, "verdict": c.verdict.value, "message": c.message}
                    for n, c in step.checks.items()
                },
                "comparisons": {n: c.dump() for n, c in step.comparisons.items()},
            }
            for step in result.steps
        ],
        "skipped": result.skipped,
        "flagger": verdict(result.flagger),
        "sequential": verdict(result.sequential),
    }
