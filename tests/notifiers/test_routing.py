"""Severity routing and AlertProvider lookup.

Covers:
- info receives everything, warn receives warn and error, error only error (unset means info);
- the provider is read from providerRef.namespace, else the Canary's namespace;
- spec.address, replaced by the Secret's address; the Secret's token; channel, user name and proxy;
- a missing AlertProvider, Secret or address is an InvalidCanaryError naming it.
"""

from __future__ import annotations

import pytest

from serinus.apis.analysis import CanaryAlert, Severity
from serinus.errors import InvalidCanaryError
from serinus.notifiers import gchat, slack
from serinus.notifiers.base import Destination
from serinus.notifiers.routing import admits, resolve

INFO, WARN, ERROR = Severity.INFO, Severity.WARN, Severity.ERROR


@pytest.mark.parametrize(
    ("subscribed", "received"),
    [
        (None, {INFO, WARN, ERROR}),
        (INFO, {INFO, WARN, ERROR}),
        (WARN, {WARN, ERROR}),
        (ERROR, {ERROR}),
    ],
)
def test_admits(subscribed, received):
    assert {s for s in (INFO, WARN, ERROR) if admits(subscribed, s)} == received


def entry(name: str, **ref) -> CanaryAlert:
    return CanaryAlert.model_validate({"name": "team", "providerRef": {"name": name, **ref}})


async def test_address_from_spec(resources, make_canary):
    resources.add_provider(
        "chat", type="slack", address="http://chat.test/a", channel="ops", proxy="http://p:3128"
    )
    route = await resolve(resources, make_canary(), entry("chat"))
    assert route.render is slack.render
    assert route.destination == Destination(
        "http://chat.test/a", channel="ops", username="serinus", proxy="http://p:3128"
    )
    assert route.label == "AlertProvider test/chat (slack)"


async def test_address_and_token_from_secret_in_the_providers_namespace(resources, make_canary):
    resources.add_provider(
        "chat", namespace="shared", type="gchat", address="http://old.test", secretRef={"name": "s"}
    )
    resources.secrets[("shared", "s")] = {"address": "http://new.test/x", "token": "t"}
    route = await resolve(resources, make_canary(), entry("chat", namespace="shared"))
    assert route.render is gchat.render
    assert (route.destination.address, route.destination.token) == ("http://new.test/x", "t")


async def test_slack_token_alone_is_enough(resources, make_canary):
    resources.add_provider("chat", type="slack", secretRef={"name": "s"})
    resources.secrets[("test", "s")] = {"token": "xoxb"}
    route = await resolve(resources, make_canary(), entry("chat"))
    assert (route.destination.address, route.destination.token) == ("", "xoxb")


async def test_missing_provider(resources, make_canary):
    with pytest.raises(InvalidCanaryError, match="AlertProvider test/nope not found"):
        await resolve(resources, make_canary(), entry("nope"))


async def test_missing_secret(resources, make_canary):
    resources.add_provider("chat", type="msteams", secretRef={"name": "teams-url"})
    with pytest.raises(InvalidCanaryError, match="Secret test/teams-url not found"):
        await resolve(resources, make_canary(), entry("chat"))


async def test_secret_without_address(resources, make_canary):
    resources.add_provider("chat", type="msteams", secretRef={"name": "teams-url"})
    resources.secrets[("test", "teams-url")] = {"token": "x"}
    with pytest.raises(InvalidCanaryError, match="has no key 'address'"):
        await resolve(resources, make_canary(), entry("chat"))
