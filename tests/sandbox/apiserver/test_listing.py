"""List pages read from the first page's snapshot, and expired continue tokens.

Covers: objects created, changed or deleted between two pages do not show in the later pages,
which carry the first page's resourceVersion; a token whose snapshot has left the server's change
log is a 410 Expired Status with the real server's message and a fresh token that continues
from the same key; kubectl's chunked ``get`` (``--chunk-size``) lists everything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from serinus.sandbox.apiserver import ApiServer
from serinus.sandbox.apiserver.listing import EXPIRED
from tests.sandbox.apiserver.support import ROOT_CA, Kubectl, configmap, names_of, namespace

CONFIGMAPS = "/api/v1/namespaces/prod/configmaps"


async def fill(http: httpx.AsyncClient, *names: str) -> None:
    await http.post("/api/v1/namespaces", json=namespace("prod"))
    for name in names:
        assert (await http.post(CONFIGMAPS, json=configmap(name))).status_code == 201


async def test_later_pages_show_the_first_pages_snapshot(http: httpx.AsyncClient) -> None:
    await fill(http, "a", "b", "c", "d")
    first = (await http.get(CONFIGMAPS, params={"limit": "2"})).json()
    assert names_of(first["items"]) == ["a", "b"]
    await http.delete(f"{CONFIGMAPS}/c")
    await http.post(CONFIGMAPS, json=configmap("e"))
    changed = configmap("d")
    changed["data"] = {"key": "changed"}
    await http.put(f"{CONFIGMAPS}/d", json=changed)
    token = first["metadata"]["continue"]
    second = (await http.get(CONFIGMAPS, params={"limit": "5", "continue": token})).json()
    assert names_of(second["items"]) == ["c", "d"]
    assert second["items"][1]["data"] == {"key": "value"}
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert "continue" not in second["metadata"]
    fresh = (await http.get(CONFIGMAPS)).json()
    assert names_of(fresh["items"]) == ["a", "b", "d", "e"]


@pytest.fixture
async def short_log() -> AsyncIterator[ApiServer]:
    async with ApiServer(port=0, watch_window=3) as server:
        yield server


async def test_an_expired_token_is_410_with_a_fresh_token(short_log: ApiServer) -> None:
    async with httpx.AsyncClient(base_url=short_log.url) as http:
        await fill(http, "a", "b", "c")
        first = (await http.get(CONFIGMAPS, params={"limit": "1"})).json()
        for name in ("x1", "x2", "x3", "x4"):
            await http.post(CONFIGMAPS, json=configmap(name))
        token = first["metadata"]["continue"]
        expired = await http.get(CONFIGMAPS, params={"limit": "1", "continue": token})
        assert expired.status_code == 410
        status = expired.json()
        assert (status["reason"], status["message"], status["code"]) == ("Expired", EXPIRED, 410)
        resumed = await http.get(CONFIGMAPS, params={"continue": status["metadata"]["continue"]})
        assert names_of(resumed.json()["items"]) == ["b", "c", "x1", "x2", "x3", "x4"]


async def test_kubectl_chunked_get_lists_everything(
    http: httpx.AsyncClient, kubectl: Kubectl
) -> None:
    await fill(http, *(f"cm-{n:02}" for n in range(7)))
    out = await kubectl.run("-n", "prod", "get", "cm", "--chunk-size=2", "-o", "name")
    expected = [f"configmap/cm-{n:02}" for n in range(7)]
    assert out.stdout.split() == [*expected, f"configmap/{ROOT_CA}"]
