"""The AlertProvider resource: a chat channel or webhook that receives a Canary's alerts.

Flagger's types are slack, msteams, discord, rocket and gchat; serinus adds ``webhook``, a generic
JSON POST for anything else (an incident tool, a bot). The address may come from a Secret (key
``address``, optional ``token``), which keeps webhook URLs out of Git.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic_core import PydanticCustomError

from serinus.apis.analysis import SecretRef
from serinus.apis.base import ApiModel, CheckedModel, ObjectMeta, problem

ALERT_PROVIDER_TYPES = ("slack", "msteams", "discord", "rocket", "gchat", "webhook")


class AlertProviderSpec(CheckedModel):
    type: Literal["slack", "msteams", "discord", "rocket", "gchat", "webhook"]
    channel: str | None = None
    """Channel to post to; general when unset."""
    username: str | None = None
    """Name the messages are posted as; serinus when unset."""
    address: str | None = None
    """Webhook URL; may come from the Secret instead."""
    proxy: str | None = None
    """HTTP proxy for outgoing calls."""
    secret_ref: SecretRef | None = None
    """Secret with key address (and optional token)."""

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Iterator[PydanticCustomError]:
        if not raw.get("address") and not raw.get("secretRef"):
            yield problem("address", "an address, or a secretRef whose Secret has one", None)


class AlertProvider(ApiModel):
    """Where alerts are sent (flagger.app/v1beta1)."""

    api_version: Literal["flagger.app/v1beta1"] = "flagger.app/v1beta1"
    kind: Literal["AlertProvider"] = "AlertProvider"
    metadata: ObjectMeta
    spec: AlertProviderSpec
