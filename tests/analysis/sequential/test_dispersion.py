"""The burst correction: how much more than binomial the primary's error counts vary.

Covers: binomial history gives a small beta (only its own sampling error) while bursty history
(the per-window rate moving) gives a beta near the truth; the factor grows with each side's
requests per second and mixes the sides by the canary's share; too little history says nothing;
the estimate round-trips through the state; a bad window length is refused.
"""

from __future__ import annotations

import random

import pytest

from serinus.analysis.sequential.dispersion import MIN_WINDOWS, Dispersion, estimate
from serinus.errors import MetricsError


def _history(rng: random.Random, *, bursty: bool, windows: int = 180) -> list[tuple[int, int]]:
    """Windows of 10 s at 200 requests/s, 0.5 % errors; bursty: the rate of each second is
    Beta(0.1, 19.9) (mean 0.5 %, concentration 20)."""
    out = []
    for _ in range(windows):
        errors = 0
        for _ in range(10):
            rate = rng.betavariate(0.1, 19.9) if bursty else 0.005
            errors += sum(rng.random() < rate for _ in range(200))
        out.append((2000, errors))
    return out


def test_bursty_history_gives_the_dispersion_and_binomial_history_little() -> None:
    rng = random.Random(1)
    calm = estimate(_history(rng, bursty=False), 10.0)
    bursty = estimate(_history(rng, bursty=True), 10.0)
    # Truth for the bursty history: beta = Var(rate) / mu = 0.995 / 21 = 0.047 per second; the
    # estimate errs upwards by one of its standard errors, never far below.
    assert 0.047 * 0.8 <= bursty.beta <= 0.047 * 2
    assert calm.beta < 0.01
    assert bursty.side(2000, 10.0) == pytest.approx(1 + bursty.beta * 200)


def test_the_factor_mixes_the_sides_by_the_canary_share() -> None:
    dispersion = Dispersion(beta=0.05)
    # Canary 100 requests (10/s), primary 900 (90/s), share 0.1.
    expected = 0.9 * (1 + 0.05 * 10) + 0.1 * (1 + 0.05 * 90)
    assert dispersion.factor(100, 900, 10.0) == pytest.approx(expected)
    assert Dispersion().factor(100, 900, 10.0) == 1.0


def test_too_little_history_says_nothing() -> None:
    few = [(100, 5)] * (MIN_WINDOWS - 1)
    assert estimate(few, 10.0).beta == 0.0
    assert estimate([(100, 0)] * 50, 10.0).beta == 0.0
    assert estimate([], 10.0).windows == 0


def test_state_round_trip_and_bad_input() -> None:
    kept = Dispersion(beta=0.02, windows=90, rate=0.005)
    assert Dispersion.from_dict(kept.to_dict()) == kept
    assert Dispersion.from_dict({"beta": -1, "windows": 3}) is None
    with pytest.raises(MetricsError, match="history window: expected a positive length"):
        estimate([(1, 0)], 0.0)
