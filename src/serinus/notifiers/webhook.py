"""The generic alert webhook: one plain JSON document, for anything that is not a chat service.

serinus adds this AlertProvider type (Flagger has none; its generic path is the ``event`` hook):
an incident tool or a bot gets the Canary, the severity, the message, the fields as a list of
``{name, value}`` in display order, the operator's cluster name and the time (RFC 3339, UTC). A
token from the AlertProvider's Secret is sent as ``Authorization: Bearer``. The shape is
documented in ``docs/webhooks.md``.
"""

from __future__ import annotations

import datetime

from serinus.notifiers.base import Alert, Destination, Outgoing, bearer


def render(alert: Alert, destination: Destination) -> Outgoing:
    timestamp = alert.timestamp.astimezone(datetime.UTC).replace(microsecond=0)
    return Outgoing(
        url=destination.address,
        payload={
            "canary": alert.canary,
            "namespace": alert.namespace,
            "severity": alert.severity.value,
            "message": alert.message,
            "fields": [{"name": f.name, "value": f.value} for f in alert.fields],
            "cluster": alert.cluster,
            "timestamp": timestamp.isoformat().replace("+00:00", "Z"),
        },
        headers=bearer(destination.token),
    )
