"""HMAC signing of webhook requests, checked the way a receiver would check it.

Covers:
- a hook with signingSecretRef sends X-Serinus-Timestamp, X-Serinus-Webhook-Type,
  X-Serinus-Webhook-URL and X-Serinus-Signature, and a receiver holding the shared key verifies
  the exact bytes it received with an independent HMAC over timestamp, type, URL and body;
- a tampered body, timestamp, type or URL fails: a request signed for one hook of a Canary cannot
  be replayed to another of its hooks (issue 10, row 14);
- userinfo in the hook URL is neither signed nor sent in the URL header;
- the Secret key defaults to ``key`` and can be named; every retry is signed;
- a missing Secret or key is an InvalidCanaryError naming the Secret and the key; nothing is sent;
- a Secret without the label ``serinus.io/signing: "true"`` is never used as a key (issue 10,
  row 6): InvalidCanaryError naming the label; nothing is sent;
- the receiver example in docs/webhooks.md accepts serinus's requests and refuses a wrong key, a
  request signed for another URL, and a stale one.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from aiohttp import web
from tests.support import loopback

from serinus.apis.analysis import CanaryWebhook
from serinus.apis.status import CanaryPhase
from serinus.errors import InvalidCanaryError, WebhookRejectedError
from serinus.webhooks.client import WebhookClient


def receiver_accepts(key: bytes, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does: recompute the HMAC independently, compare in constant time."""
    material = (
        f"{headers['X-Serinus-Timestamp']}\n{headers['X-Serinus-Webhook-Type']}\n"
        f"{headers['X-Serinus-Webhook-URL']}\n"
    ).encode() + body
    expected = "sha256=" + hmac.new(key, material, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Serinus-Signature"])


def signed_hook(url: str, hook_type: str = "confirm-promotion", **ref) -> CanaryWebhook:
    return CanaryWebhook.model_validate(
        {
            "name": "signed",
            "type": hook_type,
            "url": url,
            "signingSecretRef": {"name": "hook-key", **ref},
        }
    )


@pytest.fixture
def webhooks(http, resources, clock):
    resources.signing.add(("test", "hook-key"))  # labelled serinus.io/signing: "true"
    return WebhookClient(http, resources=resources, clock=clock, backoff=0.01)


async def test_receiver_verifies_the_signature_with_the_shared_key(
    webhooks, resources, receiver, make_canary
):
    resources.secrets[("test", "hook-key")] = {"key": "s3cr3t"}
    await webhooks.call(make_canary(), signed_hook(receiver.url), CanaryPhase.PROGRESSING)
    [request] = receiver.received
    assert request.headers["X-Serinus-Timestamp"] == "1714564800"
    assert request.headers["X-Serinus-Webhook-Type"] == "confirm-promotion"
    assert request.headers["X-Serinus-Webhook-URL"] == receiver.url
    assert request.headers["X-Serinus-Signature"].startswith("sha256=")
    assert receiver_accepts(b"s3cr3t", request.headers, request.body)
    assert not receiver_accepts(b"other", request.headers, request.body)


async def test_a_tampered_request_fails_verification(webhooks, resources, receiver, make_canary):
    resources.secrets[("test", "hook-key")] = {"key": "s3cr3t"}
    await webhooks.call(make_canary(), signed_hook(receiver.url), CanaryPhase.PROGRESSING)
    [request] = receiver.received
    tampered = request.body.replace(b'"Progressing"', b'"Succeeded"')
    assert tampered != request.body
    assert not receiver_accepts(b"s3cr3t", request.headers, tampered)
    replayed = dict(request.headers, **{"X-Serinus-Timestamp": "1714564999"})
    assert not receiver_accepts(b"s3cr3t", replayed, request.body)


async def test_a_request_signed_for_one_hook_fails_as_another(
    webhooks, resources, receiver, make_canary
):
    resources.secrets[("test", "hook-key")] = {"key": "s3cr3t"}
    await webhooks.call(
        make_canary(), signed_hook(receiver.url + "/gate/check", "rollout"), CanaryPhase.PROGRESSING
    )
    [request] = receiver.received
    as_rollback = dict(request.headers, **{"X-Serinus-Webhook-Type": "rollback"})
    elsewhere = dict(request.headers, **{"X-Serinus-Webhook-URL": receiver.url + "/rollback/check"})
    assert receiver_accepts(b"s3cr3t", request.headers, request.body)
    assert not receiver_accepts(b"s3cr3t", as_rollback, request.body)
    assert not receiver_accepts(b"s3cr3t", elsewhere, request.body)


async def test_userinfo_is_neither_signed_nor_repeated(webhooks, resources, receiver, make_canary):
    resources.secrets[("test", "hook-key")] = {"key": "s3cr3t"}
    with_password = receiver.url.replace("http://", "http://user:hunter2@")
    await webhooks.call(make_canary(), signed_hook(with_password), CanaryPhase.PROGRESSING)
    [request] = receiver.received
    assert request.headers["X-Serinus-Webhook-URL"] == receiver.url
    assert "hunter2" not in request.headers["X-Serinus-Webhook-URL"]
    assert receiver_accepts(b"s3cr3t", request.headers, request.body)


async def test_a_named_key_signs_every_retry(webhooks, resources, receiver, make_canary):
    resources.secrets[("test", "hook-key")] = {"hmac": "k2", "key": "unused"}
    receiver.answer(503, "busy")
    receiver.answer(200, "ok")
    hook = signed_hook(receiver.url, key="hmac")
    hook.retries = 1
    await webhooks.call(make_canary(), hook, CanaryPhase.PROGRESSING)
    assert len(receiver.received) == 2
    for request in receiver.received:
        assert receiver_accepts(b"k2", request.headers, request.body)


async def test_missing_secret_names_secret_and_key(webhooks, receiver, make_canary):
    with pytest.raises(InvalidCanaryError) as caught:
        await webhooks.call(make_canary(), signed_hook(receiver.url), CanaryPhase.PROGRESSING)
    assert "Secret test/hook-key (key key) not found" in str(caught.value)
    assert "webhook signed" in str(caught.value)
    assert receiver.received == []


async def test_missing_key_names_secret_and_key(webhooks, resources, receiver, make_canary):
    resources.secrets[("test", "hook-key")] = {"token": "x"}
    with pytest.raises(InvalidCanaryError) as caught:
        await webhooks.call(
            make_canary(), signed_hook(receiver.url, key="hmac"), CanaryPhase.PROGRESSING
        )
    assert "Secret test/hook-key has no key 'hmac' (keys: token)" in str(caught.value)
    assert receiver.received == []


async def test_a_secret_not_labelled_for_signing_is_never_used(
    webhooks, resources, receiver, make_canary
):
    resources.secrets[("test", "db-creds")] = {"password": "hunter2"}
    hook = CanaryWebhook.model_validate(
        {
            "name": "oracle",
            "type": "event",
            "url": receiver.url,
            "signingSecretRef": {"name": "db-creds", "key": "password"},
        }
    )
    with pytest.raises(InvalidCanaryError) as caught:
        await webhooks.call(make_canary(), hook, CanaryPhase.PROGRESSING)
    assert str(caught.value) == (
        "webhook oracle: signingSecretRef: Secret test/db-creds is not labelled "
        "serinus.io/signing=true; serinus signs only with Secrets made for it (label the Secret "
        "if its value is a signing key)"
    )
    assert receiver.received == []


def documented_receiver() -> dict:
    """Run the Python receiver shown in docs/webhooks.md and return its names."""
    text = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    names: dict = {}
    exec(compile(code, "docs/webhooks.md", "exec"), names)
    return names


async def test_the_documented_receiver_accepts_serinus_and_rejects_others(
    http, resources, make_canary, clock
):
    names = documented_receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", names["gate"])
    runner, base = await loopback.start(app)
    url = f"{base}/approve"
    names["URL"] = url  # the receiver knows the URL its hooks call
    webhooks = WebhookClient(http, resources=resources)  # the real clock: the receiver checks it
    resources.signing.add(("test", "hook-key"))
    try:
        resources.secrets[("test", "hook-key")] = {"key": names["KEY"].decode()}
        await webhooks.call(make_canary(), signed_hook(url), CanaryPhase.PROGRESSING)
        with pytest.raises(WebhookRejectedError, match="HTTP 401: bad signature"):
            await webhooks.call(make_canary(), signed_hook(url + "/other"), CanaryPhase.PROGRESSING)
        stale = WebhookClient(http, resources=resources, clock=clock)  # a day-old clock
        with pytest.raises(WebhookRejectedError, match="HTTP 401: bad signature"):
            await stale.call(make_canary(), signed_hook(url), CanaryPhase.PROGRESSING)
        resources.secrets[("test", "hook-key")] = {"key": "a key the receiver does not know"}
        with pytest.raises(WebhookRejectedError, match="HTTP 401: bad signature"):
            await webhooks.call(make_canary(), signed_hook(url), CanaryPhase.PROGRESSING)
    finally:
        await runner.cleanup()
