"""Posting a rendered alert.

Covers:
- any 2xx is delivered; other statuses raise NotifierError with the provider, status and body;
- errors show the address's scheme, host and port, never its path (chat webhook URLs carry their
  credentials there);
- an address that is not http(s), or a proxy that is not a proxy URL, is an InvalidCanaryError.
"""

from __future__ import annotations

import pytest

from serinus.apis.analysis import Severity
from serinus.errors import InvalidCanaryError, NotifierError
from serinus.notifiers import slack
from serinus.notifiers.base import Destination
from serinus.notifiers.delivery import Sender, origin


async def send(sender, canary, address, proxy=None):
    await sender.send(
        canary,
        "m",
        severity=Severity.INFO,
        details=False,
        render=slack.render,
        destination=Destination(address, proxy=proxy),
        label="AlertProvider test/chat (slack)",
    )


@pytest.mark.parametrize("status", [200, 202, 204])
async def test_any_success_status_is_delivered(http, chat, make_canary, status):
    chat.fail("/hook", status, "")
    await send(Sender(http), make_canary(), f"{chat.url}/hook")
    assert chat.paths() == ["/hook"]


async def test_failure_names_provider_status_and_body_not_the_secret_path(http, chat, make_canary):
    chat.fail("/services/T0/B0/SECRET", 404, "no_team")
    with pytest.raises(NotifierError) as caught:
        await send(Sender(http), make_canary(), f"{chat.url}/services/T0/B0/SECRET")
    assert (
        str(caught.value)
        == f"AlertProvider test/chat (slack): {chat.url} answered HTTP 404: no_team"
    )


def test_origin_drops_path_and_user_info():
    assert origin("https://u:p@hooks.slack.test:8443/services/SECRET?x=1") == (
        "https://hooks.slack.test:8443"
    )


async def test_bad_address_and_bad_proxy(http, make_canary):
    with pytest.raises(InvalidCanaryError, match="expected an http:// or https:// address"):
        await send(Sender(http), make_canary(), "chat.test/hook")
    sender = Sender(http)
    with pytest.raises(InvalidCanaryError, match="proxy: expected"):
        await send(sender, make_canary(), "http://chat.test/hook", proxy="ftp://proxy.test")
