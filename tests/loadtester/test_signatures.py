"""``--signing-secret``: the load tester serves only requests serinus signed, for the URL they hit.

Requests are made by the operator's real webhook client (:class:`WebhookClient` with a hook's
``signingSecretRef``), so both sides of :mod:`serinus.signing` meet over HTTP.

Covers:
- a signed ``rollout`` hook runs its command; the same hook unsigned, signed with another key, or
  signed a day ago (a stale clock) gets 401 naming the problem, and nothing runs;
- a request signed for ``/gate/check`` and replayed, headers and body unchanged, to
  ``/rollback/open`` is refused: the rollback gate stays closed;
- the manual gate opening shown in docs/security.md signs as the load tester expects;
- ``/gate/approve`` and ``/gate/halt`` read nothing and answer unsigned calls as before; the
  probes need no signature.
"""

from __future__ import annotations

import asyncio
import datetime
import pathlib
from collections.abc import AsyncIterator

import httpx
import pytest

from serinus.apis.analysis import CanaryWebhook
from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase
from serinus.errors import NotFoundError, WebhookRejectedError
from serinus.loadtester.app import API_KEY
from serinus.loadtester.gates import Gate
from serinus.webhooks.client import WebhookClient

KEY = "load-tester-signing-key"


class Secrets:
    """The Secrets port, holding one signing Secret."""

    def __init__(self, value: str) -> None:
        self.value = value

    async def signing_secret(self, namespace: str, name: str) -> dict[str, str]:
        if (namespace, name) != ("test", "loadtester-signing"):
            raise NotFoundError(f"Secret {namespace}/{name} not found")
        return {"key": self.value}

    async def metric_template(self, namespace: str, name: str) -> object:
        raise NotFoundError("none")

    async def alert_provider(self, namespace: str, name: str) -> object:
        raise NotFoundError("none")


class DayOld:
    def now(self) -> datetime.datetime:
        return datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(days=1)


CANARY = Canary.model_validate(
    {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": "test"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898},
            "analysis": {"interval": "1m", "threshold": 5, "stepWeight": 10, "maxWeight": 50},
        },
    }
)


def hook(url: str, hook_type: str, *, signed: bool = True, **metadata: str) -> CanaryWebhook:
    document: dict[str, object] = {"name": "h", "type": hook_type, "url": url}
    if metadata:
        document["metadata"] = metadata
    if signed:
        document["signingSecretRef"] = {"name": "loadtester-signing"}
    return CanaryWebhook.model_validate(document)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def signed_tester(loadtester_factory):
    return await loadtester_factory(signing_key=KEY.encode())


async def test_only_a_fresh_request_signed_with_the_key_runs(
    signed_tester, http, tmp_path: pathlib.Path
):
    marker = tmp_path / "ran"
    ours = WebhookClient(http, resources=Secrets(KEY))
    command = {"type": "bash", "cmd": f"touch {marker}"}

    async def refused(client: WebhookClient, signed: bool = True) -> str:
        with pytest.raises(WebhookRejectedError) as error:
            await client.call(
                CANARY, hook(signed_tester.base + "/", "rollout", signed=signed, **command),
                CanaryPhase.PROGRESSING,
            )  # fmt: skip
        assert error.value.status == 401
        return str(error.value)

    assert "missing X-Serinus-" in await refused(ours, signed=False)
    assert "does not match" in await refused(WebhookClient(http, resources=Secrets("guess")))
    assert "stale or replayed" in await refused(
        WebhookClient(http, resources=Secrets(KEY), clock=DayOld())
    )
    assert not marker.exists()

    await ours.call(
        CANARY, hook(signed_tester.base + "/", "rollout", **command), CanaryPhase.PROGRESSING
    )
    assert marker.exists()


async def test_a_request_signed_for_one_gate_is_refused_at_another(signed_tester, http):
    received: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        received.append(request)

    recording = httpx.AsyncClient(event_hooks={"request": [record]})
    ours = WebhookClient(recording, resources=Secrets(KEY))
    try:
        with pytest.raises(WebhookRejectedError, match="HTTP 403"):  # closed, but served
            await ours.call(
                CANARY, hook(signed_tester.base + "/gate/check", "confirm-promotion"),
                CanaryPhase.PROGRESSING,
            )  # fmt: skip
    finally:
        await recording.aclose()
    [sent] = received

    replayed = await http.post(
        signed_tester.base + "/rollback/open", content=sent.content, headers=dict(sent.headers)
    )

    assert replayed.status_code == 401
    assert "signed for another URL" in replayed.text
    recheck = WebhookClient(http, resources=Secrets(KEY))
    with pytest.raises(WebhookRejectedError, match=r"gate rollback\.podinfo\.test is closed"):
        await recheck.call(
            CANARY, hook(signed_tester.base + "/rollback/check", "rollback"),
            CanaryPhase.PROGRESSING,
        )  # fmt: skip


async def test_fixed_gates_and_probes_need_no_signature(signed_tester, http):
    base = signed_tester.base
    assert (await http.post(base + "/gate/approve")).status_code == 200
    assert (await http.post(base + "/gate/halt")).status_code == 403
    assert (await http.get(base + "/healthz")).status_code == 200
    assert (await http.get(base + "/metrics")).status_code == 200
    unsigned = await http.post(base + "/gate/check", json={"name": "a", "namespace": "b"})
    assert unsigned.status_code == 401


async def test_the_documented_manual_gate_opening_is_accepted(signed_tester, monkeypatch):
    text = (pathlib.Path(__file__).parents[2] / "docs" / "security.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("http://localhost:8080", signed_tester.base)
    monkeypatch.setenv("SERINUS_LOADTESTER_SIGNING_SECRET", KEY)

    await asyncio.to_thread(exec, compile(code, "docs/security.md", "exec"), {})

    opened = signed_tester.app[API_KEY].gates.is_open(Gate("gate", "prod", "podinfo"))
    assert opened
