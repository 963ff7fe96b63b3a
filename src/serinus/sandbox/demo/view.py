"""How ``serinus demo`` shows the story while it runs.

On a terminal, :class:`LiveView` redraws one screen (rich ``Live``): the step the story is at,
the Canary's phase, traffic weight and failed checks against the threshold, each metric's last
value against its bound as the operator measured it (the Canary's ``status.metrics``), what
podinfo's users and the load test saw, and the operator's last log lines (what
``kubectl logs -f deployment/serinus -n serinus-system | jq .msg`` prints).

Elsewhere (CI, a pipe, the end-to-end tests), :class:`PlainView` prints the same events as lines:
each step and remark, each operator log line, and a status line whenever the phase, the weight or
the failed checks change.
"""

from __future__ import annotations

from typing import Any, Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from serinus.sandbox.demo.story import Story

_STEPS = 4
_NOTES = 2
_CANARY_LINES = 7
"""Borders, the phase line, the metrics' header and two rows, the clients' line."""


class View(Protocol):
    def say(self, text: str) -> None: ...
    def note(self, text: str) -> None: ...
    def refresh(self) -> None: ...


def metric_lines(status: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(metric, value, bound, verdict) of each metric in a Canary status."""
    rows = []
    for metric in status.get("metrics") or []:
        name = str(metric.get("name"))
        value = metric.get("value")
        duration = name == "request-duration"
        shown = "-" if value is None else (f"{value:.0f} ms" if duration else f"{value:.2f}%")
        bounds = []
        if metric.get("min") is not None:
            bounds.append(f">= {metric['min']:g}{'' if duration else '%'}")
        if metric.get("max") is not None:
            bounds.append(f"<= {metric['max']:g}{' ms' if duration else ''}")
        rows.append((name, shown, " ".join(bounds) or "-", str(metric.get("verdict") or "-")))
    return rows


def status_line(story: Story) -> str:
    status = story.observer.status
    threshold = story.analysis().get("threshold") or "?"
    parts = [
        f"phase {status.get('phase') or '-'}",
        f"weight {status.get('canaryWeight') or 0}%",
        f"failed checks {status.get('failedChecks') or 0}/{threshold}",
    ]
    parts += [f"{name} {value} ({bound}) {verdict}" for name, value, bound, verdict in
              metric_lines(status)]  # fmt: skip
    return ", ".join(parts)


class PlainView:
    """Events as lines, for pipes and logs."""

    def __init__(self, story_ref: list[Story], console: Console) -> None:
        self._story = story_ref
        self.console = console
        self._printed = 0
        self._last = ""

    def say(self, text: str) -> None:
        self.console.print(f"==> {text}", highlight=False)

    def note(self, text: str) -> None:
        self.console.print(f"    note: {text}", highlight=False)

    def refresh(self) -> None:
        if not self._story:
            return
        story = self._story[0]
        for line in story.observer.log[self._printed :]:
            self.console.print(f"    operator | {line.msg}", highlight=False, soft_wrap=True)
        self._printed = len(story.observer.log)
        status = story.observer.status
        key = f"{status.get('phase')} {status.get('canaryWeight')} {status.get('failedChecks')}"
        if status and key != self._last:
            self._last = key
            self.console.print(f"    canary   | {status_line(story)}", highlight=False)


class LiveView:
    """One screen, redrawn on every change (at most a few times a second)."""

    def __init__(self, story_ref: list[Story], console: Console, *, title: str) -> None:
        self._story = story_ref
        self.console = console
        self.title = title
        self.steps: list[str] = []
        self.notes: list[str] = []
        self.live = Live(console=console, refresh_per_second=4, auto_refresh=True)

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.refresh()
        self.live.__exit__(None, None, None)

    def say(self, text: str) -> None:
        self.steps.append(text)
        self.refresh()

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.refresh()

    def refresh(self) -> None:
        self.live.update(self.render())

    def render(self) -> RenderableType:
        """The screen, cut to the terminal's height: the operator's log gets what is left."""
        shown: list[RenderableType] = [_line(self.title, "bold")]
        for step in self.steps[-_STEPS:-1]:
            shown.append(_line(f"  done  {step}", "dim"))
        if self.steps:
            shown.append(_line(f"  now   {self.steps[-1]}", "bold cyan"))
        for note in self.notes[-_NOTES:]:
            shown.append(_line(f"  note  {note}", "yellow"))
        if self._story:
            story = self._story[0]
            shown.append(self._canary(story))
            used = len(shown) - 1 + _CANARY_LINES + 2
            shown.append(self._log(story, max(3, self.console.size.height - used - 1)))
        return Group(*shown)

    def _canary(self, story: Story) -> RenderableType:
        status = story.observer.status
        threshold = story.analysis().get("threshold") or "?"
        weight = int(status.get("canaryWeight") or 0)
        head = Text.assemble(
            ("phase ", "dim"), (str(status.get("phase") or "-"), "bold"),
            ("   traffic ", "dim"), (f"primary {100 - weight}% / canary {weight}%", "bold"),
            ("   failed checks ", "dim"),
            (f"{status.get('failedChecks') or 0}/{threshold}", "bold red"
             if int(status.get("failedChecks") or 0) else "bold"),
        )  # fmt: skip
        table = Table(box=None, pad_edge=False)
        for column in ("metric", "value", "threshold", "verdict"):
            table.add_column(column)
        for name, value, bound, verdict in metric_lines(status):
            table.add_row(
                name, value, bound, Text(verdict, "green" if verdict == "pass" else "red")
            )
        clients = self._clients(story)
        head.no_wrap, head.overflow = True, "ellipsis"
        return Panel(Group(head, table, clients), title="Canary prod/podinfo", title_align="left")

    def _clients(self, story: Story) -> Text:
        release = story.current
        if release is None or story.probe is None:
            return Text("")
        probe = story.probe.counts[release.version]
        text = f"users (demo probe): {probe.requests} requests, {probe.errors} errors"
        if story.injection is not None:
            text += f"   injecting: {story.injection.text}"
        return _line(text, "dim")

    def _log(self, story: Story, height: int) -> RenderableType:
        lines = [line.msg for line in story.observer.log[-height:]]
        body = Text("\n".join(lines), no_wrap=True, overflow="ellipsis")
        return Panel(
            body,
            title="kubectl logs -f deployment/serinus -n serinus-system | jq .msg",
            title_align="left",
        )


def _line(text: str, style: str) -> Text:
    """One screen line: cut with an ellipsis rather than wrapped, so the screen keeps its height."""
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")
