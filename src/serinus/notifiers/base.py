"""The contract of an alert format, and the values it works with.

Every chat provider is a small module with one function, :data:`Format`: it turns an
:class:`Alert` (what happened to which Canary) and a :class:`Destination` (where it goes: address,
channel, user name, token) into an :class:`Outgoing` request (URL, JSON document, headers).
Formats are pure, so each provider's payload is tested without a network, and sending lives in
one place (:mod:`serinus.notifiers.delivery`). :mod:`serinus.notifiers.registry` maps the
AlertProvider ``type`` to its format and refuses a type it does not know.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Protocol

from serinus.apis.analysis import Severity
from serinus.apis.base import Manifest

DEFAULT_CHANNEL = "general"
"""Channel of an AlertProvider that names none (as Flagger)."""
DEFAULT_USERNAME = "serinus"
"""Name the messages are posted as when the AlertProvider names none."""


@dataclasses.dataclass(frozen=True)
class Field:
    """One labelled fact shown under the message (Target, Failed checks threshold, ...)."""

    name: str
    value: str


@dataclasses.dataclass(frozen=True)
class Alert:
    """An alert about one Canary, independent of where it is sent."""

    canary: str
    namespace: str
    message: str
    severity: Severity
    fields: tuple[Field, ...] = ()
    cluster: str = ""
    timestamp: datetime.datetime = dataclasses.field(
        default_factory=lambda: datetime.datetime.now(tz=datetime.UTC)
    )

    @property
    def subject(self) -> str:
        """``name.namespace``, the heading of every chat message."""
        return f"{self.canary}.{self.namespace}"


@dataclasses.dataclass(frozen=True)
class Destination:
    """Where an alert goes, resolved from an AlertProvider (or the operator's flags)."""

    address: str
    channel: str = DEFAULT_CHANNEL
    username: str = DEFAULT_USERNAME
    token: str | None = None
    proxy: str | None = None


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """The HTTP request that delivers an alert: a JSON POST."""

    url: str
    payload: Manifest
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


class Format(Protocol):
    """Renders an alert for one kind of provider. Pure: no I/O, same input, same request."""

    def __call__(self, alert: Alert, destination: Destination) -> Outgoing: ...


def bearer(token: str | None) -> dict[str, str]:
    """The Authorization header for a token, or no header."""
    return {"Authorization": f"Bearer {token}"} if token else {}
