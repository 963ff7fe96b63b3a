"""What every resource model shares: the pydantic base, Kubernetes durations and object metadata.

Models use snake_case attributes with camelCase aliases, so Python reads ``spec.step_weight`` while
YAML and the API keep ``stepWeight``. Unknown fields are rejected (a typo such as ``stepWeigth``
would otherwise be dropped without a word); fields that carry another project's structure (an Istio
``trafficPolicy``, Gateway API ``parentRefs``) are typed as :data:`Passthrough` and kept as written.

Checks that span several fields live in :meth:`CheckedModel.check`, which sees the raw mapping and
runs whether or not the fields themselves parsed, so one pass reports every problem of a document
(only models with such checks derive from :class:`CheckedModel`: the others skip its validator).
Checks report through :func:`problem`, a pydantic error that carries the sub-field, what was
expected and what was found, so :mod:`serinus.apis.documents` can print the exact field path.
"""

from __future__ import annotations

import datetime
import functools
import math
import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Self, TypeGuard

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from serinus.redaction import clean, redact

Manifest = dict[str, Any]
"""A Kubernetes object as the API returns it. The one place ``Any`` is allowed."""

Passthrough = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
]
"""Another project's structure (Istio, Gateway API), stored and handed on as written."""

PassthroughList = Annotated[
    list[dict[str, Any]],
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        }
    ),
]


class ApiModel(BaseModel):
    """Base of every resource model."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_attribute_docstrings=True,
        frozen=False,
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if (
            "check" in cls.__dict__
            and "_run_checks" not in cls.__pydantic_decorators__.model_validators
        ):
            raise TypeError(f"{cls.__name__} defines check(): derive it from CheckedModel")

    def dump(self) -> Manifest:
        """The object as YAML/JSON would carry it: aliases, no unset fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class CheckedModel(ApiModel):
    """A model with checks that span several fields (:meth:`check`).

    Only these models run a validator of their own: pydantic calls it back in Python for every
    object of the model it reads, which for the models without checks (a status' conditions and
    metrics, a history's points) would be most of the time a read takes.
    """

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Iterator[PydanticCustomError]:
        """Problems that involve several fields, found in the raw (camelCase) mapping."""
        return iter(())

    @model_validator(mode="wrap")
    @classmethod
    def _run_checks(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        found = list(cls.check(data)) if isinstance(data, Mapping) else []
        if not found:
            return handler(data)
        extra = [InitErrorDetails(type=error, loc=(), input=data) for error in found]
        try:
            handler(data)
        except ValidationError as error:
            raise ValidationError.from_exception_data(
                cls.__name__, _details(error) + extra
            ) from None
        raise ValidationError.from_exception_data(cls.__name__, extra)


def problem(
    field: str | None, expected: str, found: object, *, found_text: str | None = None
) -> PydanticCustomError:
    """An error naming the sub-field (None for the model itself), what was expected and found.

    ``found`` is shown as a value (strings quoted); ``found_text`` replaces it with a sentence.
    """
    return PydanticCustomError(
        "serinus",
        "expected {expected}, found {found}",
        {"field": field or "", "expected": expected, "found": found_text or describe(found)},
    )


def _details(error: ValidationError) -> list[InitErrorDetails]:
    """The errors of a ValidationError in the form that builds a new one."""
    details: list[InitErrorDetails] = []
    for item in error.errors():
        kind: str | PydanticCustomError = item["type"]
        if kind == "serinus":
            kind = PydanticCustomError(
                "serinus", "expected {expected}, found {found}", item.get("ctx")
            )
        details.append(
            InitErrorDetails(
                type=kind, loc=item["loc"], input=item["input"], ctx=item.get("ctx", {})
            )
        )
    return details


def is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


FOUND_LIMIT = 120
"""Characters of a found value an error quotes: a 50,000-item list is not echoed whole."""


def describe(value: object) -> str:
    """How a found value is shown in an error: strings quoted, None as 'nothing', at most
    :data:`FOUND_LIMIT` characters, credentials in URLs hidden."""
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return clean(repr(value[: FOUND_LIMIT * 4]), FOUND_LIMIT)
    text = str(value)
    if isinstance(value, list | dict) and len(text) > FOUND_LIMIT:
        kind = "items" if isinstance(value, list) else "keys"
        shown = redact(text[: FOUND_LIMIT * 4])[: FOUND_LIMIT // 2]
        return f"{shown}... ({len(value):,} {kind})"
    return clean(text, FOUND_LIMIT)


# Go's time.ParseDuration grammar, which Kubernetes uses for durations: "10s", "1m30s", "1.5h".
_DURATION = re.compile(r"^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in a Kubernetes duration such as ``1m30s``; ValueError when it is not one.

    Short texts are remembered: every tick of every Canary reads its interval, and few distinct
    durations are ever written (a long one, hostile or not, is parsed every time and not kept).
    """
    return _remembered_duration(text) if len(text) <= 32 else _duration(text)


@functools.lru_cache(maxsize=1024)
def _remembered_duration(text: str) -> float:
    return _duration(text)


def _duration(text: str) -> float:
    if text == "0":
        return 0.0
    if not _DURATION.match(text):
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))


def format_duration(seconds: float) -> str:
    """The shortest Kubernetes duration for whole seconds: 60 -> '1m', 90 -> '1m30s'."""
    whole = round(seconds)
    if whole != seconds or whole == 0:
        return f"{seconds:g}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts)


def format_time(moment: datetime.datetime) -> str:
    """``moment`` in UTC as the API writes times (RFC 3339 to the second: ``...T00:00:00Z``),
    as ``moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")`` writes it. The last second
    written is remembered: a tick stamps its status, history and Events with the same few."""
    second = math.floor(moment.timestamp())
    last = _LAST_TIME.second_and_text
    if second == last[0]:
        return last[1]
    text = moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _LAST_TIME.second_and_text = (second, text)  # one assignment: read whole or not at all
    return text


class _LastTime:
    second_and_text: tuple[float, str] = (math.nan, "")


_LAST_TIME = _LastTime()


def parse_time(text: str | None) -> datetime.datetime | None:
    """An RFC 3339 time as the API writes it (``2026-01-01T00:00:00Z``), timezone-aware; None
    when absent or unreadable."""
    if not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _check_duration(value: str) -> str:
    try:
        parse_duration(value)
    except ValueError:
        raise problem(None, "a Kubernetes duration such as 30s, 1m or 1h30m", value) from None
    return value


Duration = Annotated[
    str,
    AfterValidator(_check_duration),
    WithJsonSchema({"type": "string", "pattern": _DURATION.pattern}),
]
"""A Kubernetes duration string, kept as written and checked against Go's grammar."""

Percent = Annotated[int, Field(ge=0, le=100)]

IntOrString = Annotated[
    int | str,
    WithJsonSchema({"x-kubernetes-int-or-string": True}),
]


class ObjectMeta(ApiModel):
    """The part of Kubernetes object metadata serinus reads; everything else is kept as is."""

    model_config = ConfigDict(extra="allow")

    name: str = ""
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    finalizers: list[str] | None = None
