"""The latency judge: histogram quantiles, the boundary it tests, and its verdicts.

Covers: quantiles interpolate like Prometheus' histogram_quantile (worked examples); the boundary
is the bucket bound nearest the primary's p99 and waits for 1/(1-q) primary requests; the pass
margin is the primary's tail ratio S(b/1.2)/S(b) (worked example); A/A releases roll back in at
most alpha of the runs; a uniformly slower canary and a canary with the same median but a longer
tail are both caught (Kayenta #780); the state is JSON; a configured boundary is used from the
first tick; the reason names the quantiles and the boundary; malformed histograms and bad config
are refused with the side or field named.
"""

from __future__ import annotations

import bisect
import json
import math
import random

import pytest

from serinus.analysis.sequential.decision import Outcome
from serinus.analysis.sequential.latency import LatencyConfig, judge_latency, quantile
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


def test_boundary_waits_for_enough_primary_requests() -> None:
    canary = [(100.0, 5.0), (200.0, 5.0), (math.inf, 5.0)]
    primary = [(100.0, 80.0), (200.0, 98.0), (math.inf, 99.0)]
    judgement = judge_latency(canary, primary, config=DEFAULT)
    assert judgement.decision.outcome is Outcome.NOT_YET
    assert "99 primary requests, 100 needed to place the p99 boundary: not yet" in (
        judgement.decision.reason
    )
    assert judgement.state == {}


def test_boundary_and_pass_margin_from_the_primary_histogram() -> None:
    # Primary: 10 % slower than 100 ms, 1 % slower than 200 ms. The p99 boundary is 200 ms.
    # Margin for +20 %: S(200 / 1.2) by log-linear interpolation between (100, 0.1) and
    # (200, 0.01) is 0.1 * 0.1 ** (log(1.6667) / log 2) = 0.01833, so S(166.7)/S(200) = 1.833.
    primary = [(100.0, 900.0), (200.0, 990.0), (300.0, 1000.0), (math.inf, 1000.0)]
    canary = [(100.0, 90.0), (200.0, 99.0), (300.0, 100.0), (math.inf, 100.0)]
    judgement = judge_latency(canary, primary, config=DEFAULT)
    assert judgement.state["boundary"] == 200.0
    assert judgement.state["margin"] == pytest.approx(1.833, abs=1e-3)
    # The data that placed the boundary is left out of the test: nothing to judge yet.
    assert judgement.decision.outcome is Outcome.NOT_YET
    assert judgement.decision.canary_events == 1
    assert judgement.decision.primary_events == 10


def _release(rng: random.Random, *, factor: float = 1.0, sigma: float = 0.69, rps: float = 20):
    """One release on the seed's schedule, latency log-normal (median 60 ms)."""
    canary: list[float] = []
    primary: list[float] = []
    state = None
    for k in range(1, 21):
        share = min(5 * k, 100) / 100
        canary += [
            rng.lognormvariate(math.log(60 * factor), sigma) for _ in range(round(rps * 10 * share))
        ]
        primary += [
            rng.lognormvariate(math.log(60), 0.69) for _ in range(round(rps * 10 * (1 - share)))
        ]
        judgement = judge_latency(
            _histogram(canary), _histogram(primary), config=DEFAULT, state=state
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


def test_configured_boundary_is_used_from_the_first_tick_and_explained() -> None:
    config = LatencyConfig(boundary_ms=500.0)
    canary = _histogram([60.0] * 900 + [700.0] * 100)
    primary = _histogram([60.0] * 9_990 + [700.0] * 10)
    decision = judge_latency(canary, primary, config=config).decision
    assert decision.outcome is Outcome.REGRESSION
    assert decision.boundary_ms == 500.0
    # Canary p99: rank 990 falls in (500, 1000] above 900 -> 500 + 500 * 90 / 100 = 950 ms.
    # Primary p99: rank 9,900 of the 9,990 in (50, 100] -> 50 + 50 * 9900 / 9990 = 99.5 ms.
    assert decision.reason.startswith(
        "canary p99 950 ms vs primary 100 ms; canary share slower than 500 ms 10.00% vs "
        "primary 0.10% over 1,000 vs 10,000 requests: 100.0x higher"
    )


def test_histograms_must_be_cumulative_and_end_in_inf() -> None:
    good = [(100.0, 1.0), (math.inf, 2.0)]
    with pytest.raises(MetricsError, match=r"^canary histogram: expected a \+Inf bucket"):
        judge_latency([(100.0, 1.0)], good, config=DEFAULT)
    with pytest.raises(MetricsError, match=r"^primary histogram: expected cumulative counts"):
        judge_latency(good, [(100.0, 5.0), (math.inf, 2.0)], config=DEFAULT)


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
