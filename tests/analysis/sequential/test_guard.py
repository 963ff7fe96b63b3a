"""The anytime-valid SLO guard that Flagger's thresholds become when a metric is judged.

Covers: a canary at the seed's fault rate is beyond the 1 % limit at once; one noisy minute
(3 errors in 60 requests, which fails Flagger's 99 % check) is not; a service-wide incident that
pushes both sides beyond the limit does not fire the guard (the canary is not worse than the
primary); a healthy canary near the limit is never beyond it over a whole release; the printed
lower bound is at or above the limit exactly when the limit part fires; the state continues the
same e-value; a bad limit is refused.
"""

from __future__ import annotations

import json
import random

import pytest

from serinus.analysis.sequential.counts import Counts
from serinus.analysis.sequential.guard import GuardConfig, judge_guard
from serinus.errors import InvalidCanaryError

LIMIT = GuardConfig(limit=0.01, alpha=0.005)


def _guard(steps, state=None):
    return judge_guard(steps, config=LIMIT, what="error rate", state=state)


def test_the_seed_fault_is_beyond_the_limit_at_once() -> None:
    decision = _guard([(Counts(30, 9), Counts(170, 1), 10.0)]).decision
    assert decision.violated
    assert decision.lower is not None
    assert decision.lower >= 0.01
    assert decision.reason.endswith("beyond the limit")


def test_one_noisy_minute_is_not_beyond_the_limit() -> None:
    decision = _guard([(Counts(60, 3), Counts(1140, 5), 60.0)]).decision
    assert not decision.violated
    assert decision.reason.endswith("within")


def test_a_shared_incident_is_not_the_canarys_doing() -> None:
    # Both sides fail 5 % of requests for a while: beyond the limit, but so is the primary.
    steps = [(Counts(100, 5), Counts(900, 45), 10.0) for _ in range(10)]
    decision = _guard(steps).decision
    assert decision.e_value >= 1 / LIMIT.alpha
    assert not decision.violated
    assert "not the canary's doing" in decision.reason


def test_a_healthy_canary_near_the_limit_is_never_beyond_it() -> None:
    rng = random.Random(4)
    fired = 0
    for _ in range(200):
        state = None
        for k in range(1, 20):
            n_c, n_p = 10 * k, 10 * (20 - k)
            x_c = sum(rng.random() < 0.009 for _ in range(n_c))
            x_p = sum(rng.random() < 0.009 for _ in range(n_p))
            judgement = _guard([(Counts(n_c, x_c), Counts(n_p, x_p), 10.0)], state)
            state = judgement.state
            fired += judgement.decision.violated
    assert fired == 0


@pytest.mark.parametrize("events", [0, 2, 4, 8, 16, 40])
def test_the_bound_agrees_with_the_limit_part(events: int) -> None:
    decision = _guard([(Counts(400, events), Counts(400, 0), 10.0)]).decision
    beyond = decision.e_value >= 1 / LIMIT.alpha
    assert beyond == (decision.lower is not None and decision.lower >= 0.01)
    if decision.lower is not None:
        assert decision.lower <= events / 400


def test_the_state_continues_the_same_e_value() -> None:
    steps = [(Counts(50, 2), Counts(450, 1), 10.0), (Counts(60, 3), Counts(440, 2), 10.0)]
    together = _guard(steps).decision.e_value
    first = _guard(steps[:1])
    second = _guard(steps[1:], json.loads(json.dumps(first.state))).decision.e_value
    assert second == pytest.approx(together)


def test_a_bad_limit_is_refused() -> None:
    with pytest.raises(InvalidCanaryError, match="guard limit: expected a rate"):
        GuardConfig(limit=0.0)
