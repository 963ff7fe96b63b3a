"""Discord: the Slack document, posted to the webhook's Slack-compatible ``/slack`` endpoint.

Discord webhooks accept Slack's format when ``/slack`` is appended to their path; Flagger appends
it unless the address already ends with it, and so does :func:`render` (the query string, if any,
is kept). Colours are Slack's: ``good``, or ``danger`` for an error.
"""

from __future__ import annotations

import posixpath
import urllib.parse

from serinus.apis.analysis import Severity
from serinus.notifiers.base import Alert, Destination, Outgoing
from serinus.notifiers.slack import slack_document


def render(alert: Alert, destination: Destination) -> Outgoing:
    color = "danger" if alert.severity is Severity.ERROR else "good"
    return Outgoing(
        url=slack_endpoint(destination.address),
        payload=slack_document(alert, destination, color=color),
    )


def slack_endpoint(address: str) -> str:
    """The webhook address with ``/slack`` appended to its path, once."""
    parts = urllib.parse.urlsplit(address)
    if parts.path.endswith("/slack"):
        return address
    path = posixpath.normpath(posixpath.join(parts.path or "/", "slack"))
    return urllib.parse.urlunsplit(parts._replace(path=path))
