"""Microsoft Teams: a legacy ``MessageCard`` for an incoming webhook, as Flagger posts it.

One section whose title is the message and whose subtitle is the Canary (``podinfo.test``), with
the alert's fields as facts; the theme colour is ``0076D7``, or ``FF0000`` for an error. Teams
has no channel or user name in this format: the webhook decides both.
"""

from __future__ import annotations

from serinus.apis.analysis import Severity
from serinus.notifiers.base import Alert, Destination, Outgoing


def render(alert: Alert, destination: Destination) -> Outgoing:
    return Outgoing(
        url=destination.address,
        payload={
            "@type": "MessageCard",
            "@context": "http://schema.org/extensions",
            "themeColor": "FF0000" if alert.severity is Severity.ERROR else "0076D7",
            "summary": alert.subject,
            "sections": [
                {
                    "activityTitle": alert.message,
                    "activitySubtitle": alert.subject,
                    "facts": [{"name": f.name, "value": f.value} for f in alert.fields],
                }
            ],
        },
    )
