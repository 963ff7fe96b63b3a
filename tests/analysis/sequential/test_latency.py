"""The latency judge: histogram quantiles, the boundary it tests, and its verdicts.

Covers: quantiles interpolate like Prometheus' histogram_quantile (worked examples); with the
primary's history the boundary and pass margin come from it and the release's first interval is
tested (it used to be spent placing the boundary); without history the boundary waits for
1/(1-q) primary requests and the intervals that placed it are left out; A/A releases roll back
in at most alpha of the runs; a uniformly slower canary and a canary with the same median but a
longer tail are both caught (Kayenta #780); a configured boundary is used from the first
interval; bucket counts that dip from one bound to the next (``increase()`` extrapolates each
series on its own) are capped, while a missing +Inf bucket or a negative count is refused with
the side named; bad config is refused with the field named.
"""

from __future__ import annotations

import bisect
import json
import math
import random

import pytest

from serinus.analysis.sequential.decision import Outcome
from serinus.analysis.sequential.latency import (
    HistogramInterval,
    LatencyConfig,
    judge_latency,
    quantile,
)
from serinus.errors import InvalidCanaryError, MetricsError

BOUNDS = (5.0, 10.0, 25.0, 50.0, 100.0, 200.0, 300.0, 400.0, 500.0, 1000.0, 2000.0, math.inf)
DEFAULT = LatencyConfig()


def _histogram(samples: list[float]) -> list[tuple[float, float]]:
    counts = [0] * len(BOUNDS)
    for value in samples:
        counts[bisect.bisect_left(BOUNDS, value)] += 1
    cumulative, total = [], 0
    for le, count in zip(BOUNDS, counts, strict=True):
        total += count
        cumulative.append((le, float(total)))
    return cumulative


def test_quantile_interpolates_like_histogram_quantile() -> None:
    buckets = [(100.0, 50.0), (200.0, 90.0), (300.0, 100.0), (math.inf, 100.0)]
    assert quantile(buckets, 0.5) == pytest.approx(100.0)  # rank 50 ends the first bucket
    assert quantile(buckets, 0.9) == pytest.approx(200.0)
    assert quantile(buckets, 0.99) == pytest.approx(290.0)  # 200 + 100 * (99 - 90) / 10
    in_inf = [(100.0, 50.0), (200.0, 60.0), (math.inf, 100.0)]
    assert quantile(in_inf, 0.99) == 200.0  # the +Inf bucket gives the last finite bound
    assert quantile([(100.0, 0.0), (math.inf, 0.0)], 0.99) is None


def _interval(canary, primary) -> list[HistogramInterval]:
    return [HistogramInterval(canary, primary, 10.0)]


def test_without_history_the_boundary_waits_and_its_intervals_are_left_out() -> None:
    canary = [(100.0, 5.0), (200.0, 5.0), (math.inf, 5.0)]
    primary = [(100.0, 80.0), (200.0, 98.0), (math.inf, 99.0)]
    first = judge_latency(_interval(canary, primary), config=DEFAULT)
    assert first.decision.outcome is Outcome.NOT_YET
    assert "99 primary requests, 100 needed to place the p99 boundary: not yet" in (
        first.decision.reason
    )
    second = judge_latency(_interval(canary, primary), config=DEFAULT, state=first.state)
    assert second.state["boundary"] == 200.0
    assert second.decision.intervals == 0  # both intervals placed it: none is tested


def test_with_history_the_first_interval_is_tested() -> None:
    # History: 10 % of the primary slower than 100 ms, 1 % slower than 200 ms: boundary 200 ms.
    # Margin for +20 %: S(200 / 1.2) log-linear between (100, 0.1) and (200, 0.01) is
    # 0.1 * 0.1 ** (log(1.6667) / log 2) = 0.01833, so the margin is 1.833.
    window = [(100.0, 900.0), (200.0, 990.0), (300.0, 1000.0), (math.inf, 1000.0)]
    canary = [(100.0, 50.0), (200.0, 70.0), (300.0, 100.0), (math.inf, 100.0)]
    primary = [(100.0, 900.0), (200.0, 990.0), (300.0, 1000.0), (math.inf, 1000.0)]
    judgement = judge_latency(
        _interval(canary, primary),
        config=DEFAULT,
        history=[window] * 12,
        history_seconds=10.0,
    )
    assert judgement.state["boundary"] == 200.0
    assert judgement.state["margin"] == pytest.approx(1.833, abs=1e-3)
    # The regression test reaches a canary 2.4 times slower: S(200 / 2.4), linear from (0, 1)
    # to (100, 0.1), is 0.25, so its ratio is 25 (four times the margin would be 7.3).
    assert judgement.state["top"] == pytest.approx(25.0)
    assert judgement.decision.intervals == 1
    assert judgement.decision.canary_events == 30
    assert judgement.decision.outcome is Outcome.REGRESSION


