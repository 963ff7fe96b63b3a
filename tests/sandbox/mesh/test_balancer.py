"""Smooth weighted round-robin and the balancer cache.

Covers: every cycle of sum(weights) picks is exactly proportional; picks are interleaved, not
bunched; weights are reduced by their gcd; zero, negative or missing weights are refused; the cache
keeps a balancer's position across rebuilds while key and weights stay, and drops it otherwise.
"""

from __future__ import annotations

import collections
import itertools

import pytest

from serinus.sandbox.mesh.balancer import BalancerCache, SmoothWeighted


@pytest.mark.parametrize("weights", [[90, 10], [1, 1], [5, 3, 2], [1, 99], [1]])
def test_each_cycle_of_picks_is_exactly_proportional(weights: list[int]) -> None:
    balancer = SmoothWeighted(weights)
    total = sum(weights)

    for _ in range(3):
        counts = collections.Counter(balancer.pick() for _ in range(total))
        assert [counts[index] for index in range(len(weights))] == weights


def test_the_minority_choice_is_spread_out_not_bunched() -> None:
    balancer = SmoothWeighted([90, 10])

    canary_positions = [n for n in range(100) if balancer.pick() == 1]

    gaps = {b - a for a, b in itertools.pairwise(canary_positions)}
    assert gaps == {10}


def test_weights_are_reduced_by_their_greatest_common_divisor() -> None:
    assert SmoothWeighted([900, 100]).weights == (9, 1)


@pytest.mark.parametrize("weights", [[], [0, 10], [-1, 2]])
def test_weights_must_be_positive(weights: list[int]) -> None:
    with pytest.raises(ValueError, match="weight"):
        SmoothWeighted(weights)


def test_the_cache_keeps_a_balancer_while_its_key_and_weights_stay() -> None:
    cache = BalancerCache()
    first = cache.get("split", [90, 10])
    first.pick()
    cache.sweep()

    same = cache.get("split", [90, 10])
    reweighted = cache.get("split", [50, 50])
    cache.sweep()
    cache.sweep()  # nobody asked for either since the last sweep

    assert same is first
    assert reweighted is not first
    assert cache.get("split", [90, 10]) is not first
