"""The webhook client against a real HTTP receiver on loopback.

Covers:
- every hook type sends Flagger's JSON (name, namespace, phase, checksum, metadata) as a POST
  with Content-Type application/json, with the phase the controller passes;
- the checksum a receiver sees changes when the revision (lastAppliedSpec, trackedConfigs) does;
- 200, 201 and 202 succeed; 203, 204, 4xx and 5xx raise WebhookRejectedError with the status and
  the body (cut to 256 characters) in the message;
- retries: 5xx answers and refused connections are retried up to ``retries`` times, 4xx are not;
- an unanswered request times out after the hook's timeout, a refused one says so, both name
  the URL;
- a URL that is not http(s) is an InvalidCanaryError;
- TLS: a self-signed receiver is refused unless the hook sets disableTLS;
- event hooks carry eventMessage, eventType and the clock's time in Unix milliseconds.
"""

from __future__ import annotations

import json
import socket

import pytest

from serinus.apis.analysis import CanaryWebhook
from serinus.apis.status import CanaryPhase
from serinus.errors import InvalidCanaryError, WebhookRejectedError, WebhookUnreachableError
from serinus.webhooks.client import WebhookClient


def hook(url: str, **fields) -> CanaryWebhook:
    return CanaryWebhook.model_validate({"name": "gate", "url": url, **fields})


@pytest.fixture
def webhooks(http, resources, clock):
    return WebhookClient(http, resources=resources, clock=clock, backoff=0.01)


PHASES_BY_TYPE = [
    ("confirm-rollout", CanaryPhase.WAITING),
    ("pre-rollout", CanaryPhase.PROGRESSING),
    ("rollout", CanaryPhase.PROGRESSING),
    ("confirm-traffic-increase", CanaryPhase.PROGRESSING),
    ("confirm-promotion", CanaryPhase.PROGRESSING),
    ("post-rollout", CanaryPhase.SUCCEEDED),
    ("post-rollout", CanaryPhase.FAILED),
    ("rollback", CanaryPhase.WAITING_PROMOTION),
]


@pytest.mark.parametrize(("hook_type", "phase"), PHASES_BY_TYPE)
async def test_each_hook_type_receives_flaggers_payload(
    webhooks, receiver, make_canary, hook_type, phase
):
    canary = make_canary(lastAppliedSpec="5f7b8b8c9d", trackedConfigs={})
    metadata = {"type": "cmd", "cmd": "curl -s http://podinfo-canary.test:9898/"}
    await webhooks.call(
        canary, hook(f"{receiver.url}/gate/check", type=hook_type, metadata=metadata), phase
    )
    [request] = receiver.received
    assert (request.method, request.path) == ("POST", "/gate/check")
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "name": "podinfo",
        "namespace": "test",
        "phase": phase.value,
        "checksum": "7f669bc7bd",
        "metadata": {"cmd": "curl -s http://podinfo-canary.test:9898/", "type": "cmd"},
    }
    assert "X-Serinus-Signature" not in request.headers


async def test_receiver_sees_a_new_checksum_for_a_new_revision(webhooks, receiver, make_canary):
    revisions = [
        make_canary(lastAppliedSpec="aaa", trackedConfigs={"configmap/cfg": "1"}),
        make_canary(lastAppliedSpec="aaa", trackedConfigs={"configmap/cfg": "1"}),
        make_canary(lastAppliedSpec="bbb", trackedConfigs={"configmap/cfg": "1"}),
        make_canary(lastAppliedSpec="bbb", trackedConfigs={"configmap/cfg": "2"}),
    ]
    for canary in revisions:
        await webhooks.call(canary, hook(receiver.url), CanaryPhase.PROGRESSING)
    sums = [json.loads(r.body)["checksum"] for r in receiver.received]
    assert sums[0] == sums[1]
    assert len({sums[1], sums[2], sums[3]}) == 3


@pytest.mark.parametrize("status", [200, 201, 202])
async def test_statuses_up_to_202_succeed(webhooks, receiver, make_canary, status):
    receiver.answer(status, "ok")
    await webhooks.call(make_canary(), hook(receiver.url), CanaryPhase.PROGRESSING)
    assert len(receiver.received) == 1


@pytest.mark.parametrize("status", [203, 204, 400, 403, 404, 500, 503])
async def test_other_statuses_fail_with_status_and_body(webhooks, receiver, make_canary, status):
    body = "" if status == 204 else f"gate closed by on-call ({status})"
    receiver.always(status, body)
    with pytest.raises(WebhookRejectedError) as caught:
        await webhooks.call(make_canary(), hook(receiver.url), CanaryPhase.PROGRESSING)
    assert caught.value.status == status
    assert caught.value.url == receiver.url
    assert f"HTTP {status}" in str(caught.value)
    assert (body or "(empty body)") in str(caught.value)


