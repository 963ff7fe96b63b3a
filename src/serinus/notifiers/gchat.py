"""Google Chat: a card message for an incoming webhook, laid out as Flagger lays it out.

The card's header names the sender (the AlertProvider's user name) and the Canary; the first
section holds the message in grey bold, then one section per field (name, then value in grey
bold), using the small HTML subset Google Chat text paragraphs accept. Flagger also sets a header
image from its own site; serinus sends none.
"""

from __future__ import annotations

from serinus.apis.base import Manifest
from serinus.notifiers.base import Alert, Destination, Outgoing


def render(alert: Alert, destination: Destination) -> Outgoing:
    sections = [_paragraph(f"<font color=#848484><strong>{alert.message}</strong></font>")]
    sections += [
        _paragraph(f"{field.name}<br><font color=#848484><strong>{field.value}</strong></font>")
        for field in alert.fields
    ]
    header = {"title": destination.username, "subtitle": alert.subject}
    return Outgoing(
        url=destination.address,
        payload={"cards": [{"header": header, "sections": sections}]},
    )


def _paragraph(text: str) -> Manifest:
    return {"widgets": [{"textParagraph": {"text": text}}]}
