"""The operator's notifier against a real chat service on loopback.

Covers:
- severity routing across several AlertProviders of different types and severities;
- each provider posts its own document to its own address; details add the Canary's fields and
  the operator's cluster name is shown on every alert;
- an address and token taken from the AlertProvider's Secret;
- the global notifier (Slack flags, Teams flags winning over Slack) for Canaries without alerts,
  and nothing at all when no global notifier is configured;
- a proxy from the AlertProvider is used;
- a failing provider does not stop the others; failures name the provider and the status; an
  unreachable service and an unknown provider type are reported.
"""

from __future__ import annotations

import socket

import pytest

from serinus.apis.alert_provider import AlertProvider, AlertProviderSpec
from serinus.apis.analysis import Severity
from serinus.errors import NotifierError, UnknownProviderError
from serinus.notifiers.nop import NullNotifier
from serinus.notifiers.notifier import AlertNotifier, ChannelNotifier

ALERTS = [
    {"name": "all", "severity": "info", "providerRef": {"name": "everything"}},
    {"name": "on-call", "severity": "warn", "providerRef": {"name": "warnings"}},
    {"name": "pager", "severity": "error", "providerRef": {"name": "errors"}},
]


@pytest.fixture
def notifier(http, resources, clock):
    return AlertNotifier(http, resources=resources, clock=clock, cluster_name="prod-eu")


@pytest.fixture
def three_providers(resources, chat):
    resources.add_provider("everything", type="slack", address=f"{chat.url}/slack")
    resources.add_provider("warnings", type="msteams", address=f"{chat.url}/teams")
    resources.add_provider("errors", type="discord", address=f"{chat.url}/discord")


@pytest.mark.parametrize(
    ("severity", "paths"),
    [
        (Severity.INFO, ["/slack"]),
        (Severity.WARN, ["/slack", "/teams"]),
        (Severity.ERROR, ["/slack", "/teams", "/discord/slack"]),
    ],
)
async def test_severity_routing(notifier, chat, make_canary, three_providers, severity, paths):
    await notifier.alert(make_canary(alerts=ALERTS), "Canary analysis failed", severity=severity)
    assert chat.paths() == paths


async def test_each_provider_gets_its_own_document(notifier, chat, make_canary, three_providers):
    await notifier.alert(
        make_canary(alerts=ALERTS), "Rolling back", severity=Severity.ERROR, details=True
    )
    slack_doc, teams_doc, discord_doc = (r.payload for r in chat.received)
    assert slack_doc["attachments"][0]["color"] == "danger"
    assert slack_doc["attachments"][0]["author_name"] == "podinfo.test"
    assert [f["title"] for f in slack_doc["attachments"][0]["fields"]] == [
        "Cluster",
        "Target",
        "Failed checks threshold",
        "Progress deadline",
        "Traffic routing",
    ]
    assert teams_doc["@type"] == "MessageCard"
    assert teams_doc["themeColor"] == "FF0000"
    assert teams_doc["sections"][0]["facts"][0] == {"name": "Cluster", "value": "prod-eu"}
    assert discord_doc["attachments"][0]["text"] == "Rolling back"
    assert all(r.headers["Content-Type"] == "application/json" for r in chat.received)


async def test_address_and_token_from_the_secret(notifier, resources, chat, make_canary):
    resources.add_provider("hooks", namespace="shared", type="webhook", secretRef={"name": "h"})
    resources.secrets[("shared", "h")] = {"address": f"{chat.url}/incident", "token": "s3cr3t"}
    alerts = [{"name": "incidents", "providerRef": {"name": "hooks", "namespace": "shared"}}]
    await notifier.alert(make_canary(alerts=alerts), "Canary failed!", severity=Severity.WARN)
    [request] = chat.received
    assert request.path == "/incident"
    assert request.headers["Authorization"] == "Bearer s3cr3t"
    assert request.payload == {
        "canary": "podinfo",
        "namespace": "test",
        "severity": "warn",
        "message": "Canary failed!",
        "fields": [{"name": "Cluster", "value": "prod-eu"}],
        "cluster": "prod-eu",
        "timestamp": "2024-05-01T12:00:00Z",
    }


async def test_global_slack_for_canaries_without_alerts(http, resources, chat, make_canary):
    notifier = AlertNotifier(
        http,
        resources=resources,
        slack_url=f"{chat.url}/services/global",
        slack_channel="deploys",
        slack_user="flagger",
    )
    assert isinstance(notifier.fallback, ChannelNotifier)
    await notifier.alert(make_canary(), "Promotion completed!", severity=Severity.INFO)
    [request] = chat.received
    assert request.path == "/services/global"
    assert (request.payload["channel"], request.payload["username"]) == ("deploys", "flagger")
    assert request.payload["attachments"][0]["fields"] == []


