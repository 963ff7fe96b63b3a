"""The dashboard's HTTP API against a real API server with RBAC, tokens from real TokenRequests.

Covers: the page itself carries no data and strict security headers; without a token, with a
made-up token, every API call is 401; a ServiceAccount bound only in ``staging`` lists staging's
Canaries and nothing of ``prod``, and gets a 403 for prod's Canary (its view, its stream, its
runs, its requests) that names nothing of it, the same 403 as for a Canary that does not exist;
one who may only ``get`` in prod sees the Canary with no control allowed and is refused a
request; one who may ``patch`` gets the buttons that make sense now, a refusal (409) with the
reason for one that does not, and writes the request annotation naming themselves as Kubernetes
knows them; the live stream sends the view again when the Canary moves; a request body that is
not one of the actions is a 400 naming them; given a certificate, it serves HTTPS.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import ssl

import httpx
import pytest

from serinus.apis.control import ANNOTATION
from serinus.operator.dashboard.app import Dashboard
from serinus.operator.history import Changes
from tests.operator.dashboard.support import bearer, grant, token
from tests.operator.support import CANARY, NS, canary, cluster, deployment
from tests.support import certificates

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def setup(tmp_path: pathlib.Path):
    async with cluster(tmp_path, namespaces=(NS, "staging")) as k8s:
        kube = k8s.kube
        await kube.create(deployment())
        await kube.create(canary("podinfo"))
        other = canary("api")
        other["metadata"]["namespace"] = "staging"
        await kube.create(other)
        await kube.patch_status(*CANARY, "podinfo", NS, {"status": {
            "phase": "Progressing", "canaryWeight": 25, "failedChecks": 0,
            "lastAppliedSpec": "r2", "analysisStartTime": "2030-01-01T00:00:00Z"}})  # fmt: skip
        await grant(kube, "staging", "stager", ["get", "list", "patch"])
        await grant(kube, NS, "viewer", ["get", "list"])
        await grant(kube, NS, "deployer", ["get", "list", "patch"])
        changes = Changes()
        dashboard = Dashboard(kube, changes, host="127.0.0.1", port=0, provider="linkerd")
        await dashboard.start()
        tokens = {a: await token(k8s.api.url, ns, a) for ns, a in
                  (("staging", "stager"), (NS, "viewer"), (NS, "deployer"))}  # fmt: skip
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dashboard.port}") as http:
            yield k8s, http, tokens, changes
        await dashboard.stop()


PROD = "/api/canaries/prod/podinfo"


async def test_the_page_has_no_data_and_strict_headers(setup):
    _, http, _, _ = setup
    page = await http.get("/")
    assert page.status_code == 200
    assert "podinfo" not in page.text
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    script = await http.get("/static/app.js")
    assert script.status_code == 200
    assert "Bearer" in script.text
    assert (await http.get("/static/../app.py")).status_code == 404


@pytest.mark.parametrize("headers", [{}, bearer("made.up.token"), {"Authorization": "Basic eDp5"}])
async def test_no_valid_token_is_401_everywhere(setup, headers):
    _, http, _, _ = setup
    for path in ("/api/whoami", "/api/canaries", PROD, f"{PROD}/stream", f"{PROD}/runs/1"):
        answer = await http.get(path, headers=headers)
        assert answer.status_code == 401, path
        assert "podinfo" not in answer.text
        assert "Progressing" not in answer.text
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    posted = await http.post(f"{PROD}/requests", headers=headers, json={"action": "abort"})
    assert posted.status_code == 401


async def test_a_token_bound_in_another_namespace_sees_nothing_of_prod(setup):
    k8s, http, tokens, _ = setup
    headers = bearer(tokens["stager"])
    who = (await http.get("/api/whoami", headers=headers)).json()
    assert who["user"] == "system:serviceaccount:staging:stager"
    listed = (await http.get("/api/canaries", headers=headers)).json()
    assert [(c["namespace"], c["name"]) for c in listed["items"]] == [("staging", "api")]
    for path in (PROD, f"{PROD}/stream", f"{PROD}/runs/1", f"{PROD}/runs/1/report"):
        answer = await http.get(path, headers=headers)
        assert answer.status_code == 403, path
        assert "podinfo" not in answer.text
        assert "25" not in answer.text
    missing = await http.get("/api/canaries/prod/nothing-here", headers=headers)
    assert (missing.status_code, missing.text) == (403, answer.text)  # existence is not told
    posted = await http.post(f"{PROD}/requests", headers=headers, json={"action": "abort"})
    assert posted.status_code == 403
    stored = await k8s.kube.get(*CANARY, "podinfo", NS)
    assert ANNOTATION not in (stored["metadata"].get("annotations") or {})


async def test_a_viewer_sees_the_canary_but_may_not_control_it(setup):
    _, http, tokens, _ = setup
    headers = bearer(tokens["viewer"])
    answer = (await http.get(PROD, headers=headers)).json()
    assert (answer["view"]["phase"], answer["view"]["weight"]) == ("Progressing", 25)
    assert (answer["may_control"], answer["actions"]) == (False, [])
    posted = await http.post(f"{PROD}/requests", headers=headers, json={"action": "pause"})
    assert posted.status_code == 403


async def test_a_deployer_gets_the_buttons_that_make_sense_and_writes_requests(setup):
    k8s, http, tokens, _ = setup
    headers = bearer(tokens["deployer"])
    answer = (await http.get(PROD, headers=headers)).json()
    assert answer["may_control"] is True
    assert answer["actions"] == ["promote", "abort", "pause", "skip-analysis"]
    refused = await http.post(f"{PROD}/requests", headers=headers, json={"action": "retry"})
    assert refused.status_code == 409
    assert "only a Failed run can be retried" in refused.json()["error"]
    bad = await http.post(f"{PROD}/requests", headers=headers, json={"action": "explode"})
    assert bad.status_code == 400
    assert "expected one of promote, abort" in bad.json()["error"]
    posted = await http.post(f"{PROD}/requests", headers=headers, json={"action": "abort"})
    assert posted.status_code == 202
    stored = await k8s.kube.get(*CANARY, "podinfo", NS)
    request = json.loads(stored["metadata"]["annotations"][ANNOTATION])
    assert request["action"] == "abort"
    assert request["by"] == "system:serviceaccount:prod:deployer"
    assert request["id"] == posted.json()["id"]


async def test_the_stream_sends_the_view_again_when_the_canary_moves(setup):
    k8s, http, tokens, changes = setup
    weights = []
    async with http.stream("GET", f"{PROD}/stream", headers=bearer(tokens["viewer"])) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        async for line in lines:
            if line.startswith("data: "):
                weights.append(json.loads(line[6:])["view"]["weight"])
                if len(weights) == 1:
                    await k8s.kube.patch_status(
                        *CANARY, "podinfo", NS, {"status": {"canaryWeight": 50}}
                    )
                    await changes.changed((NS, "podinfo"))
                if 50 in weights:
                    break
    assert weights[0] == 25
    assert weights[-1] == 50


async def test_the_dashboard_serves_https_with_the_given_certificate(setup, tmp_path):
    k8s, _, tokens, changes = setup
    cert, key = await asyncio.to_thread(certificates.self_signed, tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    secure = Dashboard(k8s.kube, changes, host="127.0.0.1", port=0, provider="linkerd", tls=context)
    await secure.start()
    try:
        trusted = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(verify=trusted) as client:
            answer = await client.get(
                f"https://127.0.0.1:{secure.port}{PROD}", headers=bearer(tokens["viewer"])
            )
        assert answer.status_code == 200
        assert answer.json()["view"]["weight"] == 25
    finally:
        await secure.stop()
