"""Flagger's fixed thresholds against serinus' judged seed Canary, on simulated releases.

Run: ``.venv/bin/python benchmarks/judgement.py [--runs N] [--seed S] [--quick] [--check N]
[--rows TEXT] [--last-look S]``.

Both judges drive the seed's Canary schedule: interval 10 s, stepWeight 5, maxWeight 100 (or 50),
threshold 5. On the first analysis tick (t = 0) the canary gets weight 5; every later tick judges,
a passing tick adds 5, and the tick after reaching maxWeight promotes. Before the release the
primary carries all the traffic for an hour (the judge's history).

* Flagger (as Flagger 1.44 does it): the canary's success rate over the last 1 m must be >= 99 %
  and its histogram p99 over the last 1 m <= 500 ms, read at the tick; no canary requests in the
  window is "no values found", a failed check. A failed check holds the weight; the rollback
  comes at the start of the tick after failedChecks reached 5.
* serinus (``examples/podinfo-canary-judged.yaml``): both metrics judged against the primary and
  both thresholds as anytime-valid guards, alpha 0.05 for the release. Every tick starts a new
  interval; interval [t, t + 10 s] is read for the same explicit window on both sides at the first
  tick when every series has a sample at or after t + 10 s (the watermark: with 10 s scrapes the
  next tick; with exact counts, as if scraped every 10 s, the next tick too); each interval's
  evidence is tempered by the burst dispersion estimated from the primary's hour of history.
  A regression or a guard rolls back on that tick; otherwise the schedule advances (early pass
  off, as in the seed). On the tick a run would promote, the error comparison takes its last look
  (one exact test over the release, :mod:`serinus.analysis.sequential.lastlook`) and rolls back
  instead when it finds a regression. ``--last-look S`` gives it the share S of the comparison's
  alpha (to measure a split; the shipped one by default), ``--rows TEXT`` runs only the rows
  whose ``scenario|model|rps|maxWeight`` contains TEXT (each row keeps its seed).

Times run from the start of the fault to the rollback. The fault starts with the canary's first
request, except in the "seed fault" rows, where it starts when the weight reaches 15 (the seed's
story: Advance 5, 10, 15, then the 500s). "p99 +300 ms" makes every canary request twice as slow
(its p99 goes from 300 to 600 ms).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import judgement_judges as judges
import numpy as np
import numpy.typing as npt
from judgement_judges import (
    GUARD_MS,
    SUCCESS_LIMIT,
    Comparison,
    Guard,
    dispersion_beta,
    histogram_p99,
    regression_offsets,
    release_alphas,
)
from judgement_traffic import BOUNDS_MS, MODELS, Floats, Ints, Model, Scrapes, Traffic

from serinus.analysis import sequential
from serinus.analysis.sequential import latency

Chunk = tuple[npt.NDArray[np.bool_], dict[str, Floats], Floats]
"""A read for --check: which runs read, their counts, and the seconds the read covers."""

INTERVAL, STEP, THRESHOLD, MAX_TICKS = 10, 5, 5, 32
HISTORY_S, DEFAULT_SCRAPE_S, FLAGGER_WINDOW_S = 3600, 10, 60
SETTLE = True  # promotion waits until the intervals at maxWeight have been read
INGEST_S = 1  # a scrape's samples are queryable a second after its timestamp
FIXED_LAG: int | None = None  # seconds; None: read up to the scrapes' watermark


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    primary_error: float
    canary_error: float | None = None  # None: healthy
    latency_factor: float = 1.0
    fault_at_weight: int = 5

    @property
    def healthy(self) -> bool:
        return self.canary_error is None and self.latency_factor == 1.0


@dataclasses.dataclass
class Result:
    runs: int
    rolled_back: int
    faulted: int
    times: list[float]
    promoted_at: list[float]

    @property
    def rollback_rate(self) -> float:
        return self.rolled_back / self.runs

    def caught(self, within: float = math.inf) -> float:
        return sum(t <= within for t in self.times) / max(self.faulted, 1)


class Release:
    """The schedule's state for every run of one simulation."""

    def __init__(
        self, model: Model, scenario: Scenario, rps: float, max_weight: int, runs: int, seed: int
    ) -> None:
        self.model, self.scenario, self.max_weight, self.runs = model, scenario, max_weight, runs
        self.anchor = HISTORY_S + model.startup_s
        seconds = self.anchor + (MAX_TICKS + 4) * INTERVAL
        self.traffic = Traffic(
            model, rps=rps, mu=scenario.primary_error, runs=runs, seconds=seconds, seed=seed
        )
        self.scrapes = (
            Scrapes(model.scrape_s, runs, np.random.default_rng(seed + 7))
            if model.scrape_s
            else None
        )
        self.weight = np.zeros(runs, dtype=np.int64)
        self.done = np.zeros(runs, dtype=np.int8)  # 0 running, 1 rolled back, 2 promoted
        self.end_at = np.full(runs, -1.0)
        self.fault_at = np.full(runs, -1.0)
        self.max_since = np.full(runs, 10**6)
        self.traffic.draw(self.anchor, self.weight)

    def time(self, tick: int) -> int:
        return self.anchor + tick * INTERVAL

    def draw_until(self, tick: int) -> None:
        sc = self.scenario
        faulty = self.fault_at >= 0
        error = None
        if sc.canary_error is not None:
            error = np.where(faulty, sc.canary_error, np.nan)
        factor = np.where(faulty, sc.latency_factor, 1.0)
        self.traffic.draw(self.time(tick), self.weight, canary_error=error, latency_factor=factor)

    def set_weight(self, tick: int, runs: np.ndarray, weight: Ints) -> None:
        self.weight = np.where(runs, weight, self.weight)
        started = runs & (self.fault_at < 0) & (self.weight >= self.scenario.fault_at_weight)
        self.fault_at[started] = self.time(tick)

    def promoting(
        self, tick: int, passed: np.ndarray, read_until: Ints | None = None
    ) -> npt.NDArray[np.bool_]:
        """The runs that promote at this tick: from the tick after maxWeight once the judge has
        read everything up to that tick (``read_until`` per run; None: at once)."""
        at_max = self.weight >= self.max_weight
        promote = passed & at_max & (tick >= self.max_since + 1) & (self.done == 0)
        if read_until is not None:
            promote &= read_until >= self.anchor + (self.max_since + 1) * INTERVAL
        return np.asarray(promote, dtype=bool)

    def step(self, tick: int, passed: np.ndarray, read_until: Ints | None = None) -> None:
        """Passing runs advance, or promote (:meth:`promoting`)."""
        at_max = self.weight >= self.max_weight
        self.end(tick, self.promoting(tick, passed, read_until), 2)
        advance = passed & (self.done == 0) & ~at_max
        self.set_weight(tick, advance, np.minimum(self.weight + STEP, self.max_weight))
        reached = advance & (self.weight >= self.max_weight)
        self.max_since[reached] = tick

    def end(self, tick: int, runs: np.ndarray, how: int) -> None:
        runs = runs & (self.done == 0)
        self.done[runs] = how
        self.end_at[runs] = self.time(tick)

    def result(self) -> Result:
        faulted = self.fault_at >= 0
        caught = (self.done == 1) & faulted
        times = (self.end_at[caught] - self.fault_at[caught]).tolist()
        promoted = (self.end_at[self.done == 2] - self.anchor).tolist()
        return Result(self.runs, int((self.done == 1).sum()), int(faulted.sum()), times, promoted)

    # --- reads --------------------------------------------------------------------------------

    def counts(self, name: str, start: Ints, end: Ints, *, born: str | None = None) -> Floats:
        """Side counter ``name`` over (start, end]: exact, or Prometheus' increase()."""
        return self._read(self.traffic.cum[name], name, start, end, born)

    def slow(self, side: str, bound: int, start: Ints, end: Ints) -> Floats:
        cum = self.traffic.slow[f"{side}_slow"][:, :, bound]
        return self._read(cum, f"{side}_slow", start, end, f"{side}_req")

    def _read(
        self, cum: npt.NDArray[np.int32], name: str, start: Ints, end: Ints, born: str | None
    ) -> Floats:
        runs = np.arange(self.runs)
        if self.scrapes is None:
            return (cum[runs, end] - cum[runs, start]).astype(float)
        birth = self.traffic.cum[born] if born else None
        return self.scrapes.increase(cum, name[0], start, end, birth)


