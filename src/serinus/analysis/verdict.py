"""The outcome of one metric check.

Like Argo Rollouts' measurement phases, "could not measure" (no data, an error) stays apart from
"measured and bad", so the controller can choose per metric whether missing data fails a check or
waits, and the status can say which happened.
"""

from __future__ import annotations

import dataclasses
import enum


class Verdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NO_DATA = "nodata"
    ERROR = "error"


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One metric check: the verdict, the value read (if any) and a sentence for the log."""

    metric: str
    verdict: Verdict
    value: float | None = None
    min: float | None = None
    max: float | None = None
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS
