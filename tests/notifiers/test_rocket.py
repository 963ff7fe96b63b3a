"""Rocket.Chat: Slack's document with Rocket.Chat's colours.

Covers:
- the address is used as is, with Slack's attachment document;
- colour #0076D7, or #FF0000 for an error.
"""

from __future__ import annotations

import pytest

from serinus.apis.analysis import Severity
from serinus.notifiers import rocket
from serinus.notifiers.base import Alert, Destination, Field

HOOK = "https://rocket.test/hooks/abc/def"


@pytest.mark.parametrize(
    ("severity", "color"),
    [(Severity.INFO, "#0076D7"), (Severity.WARN, "#0076D7"), (Severity.ERROR, "#FF0000")],
)
def test_rocket_document(severity, color):
    alert = Alert("podinfo", "test", "Promotion completed!", severity, (Field("Cluster", "eu"),))
    outgoing = rocket.render(alert, Destination(HOOK, channel="cd", username="bot"))
    assert outgoing.url == HOOK
    assert outgoing.payload["channel"] == "cd"
    assert outgoing.payload["username"] == "bot"
    assert outgoing.payload["attachments"] == [
        {
            "color": color,
            "author_name": "podinfo.test",
            "text": "Promotion completed!",
            "mrkdwn_in": ["text"],
            "fields": [{"title": "Cluster", "value": "eu", "short": False}],
        }
    ]
