"""Slack: an incoming-webhook message with one attachment, as Flagger posts it.

The attachment is coloured ``good``, or ``danger`` for an error, has the Canary as author
(``podinfo.test``), the message as Markdown text, and the alert's fields as long fields. With a
token (the AlertProvider Secret's ``token`` key) the same document is posted with
``Authorization: Bearer <token>``, to the address or, when there is none, to Slack's
``chat.postMessage``. Discord and Rocket.Chat accept the same document; their modules reuse
:func:`slack_document`.
"""

from __future__ import annotations

from serinus.apis.analysis import Severity
from serinus.apis.base import Manifest
from serinus.notifiers.base import Alert, Destination, Outgoing, bearer

POST_MESSAGE_URL = "https://slack.com/api/chat.postMessage"


def render(alert: Alert, destination: Destination) -> Outgoing:
    color = "danger" if alert.severity is Severity.ERROR else "good"
    url = destination.address or POST_MESSAGE_URL
    return Outgoing(
        url=url,
        payload=slack_document(alert, destination, color=color),
        headers=bearer(destination.token),
    )


def slack_document(alert: Alert, destination: Destination, *, color: str) -> Manifest:
    """Slack's message document with one attachment (also spoken by Discord and Rocket.Chat)."""
    return {
        "channel": destination.channel,
        "username": destination.username,
        "icon_url": "",
        "icon_emoji": ":rocket:",
        "attachments": [
            {
                "color": color,
                "author_name": alert.subject,
                "text": alert.message,
                "mrkdwn_in": ["text"],
                "fields": [
                    {"title": field.name, "value": field.value, "short": False}
                    for field in alert.fields
                ],
            }
        ],
    }
