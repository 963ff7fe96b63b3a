"""Issue 10, row 6: an event webhook with ``signingSecretRef`` naming any Secret of the namespace
(``db-creds/password``) had the operator sign bodies with the database password and send them
to an address the Canary's author chose: an offline guessing oracle for Secrets the author may
not read.

Through the real operator: Canary ``oracle`` has an event hook and a rollout hook, both signed
with ``db-creds`` (not labelled for signing), aimed at a receiver the test runs. The receiver
never gets a single request from them; the Canary gets a Promoted condition and a Warning event
saying the Secret is not labelled ``serinus.io/signing=true``, and the password appears nowhere.
Canary ``signed`` does the same with a Secret that carries the label: its event hook's requests
arrive signed with that key, so the label is all it takes.
"""

from __future__ import annotations

import base64
import pathlib

import pytest

from serinus import signing
from tests.hostile.cluster import canary, deployment, operated
from tests.operator.support import NS, eventually
from tests.support.receiver import serving

pytestmark = pytest.mark.slow  # starts the operator process

PASSWORD = "db-password-Zq81"
KEY = "a-real-signing-key"


def secret(name: str, data: dict[str, str], labels: dict[str, str] | None = None) -> dict:
    metadata: dict = {"name": name, "namespace": NS}
    if labels:
        metadata["labels"] = labels
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def hooked(name: str, url: str, secret_name: str, key: str) -> dict:
    manifest = canary(name)
    ref = {"name": secret_name, "key": key}
    manifest["spec"]["analysis"]["webhooks"] = [
        {"name": "tell", "type": "event", "url": f"{url}/{name}/event", "signingSecretRef": ref},
        {"name": "load", "type": "rollout", "url": f"{url}/{name}/load", "signingSecretRef": ref},
    ]
    return manifest


async def test_a_canary_cannot_have_the_operator_sign_with_any_secret(
    tmp_path: pathlib.Path,
) -> None:
    async with serving() as receiver, operated(tmp_path) as cluster:
        kube = cluster.kube
        await kube.create(secret("db-creds", {"password": PASSWORD}))
        await kube.create(secret("hook-key", {"key": KEY}, labels={"serinus.io/signing": "true"}))
        for name in ("oracle", "signed"):
            await kube.create(deployment(name))
        await kube.create(hooked("oracle", receiver.url, "db-creds", "password"))
        await kube.create(hooked("signed", receiver.url, "hook-key", "key"))

        await cluster.wait_condition("oracle", "serinus.io/signing=true")
        await cluster.wait_event("oracle", "Secret prod/db-creds is not labelled")
        await cluster.release("signed", "stefanprodan/podinfo:2.1.1")
        await eventually(
            lambda: _async(receiver.paths()),
            lambda paths: "/signed/event" in paths and "/signed/load" in paths,
            what="signed requests of Canary signed",
        )
        for request in receiver.received:
            assert request.path.startswith("/signed/"), request.path
            verified = signing.verify(
                request.body,
                request.headers,
                key=KEY.encode(),
                now=int(request.headers[signing.TIMESTAMP_HEADER]),
                path=request.path,
            )
            assert verified.url.endswith(request.path)
        assert PASSWORD not in await cluster.everything_said()
        assert "Traceback" not in cluster.log()


async def _async(value: list[str]) -> list[str]:
    return value
