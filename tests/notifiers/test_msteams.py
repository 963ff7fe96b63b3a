"""Microsoft Teams' MessageCard, as Flagger posts it.

Covers:
- @type/@context, summary and subtitle ``name.namespace``, the message as the section title and
  the fields as facts;
- theme colour 0076D7, or FF0000 for an error.
"""

from __future__ import annotations

import pytest

from serinus.apis.analysis import Severity
from serinus.notifiers import msteams
from serinus.notifiers.base import Alert, Destination, Field

HOOK = "https://teams.test/webhookb2/abc"


def test_message_card():
    alert = Alert(
        "podinfo", "test", "Canary analysis failed.", Severity.WARN, (Field("Cluster", "eu"),)
    )
    outgoing = msteams.render(alert, Destination(HOOK))
    assert outgoing.url == HOOK
    assert outgoing.payload == {
        "@type": "MessageCard",
        "@context": "http://schema.org/extensions",
        "themeColor": "0076D7",
        "summary": "podinfo.test",
        "sections": [
            {
                "activityTitle": "Canary analysis failed.",
                "activitySubtitle": "podinfo.test",
                "facts": [{"name": "Cluster", "value": "eu"}],
            }
        ],
    }


@pytest.mark.parametrize(
    ("severity", "color"),
    [(Severity.INFO, "0076D7"), (Severity.WARN, "0076D7"), (Severity.ERROR, "FF0000")],
)
def test_theme_colour_by_severity(severity, color):
    outgoing = msteams.render(Alert("podinfo", "test", "m", severity), Destination(HOOK))
    assert outgoing.payload["themeColor"] == color
