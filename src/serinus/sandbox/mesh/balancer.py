"""How the mesh proxy picks one of several choices: smooth weighted round-robin.

The routing table (:mod:`serinus.sandbox.mesh.table`) asks a balancer for the next backend Service
of a split and for the next pod of a Service. Both use the algorithm of nginx's upstreams, smooth
weighted round-robin. It is deterministic and exact: with weights 90/10 every run of 100 picks
holds exactly 90 of the first and 10 of the second, interleaved (the canary is not hit ten times
in a row). Tests can assert exact splits, and a canary at 5% gets its share from the first
requests on, which weighted random would only approach.

A balancer returns indexes, not objects, and keeps its position between picks. The table keeps
balancers across rebuilds whose keys (what they choose between, with which weights) did not change
(:class:`BalancerCache`), so unrelated cluster changes neither restart a sequence nor skew a split,
while the objects picked always come from the newest table.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence


class SmoothWeighted:
    """Smooth weighted round-robin over positive integer ``weights``; picks are indexes."""

    def __init__(self, weights: Sequence[int]) -> None:
        if not weights:
            raise ValueError("a balancer needs at least one weight")
        if any(weight <= 0 for weight in weights):
            raise ValueError(f"weights must be positive integers, got {list(weights)}")
        divisor = math.gcd(*weights)
        self.weights = tuple(weight // divisor for weight in weights)
        self._total = sum(self.weights)
        self._current = [0] * len(self.weights)

    def pick(self) -> int:
        """The next index: every full cycle of ``sum(weights)`` picks is exactly proportional."""
        best = 0
        for index, weight in enumerate(self.weights):
            self._current[index] += weight
            if self._current[index] > self._current[best]:
                best = index
        self._current[best] -= self._total
        return best


class BalancerCache:
    """Balancers kept across routing-table rebuilds, keyed by what they choose between.

    A rebuild asks :meth:`get` for each balancer it needs; :meth:`sweep` then forgets those no
    longer asked for, so a balancer lives exactly as long as its choices and weights do.
    """

    def __init__(self) -> None:
        self._kept: dict[Hashable, SmoothWeighted] = {}
        self._used: set[Hashable] = set()

    def get(self, key: Hashable, weights: Sequence[int]) -> SmoothWeighted:
        """The balancer for ``key``, which must identify the choices; the weights are part of it."""
        full_key = (key, tuple(weights))
        self._used.add(full_key)
        kept = self._kept.get(full_key)
        if kept is None:
            kept = SmoothWeighted(weights)
            self._kept[full_key] = kept
        return kept

    def sweep(self) -> None:
        """Forget the balancers not asked for since the previous sweep."""
        self._kept = {key: value for key, value in self._kept.items() if key in self._used}
        self._used = set()
