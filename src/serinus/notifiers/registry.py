"""The AlertProvider types serinus can post to, by name: an explicit table, no fallback.

A type missing from :data:`FORMATS` raises :class:`~serinus.errors.UnknownProviderError` rather
than quietly posting Slack's format somewhere (the AlertProvider model already limits the type,
so this guards the operator's own wiring and future types). Adding a provider is one module and
one line here.
"""

from __future__ import annotations

from serinus.errors import UnknownProviderError
from serinus.notifiers import discord, gchat, msteams, rocket, slack, webhook
from serinus.notifiers.base import Format

FORMATS: dict[str, Format] = {
    "slack": slack.render,
    "msteams": msteams.render,
    "discord": discord.render,
    "rocket": rocket.render,
    "gchat": gchat.render,
    "webhook": webhook.render,
}


def format_for(provider_type: str) -> Format:
    """The format of an AlertProvider type; UnknownProviderError when serinus has none."""
    try:
        return FORMATS[provider_type]
    except KeyError:
        raise UnknownProviderError("alert provider type", provider_type) from None
