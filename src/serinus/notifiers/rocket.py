"""Rocket.Chat: the Slack document on an incoming webhook, with Rocket.Chat's colours.

Rocket.Chat incoming webhooks take Slack's attachments; Flagger colours them ``#0076D7``, or
``#FF0000`` for an error, and so does :func:`render`.
"""

from __future__ import annotations

from serinus.apis.analysis import Severity
from serinus.notifiers.base import Alert, Destination, Outgoing
from serinus.notifiers.slack import slack_document


def render(alert: Alert, destination: Destination) -> Outgoing:
    color = "#FF0000" if alert.severity is Severity.ERROR else "#0076D7"
    return Outgoing(
        url=destination.address, payload=slack_document(alert, destination, color=color)
    )
