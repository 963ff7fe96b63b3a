"""Flagger's fixed-threshold judge against the sequential judge, on simulated releases.

Run: ``.venv/bin/python benchmarks/judgement.py [--runs N] [--seed S]``.

Both judges drive the seed's Canary schedule: interval 10 s, stepWeight 5, maxWeight 100,
threshold 5. On the first analysis tick (t = 0) the canary gets weight 5; every later tick judges
the traffic so far, a passing tick adds 5, and the tick after reaching 100 promotes. The canary
receives weight % of the traffic, the primary the rest (simulated in judgement_traffic.py).

* Flagger's judge (as Flagger 1.44 does it): the canary's success rate over the last 1 m must be
  >= 99 % (latency rows: its histogram p99 over the last 1 m must be <= 500 ms); no canary
  requests in the window is "no values found", a failed check. A failed check does not advance
  the weight; failedChecks is cumulative; the rollback happens at the start of the tick after
  failedChecks reached 5.
* The sequential judge (serinus.analysis.sequential) gets the cumulative counts (histograms) of
  both sides since the analysis started plus its own state, every tick. REGRESSION rolls back on
  that tick. Everything else advances the schedule. With early pass (the last column),
  NO_REGRESSION promotes at once if the canary already carries >= 50 % of the traffic, else
  advances two steps.

Times are from the start of the fault to the rollback. The fault starts with the canary's first
request, except in the "seed fault" rows, where it starts when the weight reaches 15, as in the
seed's story (Advance 5, 10, 15, then the 500s).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import numpy as np
from judgement_traffic import BUCKETS_MS, Scenario, Traffic, bucket_probabilities

from serinus.analysis.sequential.counts import CountConfig, Counts, judge_counts
from serinus.analysis.sequential.decision import Outcome
from serinus.analysis.sequential.latency import LatencyConfig, judge_latency

STEP, MAX_WEIGHT, THRESHOLD, WINDOW_TICKS, MAX_TICKS = 5, 100, 5, 6, 80
RATES = (2.0, 20.0, 200.0)
SCENARIOS = (
    Scenario("A/A errors 0.1%", "errors", 0.001, 0.001),
    Scenario("A/A errors 0.5%", "errors", 0.005, 0.005),
    Scenario("A/A errors 0.9%", "errors", 0.009, 0.009),
    Scenario("A/A latency", "latency"),
    Scenario("errors 0.5% -> 2%", "errors", 0.005, 0.02),
    Scenario("errors 0.5% -> 30%", "errors", 0.005, 0.30),
    Scenario("seed fault 30% at w15", "errors", 0.005, 0.30, fault_at_weight=15),
    Scenario("latency p99 +20%", "latency", latency_factor=1.2),
    Scenario("latency p99 +100%", "latency", latency_factor=2.0),
)


@dataclasses.dataclass
class Result:
    runs: int
    rolled_back: int
    faulted: int
    times: list[float]
    promoted_after: list[float]

    @property
    def rollback_rate(self) -> float:
        return self.rolled_back / self.runs


class Release:
    """The state of every run of one (scenario, rate, judge) simulation."""

    def __init__(self, scenario: Scenario, rps: float, runs: int, seed: int) -> None:
        self.scenario = scenario
        self.traffic = Traffic(rps=rps, runs=runs, rng=np.random.default_rng(seed))
        self.weight = np.full(runs, STEP, dtype=np.int64)
        self.done = np.zeros(runs, dtype=np.int8)  # 0 running, 1 rolled back, 2 promoted
        self.end_tick = np.full(runs, -1)
        self.fault_tick = np.full(runs, 0 if scenario.fault_at_weight <= STEP else -1)
        width = len(BUCKETS_MS) if scenario.metric == "latency" else 2
        self.canary = np.zeros((runs, width), dtype=np.int64)  # cumulative
        self.primary = np.zeros((runs, width), dtype=np.int64)
        self.window = np.zeros((WINDOW_TICKS, runs, width), dtype=np.int64)
        self.healthy_p = bucket_probabilities(1.0)
        self.faulty_p = bucket_probabilities(scenario.latency_factor)

    def draw(self, tick: int) -> None:
        """Traffic of the interval ending at ``tick``, into the cumulative and window arrays."""
        sc = self.scenario
        n_c, n_p = self.traffic.requests(tick, self.weight)
        faulty = (self.fault_tick >= 0) & (self.fault_tick < tick)
        if sc.metric == "errors":
            err_c = self.traffic.errors(n_c, np.where(faulty, sc.canary_error, sc.primary_error))
            new_c = np.stack([n_c, err_c], axis=1)
            new_p = np.stack([n_p, self.traffic.errors(n_p, sc.primary_error)], axis=1)
        else:
            healthy = self.traffic.buckets(n_c, self.healthy_p)
            slow = self.traffic.buckets(n_c, self.faulty_p)
            new_c = np.where(faulty[:, None], slow, healthy)
            new_p = self.traffic.buckets(n_p, self.healthy_p)
        self.canary += new_c
        self.primary += new_p
        self.window = np.roll(self.window, 1, axis=0)
        self.window[0] = new_c

    def advance(self, tick: int, runs: np.ndarray, steps: int = 1) -> None:
        self.weight[runs] = np.minimum(self.weight[runs] + STEP * steps, MAX_WEIGHT)
        started = runs & (self.fault_tick < 0) & (self.weight >= self.scenario.fault_at_weight)
        self.fault_tick[started] = tick

    def end(self, tick: int, runs: np.ndarray, how: int) -> None:
        self.done[runs] = how
        self.end_tick[runs] = tick

    def result(self) -> Result:
        faulted = self.fault_tick >= 0
        caught = (self.done == 1) & faulted & (self.end_tick >= self.fault_tick)
        times = ((self.end_tick[caught] - self.fault_tick[caught]) * 10.0).tolist()
        promoted = (self.end_tick[self.done == 2] * 10.0).tolist()
        rolled_back = int((self.done == 1).sum())
        return Result(len(self.done), rolled_back, int(faulted.sum()), times, promoted)


def flagger_checks(release: Release) -> np.ndarray:
    """Whether each run's check passes: Flagger's fixed thresholds over the last 1 m."""
    window = release.window.sum(axis=0)
    if release.scenario.metric == "errors":
        requests, errors = window[:, 0], window[:, 1]
        return (requests > 0) & ((requests - errors) >= 0.99 * requests)
    cumulative = np.cumsum(window, axis=1)
    total = cumulative[:, -1]
    return (total > 0) & (histogram_p99(cumulative) <= 500.0)


def histogram_p99(cumulative: np.ndarray) -> np.ndarray:
    """Prometheus histogram_quantile(0.99) for every row of cumulative bucket counts."""
    bounds = np.array(BUCKETS_MS)
    rank = 0.99 * cumulative[:, -1]
    index = np.argmax(cumulative >= rank[:, None], axis=1)
    lower = np.where(index > 0, bounds[np.maximum(index - 1, 0)], 0.0)
    below = np.where(
        index > 0, np.take_along_axis(cumulative, np.maximum(index - 1, 0)[:, None], 1)[:, 0], 0
    )
    count = np.take_along_axis(cumulative, index[:, None], 1)[:, 0]
    upper = bounds[index]
    inside = lower + (upper - lower) * (rank - below) / np.maximum(count - below, 1)
    return np.where(np.isinf(upper), lower, inside)


def simulate_flagger(release: Release) -> Result:
    failed = np.zeros_like(release.weight)
    for tick in range(1, MAX_TICKS + 1):
        release.draw(tick)
        running = release.done == 0
        if not running.any():
            break
        release.end(tick, running & (failed >= THRESHOLD), 1)
        running = release.done == 0
        ok = flagger_checks(release)
        failed[running & ~ok] += 1
        passed = running & ok
        release.end(tick, passed & (release.weight >= MAX_WEIGHT), 2)
        release.advance(tick, passed & (release.weight < MAX_WEIGHT))
    return release.result()


def simulate_sequential(release: Release, *, early_pass: bool) -> Result:
    runs = len(release.weight)
    states: list[dict[str, object] | None] = [None] * runs
    count_config = CountConfig(early_pass=early_pass)
    latency_config = LatencyConfig(early_pass=early_pass)
    bounds = [math.inf if math.isinf(b) else b for b in BUCKETS_MS]
    for tick in range(1, MAX_TICKS + 1):
        release.draw(tick)
        running = np.flatnonzero(release.done == 0)
        if running.size == 0:
            break
        outcome = np.zeros(runs, dtype=np.int8)  # 0 not yet, 1 regression, 2 no regression
        for i in running:
            if release.scenario.metric == "errors":
                c, p = release.canary[i], release.primary[i]
                judgement = judge_counts(
                    Counts(int(c[0]), int(c[1])),
                    Counts(int(p[0]), int(p[1])),
                    config=count_config,
                    state=states[i],
                )
            else:
                judgement = judge_latency(
                    list(zip(bounds, np.cumsum(release.canary[i]).tolist(), strict=True)),
                    list(zip(bounds, np.cumsum(release.primary[i]).tolist(), strict=True)),
                    config=latency_config,
                    state=states[i],
                )
            states[i] = judgement.state
            kind = judgement.decision.outcome
            outcome[i] = (
                1 if kind is Outcome.REGRESSION else 2 if kind is Outcome.NO_REGRESSION else 0
            )
        active = release.done == 0
        release.end(tick, active & (outcome == 1), 1)
        active = release.done == 0
        passed = active & (outcome == 2) if early_pass else np.zeros_like(active)
        release.end(tick, passed & (release.weight >= 50), 2)
        release.advance(tick, passed & (release.done == 0), steps=2)
        normal = (release.done == 0) & ~passed
        release.end(tick, normal & (release.weight >= MAX_WEIGHT), 2)
        release.advance(tick, normal & (release.done == 0))
    return release.result()


def _times(result: Result) -> str:
    if not result.times:
        return f"{'-':>6} {'-':>6}"
    median, p90 = np.percentile(result.times, [50, 90])
    return f"{median:5.0f}s {p90:5.0f}s"


def _cell(scenario: Scenario, result: Result) -> str:
    if scenario.healthy:
        promoted = np.median(result.promoted_after) if result.promoted_after else math.nan
        return f"{result.rollback_rate * 100:5.1f}% of {result.runs:<5} promo {promoted:4.0f}s"
    caught = len(result.times) / max(result.faulted, 1) * 100
    return f"{caught:5.1f}% of {result.faulted:<5}{_times(result)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--runs", type=int, default=1000, help="A/A runs per row (regressions: half)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    began = time.monotonic()
    print(__doc__.split("\n\n", 2)[2])
    print(
        "A/A rows: false rollback rate (runs), median time to promotion.\n"
        "Regression rows: % caught before promotion (runs with the fault), median and p90 time\n"
        "from fault to rollback.\n"
        "New judge: alpha 0.05, smallest effect: error rate 2x, latency p99 +20%.\n"
        "Flagger's times include its one-tick wait: its 5th failed check comes 10 s earlier.\n"
    )
    header = (
        f"{'scenario':22} {'rps':>4} | {'Flagger (threshold)':28} | {'sequential (new)':28} | "
        f"{'sequential + early pass':28}"
    )
    print(header)
    print("-" * len(header))
    results: dict[tuple[str, float], tuple[Result, Result]] = {}
    for index, scenario in enumerate(SCENARIOS):
        runs = args.runs if scenario.healthy else max(args.runs // 2, 1)
        for rps in RATES:
            seed = args.seed * 1000 + index * 10 + int(math.log10(rps) * 3)
            flagger = simulate_flagger(Release(scenario, rps, runs, seed))
            new = simulate_sequential(Release(scenario, rps, runs, seed), early_pass=False)
            early = simulate_sequential(Release(scenario, rps, runs, seed), early_pass=True)
            results[scenario.name, rps] = (flagger, new)
            cells = " | ".join(_cell(scenario, r) for r in (flagger, new, early))
            print(f"{scenario.name:22} {rps:4.0f} | {cells}")
    _print_targets(results)
    print(f"\n({time.monotonic() - began:.0f} s)")


def _print_targets(results: dict[tuple[str, float], tuple[Result, Result]]) -> None:
    """The issue's "must show" targets, each with the numbers it rests on."""
    print("\nTargets (new judge, early pass off):")
    worst = max(
        (results[name, rps][1].rollback_rate, name, rps)
        for (name, rps) in results
        if name.startswith("A/A errors")
    )
    print(
        f"  A/A false rollbacks <= 5%: worst {worst[0] * 100:.1f}% ({worst[1]}, {worst[2]:g} rps)"
    )
    seed = results["seed fault 30% at w15", 20.0][1]
    within = sum(t <= 10 for t in seed.times) / max(seed.faulted, 1) * 100
    print(f"  seed fault at 20 rps rolled back within 10 s in >= 95% of runs: {within:.1f}%")
    start = results["errors 0.5% -> 30%", 20.0][1]
    within = sum(t <= 10 for t in start.times) / max(start.faulted, 1) * 100
    print(f"    (same fault from the canary's first request: {within:.1f}% within 10 s)")
    flagger, new = results["errors 0.5% -> 2%", 200.0]
    f_med, n_med = np.median(flagger.times), np.median(new.times)
    print(
        f"  0.5%->2% at 200 rps, median time to rollback <= half Flagger's: {n_med:.0f} s vs "
        f"{f_med:.0f} s (Flagger's 5th failed check: {f_med - 10:.0f} s)"
    )
    new = results["errors 0.5% -> 2%", 20.0][1]
    caught = len(new.times) / max(new.faulted, 1) * 100
    print(f"  0.5%->2% at 20 rps caught before promotion in >= 85% of runs: {caught:.1f}%")


if __name__ == "__main__":
    main()
