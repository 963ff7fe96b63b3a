"""Discord: Slack's document on the webhook's ``/slack`` endpoint.

Covers:
- ``/slack`` is appended to the path once (kept when present, query kept, trailing slash folded);
- the document is Slack's, coloured good or danger.
"""

from __future__ import annotations

import pytest

from serinus.apis.analysis import Severity
from serinus.notifiers import discord
from serinus.notifiers.base import Alert, Destination


@pytest.mark.parametrize(
    ("address", "endpoint"),
    [
        ("https://discord.test/api/webhooks/1/tok", "https://discord.test/api/webhooks/1/tok/slack"),
        ("https://discord.test/api/webhooks/1/tok/", "https://discord.test/api/webhooks/1/tok/slack"),
        ("https://discord.test/api/webhooks/1/tok/slack", "https://discord.test/api/webhooks/1/tok/slack"),
        ("https://discord.test/api/webhooks/1/tok?wait=true", "https://discord.test/api/webhooks/1/tok/slack?wait=true"),
    ],
)  # fmt: skip
def test_slack_endpoint(address, endpoint):
    alert = Alert("podinfo", "test", "m", Severity.INFO)
    assert discord.render(alert, Destination(address)).url == endpoint


def test_slack_document_with_danger_for_errors():
    alert = Alert("podinfo", "test", "Rolling back", Severity.ERROR)
    payload = discord.render(alert, Destination("https://discord.test/x", channel="ops")).payload
    assert payload["channel"] == "ops"
    assert payload["attachments"][0]["color"] == "danger"
    assert payload["attachments"][0]["author_name"] == "podinfo.test"
    assert payload["attachments"][0]["text"] == "Rolling back"
