"""The models' base: checks spanning several fields run only on models that declare them.

Covers: a model deriving from ``CheckedModel`` reports its ``check`` problems together with the
field errors of the same document; a model that defines ``check`` on the plain ``ApiModel`` is
refused when its class is defined (its check would otherwise never run); times are written as
``strftime`` writes them in UTC for any moment (time zones, naive local times, the last
microsecond of a second, before 1970), one after another or repeated.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from serinus.apis.base import ApiModel, CheckedModel, format_time, problem


class Window(CheckedModel):
    low: int
    high: int

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Iterator[PydanticCustomError]:
        if raw.get("low", 0) > raw.get("high", 0):
            yield problem("low", "at most high", raw.get("low"))


def test_checks_run_with_the_field_errors() -> None:
    with pytest.raises(ValidationError) as caught:
        Window.model_validate({"low": 5, "high": 2, "extra": 1})
    kinds = sorted(error["type"] for error in caught.value.errors())
    assert kinds == ["extra_forbidden", "serinus"]
    assert Window.model_validate({"low": 1, "high": 2}).high == 2


def test_a_check_on_a_plain_model_is_refused() -> None:
    with pytest.raises(
        TypeError, match="Unchecked defines check\\(\\): derive it from CheckedModel"
    ):

        class Unchecked(ApiModel):
            value: int

            @classmethod
            def check(cls, raw: Mapping[str, Any]) -> Iterator[PydanticCustomError]:
                yield problem(None, "never", raw)


def test_times_are_written_as_strftime_writes_them_in_utc() -> None:
    rng = random.Random(15)
    zones = [datetime.UTC, datetime.timezone(datetime.timedelta(hours=5, minutes=30)), None]
    start = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    moments = [start + datetime.timedelta(seconds=rng.random() * 5) for _ in range(2_000)]
    moments += [start + datetime.timedelta(microseconds=us) for us in (999_999, 1_000_000, 0)]
    moments += [datetime.datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=datetime.UTC)]
    moments += [datetime.datetime(1, 1, 2, 0, 0, 1, tzinfo=datetime.UTC)]
    for moment in moments:
        for zone in zones:
            shown = moment.astimezone(zone) if zone else moment.astimezone().replace(tzinfo=None)
            expected = shown.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            assert format_time(shown) == expected, shown
