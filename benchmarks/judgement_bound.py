"""How much any valid test could catch of "errors 0.5% -> 2% at 20 req/s", and what serinus does.

Run: ``.venv/bin/python benchmarks/judgement_bound.py [--runs N]``.

``benchmarks/judgement.py`` shows the judged seed Canary catching this regression before
promotion in under half of the releases at maxWeight 50. This script puts that figure next to
what the data allow. The release is the seed's schedule (interval 10 s, stepWeight 5): intervals
at weights 5, 10, ... maxWeight, then promotion; the canary fails 2 % of its requests from its
first one, the primary 0.5 %; 200 requests per interval.

* **Conditional bound.** A test that must not be fooled by what hits both sides (a shared outage,
  the time of day) can only use the canary's share of each interval's errors, given the
  interval's total: under "no regression" that share is binomial with the canary's traffic share,
  whatever the common error rate did. The most powerful such test of "ratio 1" against the true
  ratio 4, looking once at the end and knowing the ratio (Neyman-Pearson, randomised to exact
  level), bounds every test of that kind, sequential or not: this is its power.
* **Known-rate bound.** The same, if the primary's error rate were known exactly (as if its
  history before the release could be trusted to hold through the release; the A/A rows with
  shared outages are where that fails).
* **One look against many.** The judge looks at every tick and must stay valid however often it
  looks (Ville's inequality: its e-value must reach 1/alpha); a test that looks once, at
  promotion, only needs its p-value under alpha. The difference is the price of stopping early.
* **serinus** (the numpy twin of ``benchmarks/judgement.py``, exact counts and 10 s scrapes) at 20,
  30 and 40 req/s: the traffic this regression needs at maxWeight 50.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import numpy.typing as npt
from judgement import Release, Scenario, simulate_serinus
from judgement_judges import release_alphas
from judgement_traffic import MODELS

Floats = npt.NDArray[np.float64]
RATIO, PRIMARY = 4.0, 0.005
INTERVAL, STEP = 10, 5


def _binomial(total: int, p: float) -> Floats:
    k = np.arange(total + 1)
    coefficients = np.array([math.comb(total, int(i)) for i in k], dtype=float)
    return np.asarray(coefficients * p**k * (1 - p) ** (total - k), dtype=float)


def _power_at(null: Floats, alternative: Floats, alpha: float) -> float:
    """Power of the randomised level-``alpha`` test rejecting for large values."""
    tail = np.cumsum(null[::-1])[::-1]  # P0(T >= t)
    inside = np.nonzero(tail <= alpha)[0]
    cut = int(inside[0]) if inside.size else len(null)
    power = float(alternative[cut:].sum())
    if cut >= 1:
        spare = alpha - (float(tail[cut]) if cut < len(null) else 0.0)
        power += spare / float(null[cut - 1]) * float(alternative[cut - 1])
    return power


def conditional_power(rps: float, max_weight: int, alpha: float, runs: int, seed: int) -> float:
    """Mean power of the most powerful test given each interval's total errors."""
    rng = np.random.default_rng(seed)
    shares = np.arange(STEP, max_weight + 1, STEP) / 100
    shares = shares[shares < 1]  # at weight 100 the primary serves nothing: no information
    n = rps * INTERVAL
    rate = n * (shares * PRIMARY * RATIO + (1 - shares) * PRIMARY)
    theta = RATIO * shares / (RATIO * shares + 1 - shares)
    totals = rng.poisson(rate, (runs, shares.size))
    power = 0.0
    for row in totals:
        null, alternative = np.ones(1), np.ones(1)
        for total, share, th in zip(row, shares, theta, strict=True):
            null = np.convolve(null, _binomial(int(total), float(share)))
            alternative = np.convolve(alternative, _binomial(int(total), float(th)))
        power += _power_at(null, alternative, alpha)
    return power / runs


def known_rate_power(rps: float, max_weight: int, alpha: float) -> float:
    """Power of the test of the canary's errors alone, the primary's rate known (Poisson)."""
    weights = np.arange(STEP, max_weight + 1, STEP) / 100
    requests = float(rps * INTERVAL * weights.sum())
    top = int(requests * PRIMARY * RATIO * 4 + 50)
    k = np.arange(top)
    log_factorial = np.array([math.lgamma(i + 1) for i in k])

    def poisson(mean: float) -> Floats:
        return np.asarray(np.exp(k * math.log(mean) - mean - log_factorial), dtype=float)

    return _power_at(poisson(requests * PRIMARY), poisson(requests * PRIMARY * RATIO), alpha)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print((__doc__ or "").split("\n\n", 2)[2])
    sequential_part, last_part, _ = release_alphas()
    alpha_c = sequential_part + last_part
    print("errors 0.5% -> 2%, caught before promotion (share of releases):\n")
    print(f"{'req/s':>5} {'maxWeight':>9} {'alpha':>7} | {'conditional':>11} {'known rate':>10}")
    for rps in (20.0, 30.0, 40.0):
        for max_weight in (50, 100):
            for alpha in (alpha_c, 0.05):
                cond = conditional_power(rps, max_weight, alpha, args.runs, args.seed)
                known = known_rate_power(rps, max_weight, alpha)
                print(
                    f"{rps:5.0f} {max_weight:9} {alpha:7.4f} | {cond * 100:10.1f}% "
                    f"{known * 100:9.1f}%"
                )
    print(f"\nserinus (the judged seed Canary, comparison alpha {alpha_c:.4f}), maxWeight 50:")
    doubled = Scenario("errors 0.5% -> 2%", PRIMARY, PRIMARY * RATIO)
    for name in ("independent", "scrape-10s"):
        for index, rps in enumerate((20.0, 30.0, 40.0)):
            release = Release(MODELS[name], doubled, rps, 50, args.runs, args.seed * 1000 + index)
            result, _ = simulate_serinus(release)
            print(f"  {name:12} {rps:3.0f} req/s: {result.caught() * 100:5.1f}% caught")


if __name__ == "__main__":
    main()