async def test_global_teams_wins_over_slack(http, resources, chat, make_canary):
    notifier = AlertNotifier(
        http,
        resources=resources,
        slack_url=f"{chat.url}/slack",
        msteams_url=f"{chat.url}/teams",
    )
    await notifier.alert(make_canary(), "m", severity=Severity.ERROR)
    assert chat.paths() == ["/teams"]
    assert chat.received[0].payload["themeColor"] == "FF0000"


async def test_alerts_of_a_canary_replace_the_global_notifier(
    http, resources, chat, make_canary, three_providers
):
    notifier = AlertNotifier(http, resources=resources, slack_url=f"{chat.url}/global")
    await notifier.alert(make_canary(alerts=ALERTS), "m", severity=Severity.INFO)
    assert chat.paths() == ["/slack"]


async def test_without_any_configuration_nothing_is_sent(http, resources, chat, make_canary):
    notifier = AlertNotifier(http, resources=resources)
    assert isinstance(notifier.fallback, NullNotifier)
    await notifier.alert(make_canary(), "m", severity=Severity.ERROR, details=True)
    assert chat.received == []


async def test_the_providers_proxy_is_used(notifier, resources, proxy, make_canary):
    resources.add_provider(
        "chat", type="rocket", address="http://rocket.invalid/hooks/abc", proxy=proxy.url
    )
    try:
        await notifier.alert(
            make_canary(alerts=[{"name": "a", "providerRef": {"name": "chat"}}]),
            "m",
            severity=Severity.INFO,
        )
    finally:
        await notifier.aclose()
    [request] = proxy.received
    assert request.headers["Host"] == "rocket.invalid"
    assert request.url == "http://rocket.invalid/hooks/abc"
    assert request.payload["attachments"][0]["color"] == "#0076D7"


async def test_one_failure_does_not_stop_the_others(notifier, chat, make_canary, three_providers):
    chat.fail("/teams", 500, "Microsoft Teams endpoint returned HTTP error 500")
    with pytest.raises(NotifierError) as caught:
        await notifier.alert(make_canary(alerts=ALERTS), "m", severity=Severity.ERROR)
    assert chat.paths() == ["/slack", "/teams", "/discord/slack"]
    assert str(caught.value) == (
        f"AlertProvider test/warnings (msteams): {chat.url} answered HTTP 500: "
        "Microsoft Teams endpoint returned HTTP error 500"
    )


async def test_several_failures_are_joined(notifier, chat, make_canary, three_providers):
    chat.fail("/slack", 403, "invalid_token")
    chat.fail("/discord/slack", 404, "Unknown Webhook")
    with pytest.raises(NotifierError) as caught:
        await notifier.alert(make_canary(alerts=ALERTS), "m", severity=Severity.ERROR)
    text = str(caught.value)
    assert text.startswith("2 alert providers failed: AlertProvider test/everything (slack)")
    assert "HTTP 403: invalid_token" in text
    assert "AlertProvider test/errors (discord)" in text
    assert "HTTP 404: Unknown Webhook" in text


async def test_an_unreachable_service(notifier, resources, make_canary):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    resources.add_provider("chat", type="gchat", address=f"http://127.0.0.1:{port}/v1/spaces/x")
    with pytest.raises(NotifierError, match=rf"\(gchat\): http://127.0.0.1:{port} unreachable"):
        await notifier.alert(
            make_canary(alerts=[{"name": "a", "providerRef": {"name": "chat"}}]),
            "m",
            severity=Severity.INFO,
        )


async def test_an_unknown_provider_type(notifier, resources, chat, make_canary):
    # As a newer CRD could store it: the model would refuse the type, so it is built unchecked.
    spec = AlertProviderSpec.model_construct(type="pagerduty", address=f"{chat.url}/pd")
    resources.providers[("test", "pd")] = AlertProvider.model_construct(
        metadata={"name": "pd"}, spec=spec
    )
    with pytest.raises(UnknownProviderError, match="alert provider type pagerduty"):
        await notifier.alert(
            make_canary(alerts=[{"name": "a", "providerRef": {"name": "pd"}}]),
            "m",
            severity=Severity.INFO,
        )
    assert chat.received == []
