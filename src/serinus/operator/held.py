"""A Canary's run history as the recorder holds it between ticks: mostly the JSON it is written as.

A run stepping its weight every tick adds one point to its history per tick. Parsing the whole
history before each tick and serializing it whole after (what a history held as its JSON asks)
costs in proportion to its length, and holding every history as models instead weighs about
nine times its JSON (a 100-point run: 27 KB of JSON, 240 KB of models; a thousand of them would
not fit). :class:`Held` keeps the history split: the earlier runs and the current run's points
before its last as the JSON they are written as (one string each), and a small :class:`History`
model, the *window*, holding the current run with its last point only. :meth:`Held.text` joins
the pieces into the same bytes :func:`serinus.kube.history.text` gives for the whole history.

:meth:`Held.record` adds a tick on the window when :func:`serinus.operating.timeline.record` on
the whole history would change nothing but the current run: no new run, no thinning of the
current run's points, and the whole within :data:`~serinus.apis.history.MAX_RUNS` and
:data:`~serinus.apis.history.MAX_BYTES` after it (its size is known exactly: the window's plus
that of each piece held as JSON, measured once as ``timeline.size`` measures it), so
``timeline.bounded`` changes nothing. Otherwise the tick is recorded on the whole history,
parsed from the text, exactly as before.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from pydantic import BaseModel

from serinus.apis.canary import Canary
from serinus.apis.history import MAX_BYTES, MAX_POINTS, MAX_RUNS, History
from serinus.apis.status import ACTIVE_PHASES
from serinus.operating import timeline

_ENCODER = json.JSONEncoder(separators=(",", ":"))
"""What ``json.dumps(value, separators=(",", ":"))`` encodes with, built once."""


def _dumps(value: Any) -> str:
    """JSON exactly as :func:`serinus.kube.history.text` writes a part of the history."""
    return _ENCODER.encode(value)


def _object(fields: dict[str, Any], raw: dict[str, str]) -> str:
    """``fields`` as a JSON object, the values of the keys in ``raw`` written as given."""
    parts = [
        f"{_dumps(key)}:{raw[key] if key in raw else _dumps(value)}"
        for key, value in fields.items()
    ]
    return "{" + ",".join(parts) + "}"


def _size(model: BaseModel) -> int:
    """What the model adds to ``timeline.size`` of the history it is in (a comma included)."""
    return len(model.model_dump_json(by_alias=True, exclude_none=True)) + 1


@dataclasses.dataclass(frozen=True)
class Held:
    """One Canary's history: the window (the current run, its last point only) and the rest as
    JSON."""

    window: History
    """The history's ``canary`` and its current run (if any) with the run's last point only."""
    older: tuple[str, ...] = ()
    """The JSON of each run before the current one, oldest first."""
    frozen: tuple[str, ...] = ()
    """The JSON of each point of the current run before its last, in order."""
    extra: int = 0
    """What ``older`` and ``frozen`` add to ``timeline.size`` of the whole history."""

    @classmethod
    def of(cls, history: History) -> Held:
        """``history`` split (it is not changed; the window shares its models)."""
        if not history.runs:
            return cls(window=history)
        *earlier, run = history.runs
        before = run.points[:-1]
        window = history.model_copy(
            update={"runs": [run.model_copy(update={"points": run.points[-1:]})]}
        )
        return cls(
            window,
            tuple(_dumps(r.dump()) for r in earlier),
            tuple(_dumps(point.dump()) for point in before),
            sum(_size(r) for r in earlier) + sum(_size(point) for point in before),
        )

    def text(self) -> str:
        """The whole history as the ConfigMap holds it (:func:`serinus.kube.history.text`)."""
        fields = self.window.dump()
        runs = fields.get("runs") or []
        runs_json = list(self.older)
        if runs:
            current = runs[-1]
            points = [*self.frozen, *(_dumps(point) for point in current.get("points") or [])]
            runs_json.append(_object(current, {"points": "[" + ",".join(points) + "]"}))
        return _object(fields, {"runs": "[" + ",".join(runs_json) + "]"})

    def whole(self) -> History:
        """The whole history as models (the window itself when nothing is held as JSON)."""
        if not self.older and not self.frozen:
            return self.window
        return History.model_validate_json(self.text())

    def landmark(self) -> tuple[object, ...]:
        """What is written at once when it changes: the runs, the current run's end and
        requests, the phase and pause of its last point."""
        run = self.window.current
        if run is None:
            return ()
        last = run.points[-1] if run.points else None
        return (
            len(self.older) + 1,
            run.revision,
            run.started,
            run.ended,
            len(run.requests),
            last.phase if last else None,
            last.paused if last else None,
        )

    def record(self, canary: Canary, *, at: str) -> Held | None:
        """The history with this tick added (``timeline.record``); None when nothing changed."""
        if self._fits(canary):
            run = self.window.current
            assert run is not None
            window = self.window.model_copy(update={"runs": [run.model_copy()]})
            updated = timeline.record(window, canary, at=at, bound=False)
            if updated is None:
                return None
            # the whole within its bounds: bounded() would change nothing
            if timeline.size(updated) + self.extra <= MAX_BYTES:
                current = updated.runs[-1]
                moved, current.points = current.points[:-1], current.points[-1:]
                return Held(
                    updated,
                    self.older,
                    self.frozen + tuple(_dumps(point.dump()) for point in moved),
                    self.extra + sum(_size(point) for point in moved),
                )
        whole = timeline.record(self.whole(), canary, at=at)
        return None if whole is None else Held.of(whole)

    def _fits(self, canary: Canary) -> bool:
        """Whether the tick may be recorded on the window: no new run, and no thinning or
        dropping of runs."""
        run = self.window.current
        status = canary.status
        if run is None or status is None:
            return False
        if status.phase in ACTIVE_PHASES and timeline.starts_run(run, status):
            return False
        return (
            len(self.older) + 1 <= MAX_RUNS and len(self.frozen) + len(run.points) + 1 <= MAX_POINTS
        )