def _release(rng: random.Random, *, factor: float = 1.0, sigma: float = 0.69, rps: float = 20):
    """One release on the seed's schedule, latency log-normal (median 60 ms), with history."""
    history = [
        _histogram([rng.lognormvariate(math.log(60), 0.69) for _ in range(round(rps * 10))])
        for _ in range(30)
    ]
    state = None
    for k in range(1, 20):
        share = 5 * k / 100
        canary = [
            rng.lognormvariate(math.log(60 * factor), sigma) for _ in range(round(rps * 10 * share))
        ]
        primary = [
            rng.lognormvariate(math.log(60), 0.69) for _ in range(round(rps * 10 * (1 - share)))
        ]
        judgement = judge_latency(
            _interval(_histogram(canary), _histogram(primary)),
            config=DEFAULT,
            state=state,
            history=history,
            history_seconds=10.0,
        )
        state = json.loads(json.dumps(judgement.state))
        yield judgement.decision


def test_aa_releases_roll_back_at_most_alpha_of_the_time() -> None:
    rng = random.Random(5)
    rollbacks = sum(any(d.outcome is Outcome.REGRESSION for d in _release(rng)) for _ in range(150))
    assert rollbacks / 150 <= 0.05


def test_a_twice_slower_canary_is_caught() -> None:
    rng = random.Random(6)
    caught = sum(
        any(d.outcome is Outcome.REGRESSION for d in _release(rng, factor=2.0)) for _ in range(40)
    )
    assert caught >= 38


def test_a_canary_with_the_same_median_but_a_longer_tail_is_caught() -> None:
    # Kayenta #780: a location test passes a canary that only grew more variable.
    rng = random.Random(8)
    caught = sum(
        any(d.outcome is Outcome.REGRESSION for d in _release(rng, sigma=1.0)) for _ in range(40)
    )
    assert caught >= 36


def test_configured_boundary_is_used_from_the_first_interval_and_explained() -> None:
    config = LatencyConfig(boundary_ms=500.0)
    canary = _histogram([60.0] * 900 + [700.0] * 100)
    primary = _histogram([60.0] * 9_990 + [700.0] * 10)
    decision = judge_latency(_interval(canary, primary), config=config).decision
    assert decision.outcome is Outcome.REGRESSION
    assert decision.boundary_ms == 500.0
    assert decision.reason.startswith(
        "p99: canary share slower than 500 ms 10.00% vs primary 0.10% over 1,000 vs 10,000 "
        "requests in 1 interval: ratio "
    )


def test_dipping_buckets_are_capped_and_broken_histograms_refused() -> None:
    good = [(100.0, 1.0), (math.inf, 2.0)]
    dipping = [(100.0, 5.2), (200.0, 5.0), (math.inf, 6.0)]
    decision = judge_latency(
        _interval(dipping, dipping), config=LatencyConfig(boundary_ms=100.0)
    ).decision
    assert decision.canary_events == 1  # 6 - min(5.2, 5.0): never negative
    with pytest.raises(MetricsError, match=r"^canary histogram: expected a \+Inf bucket"):
        judge_latency(_interval([(100.0, 1.0)], good), config=DEFAULT)
    with pytest.raises(MetricsError, match=r"^primary histogram: expected counts >= 0"):
        judge_latency(_interval(good, [(100.0, -5.0), (math.inf, 2.0)]), config=DEFAULT)


def test_a_window_without_any_bucket_is_no_traffic() -> None:
    # sum by (le) (increase(...)) answers nothing while the canary has served no request.
    primary = [(100.0, 900.0), (200.0, 990.0), (300.0, 1000.0), (math.inf, 1000.0)]
    judgement = judge_latency(_interval([], primary), config=LatencyConfig(boundary_ms=200.0))
    assert judgement.decision.outcome is Outcome.NOT_YET
    assert judgement.decision.canary_requests == 0
    later = judge_latency(_interval([], []), config=DEFAULT, state=judgement.state)
    assert later.decision.intervals == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quantile": 1.0}, "quantile"),
        ({"min_relative_increase": 0.0}, "min_relative_increase"),
        ({"boundary_ms": -5.0}, "boundary_ms"),
        ({"alpha": 2.0}, "alpha"),
    ],
)
def test_bad_config_names_the_field(kwargs, field) -> None:
    with pytest.raises(InvalidCanaryError, match=f"^{field}: expected"):
        LatencyConfig(**kwargs)
