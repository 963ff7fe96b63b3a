"""Cells of kubectl tables: ages as kubectl prints them.

Covers: the human duration steps (seconds up to two minutes, minutes with seconds under ten
minutes, minutes up to three hours, hours with minutes under eight hours, hours, days with hours
under eight days, days, years); an unknown time and a time in the future.
"""

from __future__ import annotations

import datetime

import pytest

from serinus.sandbox.apiserver.cells import human_age

NOW = datetime.datetime(2026, 11, 29, 12, 0, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (125, "2m5s"),
        (540, "9m"),
        (3540, "59m"),
        (3 * 3600 + 60, "3h1m"),
        (10 * 3600, "10h"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (30 * 86400, "30d"),
        (3 * 365 * 86400, "3y"),
    ],
)
def test_human_age(seconds: int, text: str) -> None:
    assert human_age(NOW - datetime.timedelta(seconds=seconds), at=NOW) == text


def test_unknown_and_future_times() -> None:
    assert human_age(None) == "<unknown>"
    assert human_age(NOW + datetime.timedelta(minutes=1), at=NOW) == "<invalid>"