def simulate_flagger(release: Release) -> Result:
    failed = np.zeros(release.runs, dtype=np.int64)
    release.set_weight(0, np.ones(release.runs, dtype=bool), np.full(release.runs, STEP))
    for tick in range(1, MAX_TICKS + 1):
        release.draw_until(tick)
        if not (release.done == 0).any():
            break
        release.end(tick, failed >= THRESHOLD, 1)
        running = release.done == 0
        now = np.full(release.runs, release.time(tick))
        since = now - FLAGGER_WINDOW_S
        requests = release.counts("c_req", since, now)
        errors = release.counts("c_err", since, now, born=None)
        ok = (requests > 0) & ((requests - errors) >= (1 - SUCCESS_LIMIT) * requests)
        le = [requests - release.slow("c", b, since, now) for b in range(len(BOUNDS_MS) - 1)]
        p99 = histogram_p99(np.stack([*le, requests], axis=1))
        ok &= p99 <= GUARD_MS
        failed[running & ~ok] += 1
        release.step(tick, running & ok)
    return release.result()


class SerinusJudge:
    """The judged seed Canary's four tests for every run, set up from the history."""

    def __init__(self, release: Release) -> None:
        self.release = release
        runs, anchor = release.runs, release.anchor
        alpha_c, self.alpha_last, alpha_g = release_alphas()
        edges = np.arange(anchor - HISTORY_S, anchor + 1, INTERVAL)
        p_req = self._history("p_req", edges)
        p_err = self._history("p_err", edges)
        slow = np.stack([self._history_slow(b, edges) for b in range(len(BOUNDS_MS) - 1)], 1)
        self.history = (p_req, p_err, slow)  # for --check
        beta_err = dispersion_beta(p_req, p_err, INTERVAL)
        self.boundary = _pick_boundary(slow.sum(2), p_req.sum(1))
        at_boundary = np.take_along_axis(slow, self.boundary[:, None, None], 1)[:, 0]
        beta_lat = dispersion_beta(p_req, at_boundary, INTERVAL)
        guard_bound = BOUNDS_MS.index(GUARD_MS)
        beta_guard = dispersion_beta(p_req, slow[:, guard_bound], INTERVAL)
        margin = _tail_margins(slow.sum(2), p_req.sum(1), self.boundary)
        slowest = latency.TOP_SLOWDOWN * 1.2 - 1  # the regression family's top slowdown, minus 1
        top = _tail_margins(slow.sum(2), p_req.sum(1), self.boundary, slowest)
        self.errors = Comparison(runs, alpha_c, beta_err, regression_offsets(np.full(runs, 2.0)))
        self.latency = Comparison(
            runs, alpha_c + self.alpha_last, beta_lat, regression_offsets(margin, top)
        )
        self.success = Guard(runs, alpha_g, SUCCESS_LIMIT, beta_err)
        self.duration = Guard(runs, alpha_g, 0.01, beta_guard)
        self.guard_bound = guard_bound
        scrape = release.model.scrape_s or DEFAULT_SCRAPE_S
        self.origin = anchor - 2 * scrape  # the anchored increase() windows start here
        self.read_at = np.full(runs, anchor, dtype=np.int64)  # read up to here, per run
        self.reading: dict[str, Floats] | None = None
        self.inputs: list[list[Chunk]] = []  # for --check

    def watermark(self, tick: int) -> Ints:
        """Per run, the time up to which every sample the judge reads has landed, at ``tick``.

        The oldest of both sides' latest samples, a second before the tick (ingestion). Without a
        scrape model (exact counts), the worst case of a 10 s scrape: 10 s before the tick. With
        ``FIXED_LAG`` set, ``FIXED_LAG`` seconds before the tick (a configured ``readLag``).
        """
        release, now = self.release, self.release.time(tick)
        if FIXED_LAG is not None:
            return np.full(release.runs, now - FIXED_LAG)
        if release.scrapes is None:
            return np.full(release.runs, now - DEFAULT_SCRAPE_S)
        at = np.full(release.runs, now - INGEST_S)
        mark = np.minimum(release.scrapes.last_time("c", at), release.scrapes.last_time("p", at))
        return np.maximum(mark, now - 2 * release.model.scrape_s)  # the judge's fallback

    def landed(self, tick: int) -> Ints:
        """Per run, the time up to which the judge reads at ``tick``: every interval that ended
        by the watermark, and the running one up to it."""
        return np.minimum(self.watermark(tick), self.release.time(tick))

    def _history(self, name: str, edges: Ints) -> Floats:
        """The primary's counts per window before the release (query_range of sum(counter))."""
        release = self.release
        cum = release.traffic.cum[name]
        values = np.stack(
            [
                release.scrapes.last_value(cum, "p", np.full(release.runs, t))
                if release.scrapes
                else cum[:, t].astype(float)
                for t in edges
            ],
            axis=1,
        )
        return np.maximum(np.diff(values, axis=1), 0.0)

    def _history_slow(self, bound: int, edges: Ints) -> Floats:
        release = self.release
        cum = release.traffic.slow["p_slow"][:, :, bound]
        values = np.stack(
            [
                release.scrapes.last_value(cum, "p", np.full(release.runs, t))
                if release.scrapes
                else cum[:, t].astype(float)
                for t in edges
            ],
            axis=1,
        )
        return np.maximum(np.diff(values, axis=1), 0.0)

    def cumulative(self, at: Ints) -> dict[str, Floats]:
        """Every counter the judge reads, counted from the origin to ``at`` (both sides)."""
        release, runs = self.release, self.release.runs
        start = np.full(runs, self.origin if release.scrapes else release.anchor)
        end = at
        out = {
            name: release.counts(name, start, end) for name in ("c_req", "c_err", "p_req", "p_err")
        }
        boundary = self.boundary
        for side in ("c", "p"):
            per_bound = np.stack(
                [release.slow(side, b, start, end) for b in range(len(BOUNDS_MS) - 1)], 1
            )
            out[f"{side}_slow"] = np.take_along_axis(per_bound, boundary[:, None], 1)[:, 0]
            out[f"{side}_guard"] = per_bound[:, self.guard_bound]
            for b in range(per_bound.shape[1]):
                out[f"{side}_bound{b}"] = per_bound[:, b]
        return out

    def read(self, end: Ints, runs: npt.NDArray[np.bool_]) -> dict[str, Floats]:
        """Counts since the last read up to ``end``, for ``runs``: the difference of two anchored
        reads, each counter's last reading being the highest so far (a dip counts once)."""
        if self.reading is None:
            self.reading = self.cumulative(np.full(self.release.runs, self.release.anchor))
        after = self.cumulative(end)
        counts = {k: np.maximum(after[k] - self.reading[k], 0.0) for k in after}
        self.reading = {
            k: np.where(runs, np.maximum(self.reading[k], after[k]), self.reading[k]) for k in after
        }
        # As serinus.analysis caps a histogram's buckets from the top down (increase()
        # extrapolates each le series on its own): the share slower than the boundary is the
        # largest count slower than it or any bound above, at most the requests.
        for side in ("c", "p"):
            per_bound = np.stack([counts[f"{side}_bound{b}"] for b in range(len(BOUNDS_MS) - 1)], 1)
            above = np.maximum.accumulate(per_bound[:, ::-1], axis=1)[:, ::-1]
            at = np.take_along_axis(above, self.boundary[:, None], 1)[:, 0]
            counts[f"{side}_slow"] = np.minimum(at, counts[f"{side}_req"])
        return counts

    def judge(self, counts: dict[str, Floats], seconds: Floats) -> None:
        c = counts
        self.errors.add(c["c_req"], c["c_err"], c["p_req"], c["p_err"], seconds)
        self.latency.add(c["c_req"], c["c_slow"], c["p_req"], c["p_slow"], seconds)
        self.success.add(c["c_req"], c["c_err"], c["p_req"], c["p_err"], seconds)
        self.duration.add(c["c_req"], c["c_guard"], c["p_req"], c["p_guard"], seconds)

    def last_look(self, runs: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """The error comparison's last look before promotion, for the runs about to promote
        (the latency comparison has none: :data:`serinus.analysis.sequential.release.LAST_LOOK`)."""
        if self.alpha_last <= 0 or not runs.any():
            return np.zeros(self.release.runs, dtype=bool)
        return self.errors.last_look(self.alpha_last, runs)

    def verdict(self) -> npt.NDArray[np.bool_]:
        return (
            self.errors.regression()
            | self.latency.regression()
            | self.success.violated()
            | self.duration.violated()
        )


def _pick_boundary(slow: Floats, total: Floats) -> Ints:
    """The bound whose history share of slower requests is closest (in log) to 1 %."""
    with np.errstate(divide="ignore"):
        share = slow / np.maximum(total, 1)[:, None]
        distance = np.where(share > 0, np.abs(np.log(share / 0.01)), np.inf)
    return np.argmin(distance, axis=1)


def _tail_margins(slow: Floats, total: Floats, boundary: Ints, d: float = 0.2) -> Floats:
    """S(b / 1.2) / S(b), log-linear between bounds (linear from (0, 1) to the first)."""
    bounds = np.array([0.0, *BOUNDS_MS[:-1]])
    survival = np.concatenate([np.ones((len(total), 1)), slow / np.maximum(total, 1)[:, None]], 1)
    b = bounds[boundary + 1]
    x = b / (1 + d)
    seg = np.clip(np.searchsorted(bounds, x, side="left") - 1, 0, len(bounds) - 2)
    rows = np.arange(len(total))
    lo, hi = bounds[seg], bounds[seg + 1]
    s_lo, s_hi = survival[rows, seg], survival[rows, seg + 1]
    at_b = survival[rows, boundary + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        loglin = np.exp(np.log(s_lo) + np.log(s_hi / s_lo) * np.log(x / lo) / np.log(hi / lo))
        linear = s_lo + (s_hi - s_lo) * (x - lo) / (hi - lo)
        at_x = np.where((lo <= 0) | (s_lo <= 0) | (s_hi <= 0), linear, loglin)
        margin = at_x / at_b
    return np.clip(np.nan_to_num(margin, nan=1.05, posinf=100.0), 1.05, 100.0)


def simulate_serinus(release: Release, check: int = 0) -> tuple[Result, SerinusJudge]:
    judge = SerinusJudge(release)
    release.set_weight(0, np.ones(release.runs, dtype=bool), np.full(release.runs, STEP))
    for tick in range(1, MAX_TICKS + 1):
        release.draw_until(tick)
        running = release.done == 0
        if not running.any():
            break
        landed = judge.landed(tick)
        reads: list[Chunk] = []
        while True:  # one traffic split per chunk: stop at every interval's end
            start = judge.read_at
            boundary = release.anchor + ((start - release.anchor) // INTERVAL + 1) * INTERVAL
            end = np.minimum(boundary, landed)
            now = running & (end > start)
            if not now.any():
                break
            end = np.where(now, end, start + 1)
            counts = {k: np.where(now, v, 0.0) for k, v in judge.read(end, now).items()}
            seconds = (end - start).astype(float)
            judge.judge(counts, seconds)
            if check:
                chunk = {k: v[:check].copy() for k, v in counts.items()}
                reads.append((now[:check].copy(), chunk, seconds[:check].copy()))
            judge.read_at = np.where(now, end, start)
        if check:
            judge.inputs.append(reads)
        regression = judge.verdict() & running
        release.end(tick, regression, 1)
        read_until = judge.read_at if SETTLE else None
        last = judge.last_look(release.promoting(tick, release.done == 0, read_until))
        release.end(tick, last, 1)
        release.step(tick, release.done == 0, read_until)
    return release.result(), judge


def replay(judge: SerinusJudge, run: int) -> int | None:
    """The tick at which the shipped serinus.analysis rolls run ``run`` back, if any.

    Feeds the recorded history and interval counts of one run through
    :mod:`serinus.analysis.sequential` exactly as the controller does.
    """
    p_req, p_err, slow = judge.history
    alpha_c, alpha_l, alpha_g = release_alphas()
    last = 0
    errors = sequential.estimate(list(zip(p_req[run], p_err[run], strict=True)), INTERVAL)
    bounds = list(BOUNDS_MS)
    history = [
        _histogram(p_req[run, w], [slow[run, b, w] for b in range(len(bounds) - 1)])
        for w in range(p_req.shape[1])
    ]
    guard_history = [
        (p_req[run, w], slow[run, judge.guard_bound, w]) for w in range(p_req.shape[1])
    ]
    duration = sequential.estimate(guard_history, INTERVAL)
    states: dict[str, dict[str, object] | None] = dict.fromkeys(("e", "l", "s", "d"))
    for index, reads in enumerate(judge.inputs):
        tick = [
            {**{k: float(v[run]) for k, v in counts.items()}, "seconds": float(seconds[run])}
            for mask, counts, seconds in reads
            if mask[run]
        ]
        if not tick:
            continue
        pairs = [
            (
                sequential.Counts(c["c_req"], c["c_err"]),
                sequential.Counts(c["p_req"], c["p_err"]),
                c["seconds"],
            )
            for c in tick
        ]
        e = sequential.judge_counts(
            [sequential.Interval(*pair) for pair in pairs],
            config=sequential.CountConfig(alpha=alpha_c),
            state=states["e"],
            dispersion=errors,
        )
        hist = [
            sequential.HistogramInterval(
                _histogram(c["c_req"], [c[f"c_bound{b}"] for b in range(len(bounds) - 1)]),
                _histogram(c["p_req"], [c[f"p_bound{b}"] for b in range(len(bounds) - 1)]),
                c["seconds"],
            )
            for c in tick
        ]
        lat = sequential.judge_latency(
            hist,
            config=sequential.LatencyConfig(alpha=alpha_c + alpha_l),
            state=states["l"],
            history=history,
            history_seconds=INTERVAL,
        )
        s = sequential.judge_guard(
            pairs,
            config=sequential.GuardConfig(limit=SUCCESS_LIMIT, alpha=alpha_g),
            what="error rate",
            state=states["s"],
            dispersion=errors,
        )
        d = sequential.judge_guard(
            [
                (
                    sequential.Counts(c["c_req"], c["c_guard"]),
                    sequential.Counts(c["p_req"], c["p_guard"]),
                    c["seconds"],
                )
                for c in tick
            ],
            config=sequential.GuardConfig(limit=0.01, alpha=alpha_g),
            what="share slower than 500 ms",
            state=states["d"],
            dispersion=duration,
        )
        states = {"e": e.state, "l": lat.state, "s": s.state, "d": d.state}
        last = index + 1
        if (
            e.decision.is_regression
            or lat.decision.is_regression
            or s.decision.violated
            or d.decision.violated
        ):
            return index + 1
    ended = judge.release.done[run] != 0  # promoted, or rolled back by the last look
    if ended and sequential.last_look(states["e"], alpha=alpha_l).regression:
        return last
    return None


def _histogram(total: float, slower: list[float]) -> list[tuple[float, float]]:
    """Cumulative buckets from the requests slower than each finite bound."""
    finite = [(le, max(total - above, 0.0)) for le, above in zip(BOUNDS_MS, slower, strict=False)]
    return [*finite, (math.inf, total)]


def check(model: Model, scenario: Scenario, rps: float, runs: int, seed: int) -> str:
    """Replay ``runs`` runs through the shipped code; say how many disagree with the twin."""
    release = Release(model, scenario, rps, 100, max(runs, 1), seed)
    _, judge = simulate_serinus(release, check=runs)
    disagree = 0
    for run in range(min(runs, release.runs)):
        shipped = replay(judge, run)
        rolled = release.done[run] == 1
        twin = int((release.end_at[run] - release.anchor) / INTERVAL) if rolled else None
        if shipped != twin:
            disagree += 1
    return f"{model.name} {scenario.name} {rps:g} rps: {disagree} of {runs} runs disagree"


AA_MODELS = tuple(MODELS)
POWER_MODELS = ("independent", "scrape-10s")


def rows(quick: bool) -> list[tuple[str, Scenario, float, int]]:
    """(model, scenario, rps, maxWeight) of every row of the table."""
    out: list[tuple[str, Scenario, float, int]] = []
    rates = (2.0, 20.0, 200.0)
    for error in (0.005, 0.009):
        scenario = Scenario(f"A/A {error * 100:g}%", error)
        for name in AA_MODELS if not quick else ("independent", "beta-indep-20"):
            out += [(name, scenario, rps, 100) for rps in rates]
    for name in ("independent", "beta-indep-20"):
        out += [(name, Scenario("A/A 0.1%", 0.001), rps, 100) for rps in rates]
    for name in ("independent", "beta-indep-20", "scrape-10s-outages"):
        out += [(name, Scenario("A/A 0.5%", 0.005), rps, 50) for rps in rates]
    seed = Scenario("seed fault 30% at w15", 0.005, 0.30, fault_at_weight=15)
    doubled = Scenario("errors 0.5% -> 2%", 0.005, 0.02)
    slower = Scenario("p99 +300 ms", 0.005, latency_factor=2.0)
    for name in POWER_MODELS:
        out += [(name, seed, rps, 100) for rps in rates]
        out += [(name, doubled, rps, 100) for rps in rates]
        out += [(name, doubled, 20.0, 50)]
        out += [(name, slower, rps, 100) for rps in (20.0, 200.0)]
    return out


def _cell(scenario: Scenario, result: Result) -> str:
    if scenario.healthy:
        promoted = np.median(result.promoted_at) if result.promoted_at else math.nan
        return f"{result.rollback_rate * 100:5.1f}% rolled back, promo {promoted:4.0f}s"
    if not result.times:
        return f"{0.0:5.1f}% caught {'-':>17}"
    median, p90 = np.percentile(result.times, [50, 90])
    return (
        f"{result.caught() * 100:5.1f}% caught, {median:3.0f}s/{p90:3.0f}s, "
        f"{result.caught(40) * 100:5.1f}% <=40s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=1000, help="releases per row")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="fewer A/A traffic models")
    parser.add_argument(
        "--check", type=int, default=0, help="replay N runs of a few rows through serinus"
    )
    parser.add_argument(
        "--rows", default="", help="only rows whose 'scenario|model|rps|maxWeight' has this text"
    )
    parser.add_argument(
        "--last-look",
        type=float,
        default=judges.LAST_LOOK_SHARE,
        help="the comparison's alpha share for its last look (to measure a split)",
    )
    args = parser.parse_args()
    began = time.monotonic()
    print((__doc__ or "").split("\n\n", 2)[2])
    judges.LAST_LOOK_SHARE = args.last_look
    alpha_c, alpha_l, alpha_g = release_alphas()
    print(
        f"serinus: release alpha {ALPHA_TEXT}; each comparison {alpha_c:.3g} sequentially and "
        f"{alpha_l:.3g} at its last look before promotion, each guard {alpha_g:.3g}; intervals "
        "read once every series has a sample after their end.\n"
        "A/A rows: share of healthy releases rolled back, median time to promotion.\n"
        "Regression rows: % of faulty releases rolled back, median/p90 time from the fault,\n"
        "% rolled back within 40 s of the fault.\n"
    )
    header = (
        f"{'scenario':22} {'traffic model':19} {'rps':>4} {'max':>3} | {'Flagger':36} | serinus"
    )
    print(header)
    print("-" * (len(header) + 30))
    results: dict[tuple[str, str, float, int], tuple[Result, Result]] = {}
    for index, (name, scenario, rps, max_weight) in enumerate(rows(args.quick)):
        seed = args.seed * 100_000 + index
        if args.rows not in f"{scenario.name}|{name}|{rps:g}|{max_weight}":
            continue
        model = MODELS[name]
        flagger = simulate_flagger(Release(model, scenario, rps, max_weight, args.runs, seed))
        serinus, _ = simulate_serinus(Release(model, scenario, rps, max_weight, args.runs, seed))
        results[scenario.name, name, rps, max_weight] = (flagger, serinus)
        cells = f"{_cell(scenario, flagger):36} | {_cell(scenario, serinus)}"
        print(f"{scenario.name:22} {name:19} {rps:4.0f} {max_weight:3} | {cells}", flush=True)
    if not args.rows:
        _print_targets(results)
    if args.check:
        print(f"\nThe numpy twin against the shipped serinus.analysis ({args.check} runs each):")
        for name, scenario, rps in (
            ("independent", Scenario("A/A 0.5%", 0.005), 20.0),
            ("beta-indep-20", Scenario("A/A 0.9%", 0.009), 200.0),
            ("scrape-10s", Scenario("seed fault", 0.005, 0.30, fault_at_weight=15), 20.0),
            ("scrape-30s-outages", Scenario("p99 +300 ms", 0.005, latency_factor=2.0), 20.0),
        ):
            print("  " + check(MODELS[name], scenario, rps, args.check, args.seed))
    print(f"\n({time.monotonic() - began:.0f} s)")


ALPHA_TEXT = "0.05"


def _print_targets(results: dict[tuple[str, str, float, int], tuple[Result, Result]]) -> None:
    """The issue's "must show" lines, each with the numbers it rests on (serinus)."""
    print("\nTargets (serinus, the judged seed Canary):")
    healthy = [
        (r[1].rollback_rate, key)
        for key, r in results.items()
        if key[0].startswith("A/A") and key[1] != "outages-canary-pod"
    ]
    worst, key = max(healthy)
    print(
        f"  A/A false rollbacks <= 5% in every row but canary-pod outages: worst {worst * 100:.1f}%"
        f" ({key[0]}, {key[1]}, {key[2]:g} rps, maxWeight {key[3]})"
    )
    for name in POWER_MODELS:
        seed = results["seed fault 30% at w15", name, 20.0, 100][1]
        print(
            f"  [{name}] seed fault at 20 rps within 40 s in >= 95%: {seed.caught(40) * 100:.1f}%,"
            f" median <= 30 s: {np.median(seed.times):.0f} s"
        )
        doubled = results["errors 0.5% -> 2%", name, 200.0, 100][1]
        print(f"  [{name}] 0.5%->2% at 200 rps median <= 40 s: {np.median(doubled.times):.0f} s")
        for max_weight, goal in ((100, 75), (50, 50)):
            caught = results["errors 0.5% -> 2%", name, 20.0, max_weight][1].caught() * 100
            print(
                f"  [{name}] 0.5%->2% at 20 rps caught before promotion, maxWeight {max_weight},"
                f" >= {goal}%: {caught:.1f}%"
            )
        slower = results["p99 +300 ms", name, 20.0, 100][1]
        print(f"  [{name}] p99 +300 ms at 20 rps median <= 40 s: {np.median(slower.times):.0f} s")


if __name__ == "__main__":
    main()
