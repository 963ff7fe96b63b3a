"""Google Chat's card, laid out as Flagger lays it out.

Covers:
- header with the sender's name and ``name.namespace``;
- the message in grey bold first, then one section per field (name, then value in grey bold).
"""

from __future__ import annotations

from serinus.apis.analysis import Severity
from serinus.notifiers import gchat
from serinus.notifiers.base import Alert, Destination, Field


def test_card():
    alert = Alert(
        "podinfo",
        "test",
        "Canary analysis completed successfully.",
        Severity.INFO,
        (Field("Target", "Deployment/podinfo.test"),),
    )
    outgoing = gchat.render(alert, Destination("https://chat.test/v1/spaces/X/messages?key=k"))
    assert outgoing.url == "https://chat.test/v1/spaces/X/messages?key=k"
    assert outgoing.payload == {
        "cards": [
            {
                "header": {"title": "serinus", "subtitle": "podinfo.test"},
                "sections": [
                    {
                        "widgets": [
                            {
                                "textParagraph": {
                                    "text": "<font color=#848484><strong>"
                                    "Canary analysis completed successfully.</strong></font>"
                                }
                            }
                        ]
                    },
                    {
                        "widgets": [
                            {
                                "textParagraph": {
                                    "text": "Target<br><font color=#848484><strong>"
                                    "Deployment/podinfo.test</strong></font>"
                                }
                            }
                        ]
                    },
                ],
            }
        ]
    }
