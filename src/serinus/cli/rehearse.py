"""``serinus rehearse CANARY.yaml --timeline TIMELINE.yaml``: a release played on a virtual clock.

Prints the log lines the operator would print (with the virtual time of each) and the final status;
``--output json`` prints one JSON document instead. ``--expect PHASE`` makes the command a test: it
exits 1 when the release ends in another phase.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import pathlib

import click
import yaml
from pydantic import ValidationError

from serinus.apis import documents
from serinus.apis.base import format_duration
from serinus.apis.canary import Canary
from serinus.rehearsal.player import Rehearsal, play
from serinus.rehearsal.timeline import Timeline

_START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@click.command()
@click.argument("canary_file", metavar="CANARY.yaml", type=click.Path(path_type=pathlib.Path))
@click.option(
    "--timeline",
    "timeline_file",
    required=True,
    type=click.Path(path_type=pathlib.Path),
    help="The scripted world (see docs/rehearse.md).",
)
@click.option("--canary", "canary_name", help="Which Canary of the file, when it holds several.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--expect", help="Exit 1 unless the release ends in this phase (e.g. Succeeded).")
def rehearse(
    canary_file: pathlib.Path,
    timeline_file: pathlib.Path,
    canary_name: str | None,
    output: str,
    expect: str | None,
) -> None:
    """Play CANARY.yaml against a scripted timeline and print what the operator would log."""
    canary = load_canary(canary_file, canary_name)
    timeline = _load_timeline(timeline_file)
    result = asyncio.run(play(canary, timeline))
    if output == "json":
        click.echo(json.dumps(_as_json(result), indent=2))
    else:
        _print_text(result)
    phase = result.status.phase.value if result.status.phase else ""
    if expect is not None and phase != expect:
        click.echo(f"expected the release to end {expect}, it ended {phase or 'unset'}", err=True)
        raise click.exceptions.Exit(1)


def load_canary(path: pathlib.Path, name: str | None) -> Canary:
    text = _read(path)
    found = [d for d in documents.load_documents(text) if d.kind == "Canary"]
    if name is not None:
        found = [d for d in found if d.name == name]
    if not found:
        which = f" named {name}" if name else ""
        raise click.ClickException(f"{path}: no Canary{which} in the file")
    document = found[0]
    if document.problems or not isinstance(document.model, Canary):
        for problem in document.problems:
            click.echo(f"{path}: document {document.index}: {document.title}: {problem}", err=True)
        raise click.exceptions.Exit(1)
    return document.model


def _load_timeline(path: pathlib.Path) -> Timeline:
    try:
        raw = yaml.safe_load(_read(path)) or {}
        return Timeline.model_validate(raw)
    except yaml.YAMLError as error:
        raise click.ClickException(f"{path}: not valid YAML: {error}") from error
    except ValidationError as error:
        for detail in error.errors():
            click.echo(f"{path}: {documents.problem_from(detail)}", err=True)
        raise click.exceptions.Exit(1) from error


def _read(path: pathlib.Path) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise click.ClickException(f"{path}: cannot read: {error.strerror}") from error


def _print_text(result: Rehearsal) -> None:
    for line in result.lines:
        click.echo(f"{'+' + format_duration(line.seconds):>8}  {line.level:<7}  {line.message}")
    status = result.status
    click.echo(
        f"\nFinal status after {result.ticks} ticks ({format_duration(result.seconds)}): "
        f"phase {status.phase.value if status.phase else 'unset'}, "
        f"canaryWeight {status.canary_weight}, failedChecks {status.failed_checks}, "
        f"iterations {status.iterations}; routes primary {result.routes.primary} / "
        f"canary {result.routes.canary}; canary replicas {result.canary_replicas}"
    )


def _as_json(result: Rehearsal) -> dict[str, object]:
    def stamp(seconds: float) -> str:
        return (_START + datetime.timedelta(seconds=seconds)).isoformat()

    return {
        "log": [
            {
                "ts": stamp(line.seconds),
                "tick": line.tick,
                "level": line.level,
                "msg": line.message,
                "canary": result.canary.key,
            }
            for line in result.lines
        ],
        "status": result.status.dump(),
        "routes": {
            "primary": result.routes.primary,
            "canary": result.routes.canary,
            "mirrored": result.routes.mirrored,
        },
        "canaryReplicas": result.canary_replicas,
        "ticks": result.ticks,
        "steps": [
            {
                "tick": step.tick,
                "ts": stamp(step.seconds),
                "phase": step.phase.value if step.phase else None,
                "canaryWeight": step.canary_weight,
                "failedChecks": step.failed_checks,
                "iterations": step.iterations,
                "routes": {
                    "primary": step.routes.primary,
                    "canary": step.routes.canary,
                    "mirrored": step.routes.mirrored,
                },
                "canaryReplicas": step.canary_replicas,
            }
            for step in result.steps
        ],
    }
