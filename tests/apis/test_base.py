"""The models' base: checks spanning several fields run only on models that declare them.

Covers: a model deriving from ``CheckedModel`` reports its ``check`` problems together with the
field errors of the same document; a model that defines ``check`` on the plain ``ApiModel`` is
refused when its class is defined (its check would otherwise never run).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from serinus.apis.base import ApiModel, CheckedModel, problem


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
