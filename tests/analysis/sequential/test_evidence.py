"""The e-process behind the judges: per-interval evidence, tempering, and honest bounds.

Covers: one interval matches the closed form and intervals add up; tempering by the dispersion
divides an interval's evidence; intervals without information change nothing; the state
round-trips through JSON and a malformed one is refused; a fixed-horizon test checked at every
tick alarms far above alpha while the e-process stays below it; and, for any sequence of
intervals (hypothesis), the printed bounds contain the estimate, the lower bound is at least 1
exactly when the regression e-value reached 1/alpha, and the upper bound is at most the margin
exactly when the pass e-value did.
"""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serinus.analysis.sequential import evidence as ev


def _closed_form(rho: float, share: float, x: int, total: int) -> float:
    return x * math.log(rho) - total * math.log(1 + (rho - 1) * share)


def test_one_interval_matches_the_closed_form() -> None:
    after = ev.add(ev.start(), canary=(100, 6), primary=(900, 4))
    for rho, value in zip(ev.BASE_GRID, after.log_lr, strict=True):
        assert value == pytest.approx(_closed_form(rho, 0.1, 6, 10))
    assert after.totals == (100, 6, 900, 4)
    assert after.intervals == 1


def test_intervals_add_and_tempering_divides() -> None:
    once = ev.add(ev.start(), canary=(100, 6), primary=(900, 4))
    twice = ev.add(once, canary=(200, 3), primary=(800, 5))
    tempered = ev.add(once, canary=(200, 3), primary=(800, 5), dispersion=2.0)
    for rho, a, b, c in zip(ev.BASE_GRID, once.log_lr, twice.log_lr, tempered.log_lr, strict=True):
        second = _closed_form(rho, 0.2, 3, 8)
        assert b == pytest.approx(a + second)
        assert c == pytest.approx(a + second / 2)


@pytest.mark.parametrize(
    ("canary", "primary"),
    [((0, 0), (500, 3)), ((500, 3), (0, 0)), ((100, 0), (900, 0))],
)
def test_intervals_without_information_leave_the_evidence_alone(canary, primary) -> None:
    after = ev.add(ev.start(), canary=canary, primary=primary)
    assert after.log_lr == ev.start().log_lr
    assert after.intervals == 1


def test_state_round_trips_through_json_and_bad_state_is_refused() -> None:
    evidence = ev.add(ev.start(), canary=(100, 6), primary=(900, 4), dispersion=1.5)
    restored = ev.restore(json.loads(json.dumps(evidence.to_dict())))
    assert restored is not None
    assert restored.totals == evidence.totals
    assert restored.log_lr == pytest.approx(evidence.log_lr)
    assert ev.restore({"version": 1, "logLR": [0.0] * 57}) is None
    assert ev.restore({**evidence.to_dict(), "logLR": [0.0] * 3}) is None
    assert ev.restore({**evidence.to_dict(), "totals": [1, 2, -3, 4]}) is None


def _aa_release(rng: random.Random, looks: int = 30) -> list[tuple[int, int, int, int]]:
    """Intervals of a healthy release at 5 % canary traffic, 0.5 % errors on both sides."""
    out = []
    for _ in range(looks):
        n_c, n_p = 50, 950
        x_c = sum(rng.random() < 0.005 for _ in range(n_c))
        x_p = sum(rng.random() < 0.005 for _ in range(n_p))
        out.append((n_c, x_c, n_p, x_p))
    return out


def test_checking_a_fixed_horizon_test_every_tick_alarms_far_above_alpha() -> None:
    """Kayenta's repeated looks: a one-sided 5 % z-test at every tick alarms in about a third of
    healthy releases; the e-process, looked at just as often, stays under alpha."""
    rng = random.Random(5)
    z_alarms = e_alarms = 0
    for _ in range(300):
        evidence = ev.start()
        totals = [0, 0, 0, 0]
        z_alarm = e_alarm = False
        for n_c, x_c, n_p, x_p in _aa_release(rng):
            totals = [a + b for a, b in zip(totals, (n_c, x_c, n_p, x_p), strict=True)]
            evidence = ev.add(evidence, canary=(n_c, x_c), primary=(n_p, x_p))
            events = totals[1] + totals[3]
            if events:
                share = totals[0] / (totals[0] + totals[2])
                z = (totals[1] - events * share) / math.sqrt(events * share * (1 - share))
                z_alarm |= z > 1.645
            e_alarm |= ev.regression_e_value(evidence, 2.0) >= 20
        z_alarms += z_alarm
        e_alarms += e_alarm
    assert z_alarms / 300 > 0.15
    assert e_alarms / 300 <= 0.05


intervals = st.lists(
    st.tuples(
        st.integers(0, 400), st.integers(0, 40), st.integers(0, 4000), st.integers(0, 60),
        st.floats(1.0, 4.0),
    ),
    min_size=1,
    max_size=8,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    intervals,
    st.sampled_from([0.05, 0.0225, 0.005]),
    st.sampled_from([1.5, 2.0, 3.0]),
    st.sampled_from([None, 8.0, 40.0]),
)
def test_bounds_contain_the_estimate_and_agree_with_the_verdict(data, alpha, margin, top) -> None:
    evidence = ev.start()
    for n_c, x_c, n_p, x_p, dispersion in data:
        evidence = ev.add(evidence, canary=(n_c, x_c), primary=(n_p, x_p), dispersion=dispersion)
    lower, upper = ev.confidence_bounds(evidence, alpha, margin, top)
    estimate = ev.most_likely(evidence)
    if estimate is not None:
        assert lower is None or lower <= estimate * (1 + 1e-9)
        assert upper is None or estimate <= upper * (1 + 1e-9)
    regression = ev.regression_e_value(evidence, margin, top) >= 1 / alpha
    assert regression == (lower is not None and lower >= 1.0)
    cleared = ev.pass_e_value(evidence, margin) >= 1 / alpha
    margin_on_grid = ev.BASE_GRID[ev.margin_index(margin)]
    assert cleared == (upper is not None and upper <= margin_on_grid * (1 + 1e-9))


def test_the_regression_alternatives_sit_around_twice_the_margin() -> None:
    """sqrt(2) to 2 sqrt(2) times the margin: for errors (margin 2), 2.83x to 5.66x; a caller's
    top (latency) extends the band upwards."""
    offsets = ev.regression_offsets(2.0)
    assert [ev.BASE_GRID[ev.ONE + o] for o in (offsets[0], offsets[-1])] == pytest.approx(
        [2 * 2**0.5, 4 * 2**0.5]
    )
    assert ev.BASE_GRID[ev.ONE + ev.regression_offsets(1.68, 14.0)[-1]] == pytest.approx(
        2 ** (15 / 4)
    )
