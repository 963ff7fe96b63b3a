"""podinfo's HTTP API as the stand-in serves it (covers ``serinus/sandbox/podinfo/app.py``).

Covers:
- ``/`` and ``/api/info`` answer the info JSON (hostname, version, message, colour of the
  version's era), two-space indented, with podinfo's content type and nosniff header; a browser
  gets HTML;
- ``/version``; ``/status/{code}`` answers exactly that code (GET, POST, PUT); out-of-range
  codes get podinfo's error body;
- ``/delay/{seconds}`` waits before answering;
- ``/healthz`` and ``/readyz`` answer OK, and an empty 503 after ``POST /readyz/disable`` until
  ``/readyz/enable``; a stand-in started unready or unhealthy fails its probes;
- ``/token`` (POST with a user, GET anonymous) returns a token that ``/token/validate`` accepts;
  a forged token is refused;
- ``/env`` lists KEY=value pairs, ``/headers`` the canonical request headers plus
  ``X-Api-Version``;
- unknown paths get Go mux's plain-text 404, wrong methods a 405.
"""

from __future__ import annotations

import time

import httpx
import pytest


async def test_info_json_names_the_pod_and_version(podinfo: httpx.AsyncClient) -> None:
    response = await podinfo.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.text.startswith('{\n  "hostname": "podinfo-7b9c5d-abcde",')
    body = response.json()
    assert body["version"] == "6.0.1"
    assert body["message"] == "greetings from podinfo v6.0.1"
    assert body["color"] == "#34577c"
    assert list(body)[:5] == ["hostname", "version", "revision", "color", "logo"]
    assert (await podinfo.get("/api/info")).json()["hostname"] == "podinfo-7b9c5d-abcde"


@pytest.mark.parametrize(
    ("version", "color", "has_logo"),
    [("2.1.0", "blue", False), ("3.0.0", "cyan", False), ("3.1.0", "cyan", True)],
)
async def test_info_follows_the_version_defaults(start, version, color, has_logo) -> None:
    async with start(version=version) as client:
        body = (await client.get("/")).json()
    assert body["version"] == version
    assert body["color"] == color
    assert ("logo" in body) is has_logo


async def test_configured_message_and_colour_win(start) -> None:
    async with start(version="2.1.0", message="hello canary", color="green") as client:
        body = (await client.get("/")).json()
    assert (body["message"], body["color"]) == ("hello canary", "green")


async def test_a_browser_gets_the_ui(podinfo: httpx.AsyncClient) -> None:
    response = await podinfo.get("/", headers={"User-Agent": "Mozilla/5.0"})
    assert response.headers["content-type"].startswith("text/html")
    assert "greetings from podinfo v6.0.1" in response.text


async def test_version(start) -> None:
    async with start(version="v2.1.1", revision="abc123") as client:
        response = await client.get("/version")
    assert response.json() == {"commit": "abc123", "version": "2.1.1"}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
@pytest.mark.parametrize("code", [200, 404, 500, 503])
async def test_status_answers_that_code(podinfo: httpx.AsyncClient, method, code) -> None:
    response = await podinfo.request(method, f"/status/{code}")
    assert response.status_code == code
    assert response.json() == {"status": code}


async def test_status_out_of_range_gets_an_error_body(podinfo: httpx.AsyncClient) -> None:
    response = await podinfo.get("/status/999")
    assert response.status_code == 200
    assert response.json()["code"] == 400


async def test_delay_waits_before_answering(podinfo: httpx.AsyncClient) -> None:
    started = time.monotonic()
    response = await podinfo.get("/delay/1")
    assert response.json() == {"delay": 1}
    assert time.monotonic() - started >= 1


async def test_readiness_can_be_switched_off_and_on(podinfo: httpx.AsyncClient) -> None:
    assert (await podinfo.get("/readyz")).json() == {"status": "OK"}
    assert (await podinfo.post("/readyz/disable")).status_code == 202
    unready = await podinfo.get("/readyz")
    assert (unready.status_code, unready.content) == (503, b"")
    assert (await podinfo.get("/healthz")).status_code == 200
    assert (await podinfo.post("/readyz/enable")).status_code == 202
    assert (await podinfo.get("/readyz")).status_code == 200


async def test_started_unready_and_unhealthy_fail_their_probes(start) -> None:
    async with start(ready=False, healthy=False) as client:
        assert (await client.get("/readyz")).status_code == 503
        assert (await client.get("/healthz")).status_code == 503


async def test_token_round_trip(podinfo: httpx.AsyncClient) -> None:
    issued = await podinfo.post("/token", content=b"test")
    assert "token" in issued.text
    token = issued.json()["token"]
    assert issued.json()["expires_at"].endswith("Z")
    checked = await podinfo.get("/token/validate", headers={"Authorization": f"Bearer {token}"})
    assert checked.json()["token_name"] == "test"
    anonymous = (await podinfo.get("/token")).json()["token"]
    checked = await podinfo.get("/token/validate", headers={"Authorization": f"Bearer {anonymous}"})
    assert checked.json()["token_name"] == "anonymous"


async def test_forged_token_is_refused(start) -> None:
    async with start(jwt_secret="other") as client:
        token = (await client.post("/token", content=b"mallory")).json()["token"]
    async with start() as client:
        checked = await client.get("/token/validate", headers={"Authorization": f"Bearer {token}"})
    assert checked.json()["code"] == 401
    assert "signature" in checked.json()["message"]


async def test_env_lists_pairs(start) -> None:
    async with start(environment={"PODINFO_UI_COLOR": "red", "HOSTNAME": "p-1"}) as client:
        assert (await client.get("/env")).json() == ["HOSTNAME=p-1", "PODINFO_UI_COLOR=red"]


async def test_headers_are_canonical_and_carry_the_api_version(podinfo) -> None:
    body = (await podinfo.get("/headers", headers={"x-request-id": "42"})).json()
    assert body["X-Request-Id"] == ["42"]
    assert body["X-Api-Version"] == ["6.0.1"]


async def test_unknown_path_and_wrong_method(podinfo: httpx.AsyncClient) -> None:
    missing = await podinfo.get("/nope")
    assert (missing.status_code, missing.text) == (404, "404 page not found\n")
    assert (await podinfo.delete("/version")).status_code == 405
