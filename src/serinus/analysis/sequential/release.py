"""One false-rollback budget per release, shared by every judged test.

Who uses it: the controller, when a release starts, to give each judged metric's comparison and
each anytime-valid SLO guard its share of the release's alpha; ``benchmarks/judgement.py`` does
the same. Each test is an e-process that crosses its own bar ``1 / alpha_i`` with probability at
most ``alpha_i`` in a healthy release, so with shares that add up to ``alpha`` the chance that
*any* of them rolls a healthy release back is at most ``alpha`` (a union bound; Vovk & Wang,
"E-values: calibration, combination and applications", 2021, for the e-value view).

Comparisons with the primary are the judge's main evidence and get nine times a guard's share
(the guards are backstops for canaries that are both beyond the SLO and worse than the primary,
which the comparisons catch too). An error-rate comparison splits its share again
(:func:`split`): 40 % for its sequential test and 60 % for its last look at promotion
(:mod:`serinus.analysis.sequential.lastlook`), which looks once and so needs only its p-value
under its alpha; the controller gives latency comparisons no last look. With the seed's two
judged metrics and their two thresholds, alpha 0.05 gives the error comparison 0.009 (its bar is
111.1) and 0.0135 for its last look, the latency comparison 0.0225 (bar 44.4), each guard 0.0025
(bar 400). A guard's bar matters little, since it fires on canaries far beyond the limit, whose
evidence grows fast; a comparison's matters most at low traffic, where every nat counts (at 20
requests/s the split 9:1 catches 0.5 % -> 2 % errors before promotion about 2 points more often
than 4:1, and the last look at 60 % about 8 more at maxWeight 50; ``docs/judgement.md``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from serinus.analysis.sequential.counts import check_alpha


class Kind(enum.StrEnum):
    COMPARISON = "comparison"
    GUARD = "guard"


WEIGHTS = {Kind.COMPARISON: 9.0, Kind.GUARD: 1.0}
LAST_LOOK_SHARE = 0.6
"""The part of a comparison's alpha kept for its last look at promotion
(:mod:`serinus.analysis.sequential.lastlook`); the rest is the sequential test's."""


def shares(alpha: float, tests: Sequence[Kind]) -> list[float]:
    """Each test's alpha; they add up to ``alpha``."""
    check_alpha(alpha)
    total = sum(WEIGHTS[t] for t in tests)
    return [alpha * WEIGHTS[t] / total for t in tests]


def split(alpha: float, last_look: float = LAST_LOOK_SHARE) -> tuple[float, float]:
    """A comparison's alpha as (sequential test, last look at promotion); they add up to it."""
    check_alpha(alpha)
    if not 0 <= last_look < 1:
        raise ValueError(f"last_look: expected a share in [0, 1), got {last_look!r}")
    return alpha * (1 - last_look), alpha * last_look
