"""The generic alert webhook document.

Covers:
- canary, namespace, severity, message, fields as ordered {name, value}, cluster, and the time
  in RFC 3339 UTC (whole seconds, whatever the clock's zone);
- a token is sent as a bearer header.
"""

from __future__ import annotations

import datetime

from serinus.apis.analysis import Severity
from serinus.notifiers import webhook
from serinus.notifiers.base import Alert, Destination, Field


def test_generic_document():
    alert = Alert(
        canary="podinfo",
        namespace="test",
        message="Canary failed! Scaling down podinfo.test",
        severity=Severity.ERROR,
        fields=(Field("Cluster", "prod-eu"), Field("Target", "Deployment/podinfo.test")),
        cluster="prod-eu",
        timestamp=datetime.datetime(
            2024, 5, 1, 14, 0, 0, 999, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
        ),
    )
    outgoing = webhook.render(alert, Destination("http://incidents.test/hook", token="t0k"))
    assert outgoing.url == "http://incidents.test/hook"
    assert outgoing.headers == {"Authorization": "Bearer t0k"}
    assert outgoing.payload == {
        "canary": "podinfo",
        "namespace": "test",
        "severity": "error",
        "message": "Canary failed! Scaling down podinfo.test",
        "fields": [
            {"name": "Cluster", "value": "prod-eu"},
            {"name": "Target", "value": "Deployment/podinfo.test"},
        ],
        "cluster": "prod-eu",
        "timestamp": "2024-05-01T12:00:00Z",
    }


def test_without_token_no_authorization():
    alert = Alert("podinfo", "test", "m", Severity.INFO)
    assert webhook.render(alert, Destination("http://x.test/")).headers == {}
