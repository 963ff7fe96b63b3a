"""Slack's message document, as Flagger posts it.

Covers:
- channel, user name, the rocket emoji and one attachment: author ``name.namespace``, Markdown
  text, every field as a long field, colour good for info and warn, danger for error;
- a token is sent as a bearer header, and with a token alone the message goes to chat.postMessage.
"""

from __future__ import annotations

import datetime

import pytest

from serinus.apis.analysis import Severity
from serinus.notifiers import slack
from serinus.notifiers.base import Alert, Destination, Field

ALERT = Alert(
    canary="podinfo",
    namespace="test",
    message="New revision detected, progressing canary analysis.",
    severity=Severity.INFO,
    fields=(Field("Target", "Deployment/podinfo.test"), Field("Failed checks threshold", "5")),
    timestamp=datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC),
)
HOOK = "https://hooks.slack.test/services/T000/B000/XXXX"


def test_slack_document():
    outgoing = slack.render(ALERT, Destination(HOOK, channel="deploys", username="serinus"))
    assert outgoing.url == HOOK
    assert outgoing.headers == {}
    assert outgoing.payload == {
        "channel": "deploys",
        "username": "serinus",
        "icon_url": "",
        "icon_emoji": ":rocket:",
        "attachments": [
            {
                "color": "good",
                "author_name": "podinfo.test",
                "text": "New revision detected, progressing canary analysis.",
                "mrkdwn_in": ["text"],
                "fields": [
                    {"title": "Target", "value": "Deployment/podinfo.test", "short": False},
                    {"title": "Failed checks threshold", "value": "5", "short": False},
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    ("severity", "color"),
    [(Severity.INFO, "good"), (Severity.WARN, "good"), (Severity.ERROR, "danger")],
)
def test_colour_by_severity(severity, color):
    alert = Alert("podinfo", "test", "m", severity)
    [attachment] = slack.render(alert, Destination(HOOK)).payload["attachments"]
    assert attachment["color"] == color


def test_a_token_is_a_bearer_header_and_may_stand_alone():
    outgoing = slack.render(ALERT, Destination("", token="xoxb-1"))
    assert outgoing.url == "https://slack.com/api/chat.postMessage"
    assert outgoing.headers == {"Authorization": "Bearer xoxb-1"}
