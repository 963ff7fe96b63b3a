"""Issue 10, row 14 (the verifier): nothing checked ``X-Serinus-Signature``, and the signature did
not cover the hook's type or URL, so a signed request could be replayed to another hook.

Here ``serinus loadtester`` started with a signing secret (from its environment, as the chart
passes it) runs a command only for a request the operator's webhook client signed with that key:
unsigned, wrongly signed and day-old requests get 401 and run nothing; a signed ``rollout``
request replayed byte for byte to ``/rollback/open`` gets 401 and the rollback gate stays closed.
The secret shows in no answer, no log line and not in the process's arguments.
"""

from __future__ import annotations

import datetime
import pathlib

import httpx
import pytest

from serinus.apis.analysis import CanaryWebhook
from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase
from serinus.errors import NotFoundError, WebhookRejectedError
from serinus.webhooks.client import WebhookClient

SECRET = "hostile-row-14-signing-secret"
CANARY = Canary.model_validate(
    {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": "prod"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898},
            "analysis": {"interval": "1m", "threshold": 5, "stepWeight": 10, "maxWeight": 50},
        },
    }
)


class OneSecret:
    def __init__(self, value: str) -> None:
        self.value = value

    async def signing_secret(self, namespace: str, name: str) -> dict[str, str]:
        return {"key": self.value}

    async def metric_template(self, namespace: str, name: str) -> object:
        raise NotFoundError("none")

    async def alert_provider(self, namespace: str, name: str) -> object:
        raise NotFoundError("none")


class DayOld:
    def now(self) -> datetime.datetime:
        return datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(days=1)


def hook(url: str, hook_type: str, signed: bool = True, **metadata: str) -> CanaryWebhook:
    document: dict[str, object] = {"name": "h", "type": hook_type, "url": url}
    if metadata:
        document["metadata"] = metadata
    if signed:
        document["signingSecretRef"] = {"name": "loadtester-signing"}
    return CanaryWebhook.model_validate(document)


async def test_only_requests_signed_for_this_url_run(start_loadtester, tmp_path: pathlib.Path):
    tester = await start_loadtester(env={"SERINUS_LOADTESTER_SIGNING_SECRET": SECRET})
    marker = tmp_path / "ran"
    run = {"type": "bash", "cmd": f"touch {marker}"}
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        senders = {
            "unsigned": (WebhookClient(http, resources=OneSecret(SECRET)), False),
            "wrong key": (WebhookClient(http, resources=OneSecret("guessed")), True),
            "day old": (WebhookClient(http, resources=OneSecret(SECRET), clock=DayOld()), True),
        }
        for client, signed in senders.values():
            with pytest.raises(WebhookRejectedError, match="HTTP 401"):
                await client.call(
                    CANARY, hook(tester.base + "/", "rollout", signed, **run),
                    CanaryPhase.PROGRESSING,
                )  # fmt: skip
        assert not marker.exists()

        ours = WebhookClient(http, resources=OneSecret(SECRET))
        await ours.call(CANARY, hook(tester.base + "/", "rollout", **run), CanaryPhase.PROGRESSING)
        assert marker.exists()

        replayed = await http.post(
            tester.base + "/rollback/open", content=sent[-1].content, headers=sent[-1].headers
        )
        assert replayed.status_code == 401
        with pytest.raises(WebhookRejectedError, match="HTTP 403"):
            await ours.call(
                CANARY, hook(tester.base + "/rollback/check", "rollback"), CanaryPhase.PROGRESSING
            )

    assert SECRET not in tester.log()
    assert SECRET not in replayed.text
    arguments = pathlib.Path(f"/proc/{tester.process.pid}/cmdline").read_bytes()  # noqa: ASYNC240
    assert SECRET.encode() not in arguments