async def test_a_long_body_is_cut_to_256_characters(webhooks, receiver, make_canary):
    receiver.answer(403, "x" * 255 + "YZ" + "secret" * 100)
    with pytest.raises(WebhookRejectedError) as caught:
        await webhooks.call(make_canary(), hook(receiver.url), CanaryPhase.PROGRESSING)
    assert str(caught.value).endswith(": " + "x" * 255 + "Y")


async def test_server_errors_are_retried_until_success(webhooks, receiver, make_canary):
    receiver.answer(500, "warming up")
    receiver.answer(503, "still warming up")
    receiver.answer(200, "ok")
    await webhooks.call(make_canary(), hook(receiver.url, retries=2), CanaryPhase.PROGRESSING)
    assert len(receiver.received) == 3
    assert len({r.body for r in receiver.received}) == 1


async def test_retries_are_bounded(webhooks, receiver, make_canary):
    receiver.always(500, "down")
    with pytest.raises(WebhookRejectedError, match="HTTP 500: down"):
        await webhooks.call(make_canary(), hook(receiver.url, retries=1), CanaryPhase.PROGRESSING)
    assert len(receiver.received) == 2


async def test_without_retries_one_attempt_is_made(webhooks, receiver, make_canary):
    receiver.answer(500, "down")
    with pytest.raises(WebhookRejectedError):
        await webhooks.call(make_canary(), hook(receiver.url), CanaryPhase.PROGRESSING)
    assert len(receiver.received) == 1


async def test_client_errors_are_not_retried(webhooks, receiver, make_canary):
    receiver.always(403, "no")
    with pytest.raises(WebhookRejectedError):
        await webhooks.call(make_canary(), hook(receiver.url, retries=3), CanaryPhase.PROGRESSING)
    assert len(receiver.received) == 1


async def test_an_unanswered_call_times_out_naming_the_url(webhooks, receiver, make_canary):
    receiver.answer(200, "too late", delay=30)
    url = f"{receiver.url}/slow"
    with pytest.raises(WebhookUnreachableError) as caught:
        await webhooks.call(make_canary(), hook(url, timeout="1s"), CanaryPhase.PROGRESSING)
    assert str(caught.value) == f"{url} unreachable: no answer within 1s"
    assert caught.value.url == url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_refused_connection_names_the_url_and_the_cause(webhooks, make_canary):
    url = f"http://127.0.0.1:{free_port()}/gate"
    with pytest.raises(WebhookUnreachableError) as caught:
        await webhooks.call(make_canary(), hook(url, retries=2), CanaryPhase.PROGRESSING)
    assert str(caught.value) == f"{url} unreachable: connection refused"


async def test_a_url_that_is_not_http_is_a_canary_error(webhooks, make_canary):
    with pytest.raises(InvalidCanaryError, match="ftp://example/gate"):
        await webhooks.call(make_canary(), hook("ftp://example/gate"), CanaryPhase.PROGRESSING)


async def test_a_self_signed_receiver_is_refused_without_disable_tls(
    webhooks, tls_receiver, make_canary
):
    with pytest.raises(WebhookUnreachableError, match="certificate not trusted") as caught:
        await webhooks.call(make_canary(), hook(tls_receiver.url), CanaryPhase.PROGRESSING)
    assert "disableTLS" in str(caught.value)
    assert tls_receiver.received == []


async def test_disable_tls_skips_verification(webhooks, tls_receiver, make_canary):
    try:
        await webhooks.call(
            make_canary(), hook(tls_receiver.url, disableTLS=True), CanaryPhase.PROGRESSING
        )
    finally:
        await webhooks.aclose()
    assert len(tls_receiver.received) == 1


async def test_event_payload(webhooks, receiver, make_canary):
    canary = make_canary(phase="Progressing", lastAppliedSpec="5f7b8b8c9d")
    event_hook = hook(receiver.url, type="event", metadata={"env": "prod"})
    await webhooks.event(
        canary, event_hook, message="Halt podinfo.test advancement", event_type="Warning"
    )
    [request] = receiver.received
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "name": "podinfo",
        "namespace": "test",
        "phase": "Progressing",
        "checksum": "74c779d96f",
        "metadata": {
            "env": "prod",
            "eventMessage": "Halt podinfo.test advancement",
            "eventType": "Warning",
            "timestamp": "1714564800250",
        },
    }


async def test_event_failures_are_reported_like_calls(webhooks, receiver, make_canary):
    receiver.answer(502, "bad gateway")
    with pytest.raises(WebhookRejectedError, match="HTTP 502: bad gateway"):
        await webhooks.event(
            make_canary(), hook(receiver.url, type="event"), message="m", event_type="Normal"
        )
