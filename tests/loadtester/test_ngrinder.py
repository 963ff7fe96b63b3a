"""``type: ngrinder`` through a real load tester, against a local stand-in for the nGrinder
controller.

The stand-in records every request (method, path with query, basic-auth credentials) and answers
as the controller does: ``clone_and_start`` with the new test (``id``), ``status`` with
``{"status": [{"status_id": ...}]}``.

Covers:
- a test that finishes: 202 at once; ``POST perftest/api/<clone>/clone_and_start`` then ``GET
  perftest/api/<id>/status`` polls until FINISHED, all with the decoded credentials; paths are
  relative to ``server`` (a base path is kept); the password never appears in the log;
- a second call while the first runs starts nothing (dedupe per namespace and line);
- a test still running at the task timeout is stopped with ``PUT perftest/api/<id>?action=stop``
  and counted as failed; ``STOP_BY_ERROR`` fails the task; ``"success": false`` on start fails
  it without polling;
- metadata that does not fit: 400 with Flagger's text or naming the key, never the password.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from tests.support import loopback

PASSWORD = "ng-s3cr3t"


@dataclasses.dataclass
class NGrinder:
    base: str
    requests: list[tuple[str, str, str]]
    statuses: list[str]
    start_answer: dict[str, object] = dataclasses.field(default_factory=lambda: {"id": 381})

    def calls(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _ in self.requests]


@pytest.fixture
async def ngrinder() -> AsyncIterator[NGrinder]:
    server = NGrinder(base="", requests=[], statuses=[])

    async def answer(request: web.Request) -> web.Response:
        credentials = base64.b64decode(request.headers["Authorization"].removeprefix("Basic "))
        server.requests.append((request.method, request.path_qs, credentials.decode()))
        if request.path.endswith("/clone_and_start") and request.method == "POST":
            return web.json_response(
                {"testName": "podinfo", "status": "READY"} | server.start_answer
            )
        if request.path.endswith("/status") and request.method == "GET":
            current = server.statuses.pop(0) if len(server.statuses) > 1 else server.statuses[0]
            return web.json_response({"status": [{"id": 381, "status_id": current}]})
        return web.json_response({"success": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    async with loopback.serving(app) as base:
        server.base = base
        yield server


def metadata(ngrinder: NGrinder, **extra: str) -> dict[str, str]:
    return {
        "type": "ngrinder",
        "server": ngrinder.base + "/ngrinder/",
        "clone": "100",
        "username": "admin",
        "passwd": base64.b64encode(PASSWORD.encode()).decode(),
        "pollInterval": "50ms",
        **extra,
    }


async def test_a_finished_test_follows_flaggers_exchange(loadtester, ngrinder, caplog):
    caplog.set_level(logging.DEBUG)
    ngrinder.statuses = ["TESTING", "TESTING", "FINISHED"]

    response = await loadtester.task(metadata(ngrinder))
    await loadtester.wait_idle()

    assert response.status_code == 202
    assert ngrinder.calls() == [
        ("POST", "/ngrinder/perftest/api/100/clone_and_start"),
        ("GET", "/ngrinder/perftest/api/381/status"),
        ("GET", "/ngrinder/perftest/api/381/status"),
        ("GET", "/ngrinder/perftest/api/381/status"),
    ]
    assert {credentials for _, _, credentials in ngrinder.requests} == {f"admin:{PASSWORD}"}
    assert PASSWORD not in caplog.text
    samples = await loadtester.metrics()
    assert samples[("serinus_loadtester_commands_started_total", (("type", "ngrinder"),))] == 1
    assert ("serinus_loadtester_commands_failed_total", (("type", "ngrinder"),)) not in samples


async def test_a_second_call_while_running_starts_nothing(loadtester, ngrinder):
    ngrinder.statuses = ["TESTING"]

    first = await loadtester.task(metadata(ngrinder))
    second = await loadtester.task(metadata(ngrinder), name="other-canary")

    assert (first.text, second.text) == ("Task started", "Task running")
    await loadtester.app.shutdown()
    assert [call for call in ngrinder.calls() if call[0] == "POST"] == [
        ("POST", "/ngrinder/perftest/api/100/clone_and_start")
    ]


async def test_a_test_running_at_the_timeout_is_stopped(loadtester_factory, ngrinder):
    tester = await loadtester_factory(task_timeout=0.5)
    ngrinder.statuses = ["TESTING"]

    await tester.task(metadata(ngrinder))
    await tester.wait_idle()

    assert ngrinder.calls()[-1] == ("PUT", "/ngrinder/perftest/api/381?action=stop")
    samples = await tester.metrics()
    assert samples[("serinus_loadtester_commands_failed_total", (("type", "ngrinder"),))] == 1


async def test_stop_by_error_fails_the_task(loadtester, ngrinder, caplog):
    ngrinder.statuses = ["TESTING", "STOP_BY_ERROR"]

    await loadtester.task(metadata(ngrinder))
    await loadtester.wait_idle()

    assert "ngrinder test 381 ended with STOP_BY_ERROR" in caplog.text
    samples = await loadtester.metrics()
    assert samples[("serinus_loadtester_commands_failed_total", (("type", "ngrinder"),))] == 1


async def test_success_false_on_start_fails_without_polling(loadtester, ngrinder, caplog):
    ngrinder.start_answer = {"success": False, "message": "no agents"}

    await loadtester.task(metadata(ngrinder))
    await loadtester.wait_idle()

    assert ngrinder.calls() == [("POST", "/ngrinder/perftest/api/100/clone_and_start")]
    assert "failed to clone and start ngrinder test" in caplog.text
    assert "no agents" in caplog.text


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"username": ""}, "server, clone, username and passwd are required metadata"),
        ({"clone": "latest"}, "metadata.clone: expected the id of a test"),
        ({"passwd": PASSWORD}, "metadata.passwd: expected the password in base64"),
        ({"pollInterval": "often"}, "metadata.pollInterval"),
    ],
)
async def test_metadata_that_does_not_fit_is_a_400(loadtester, ngrinder, change, expected):
    response = await loadtester.task({**metadata(ngrinder), **change})

    assert response.status_code == 400
    assert expected in response.text
    assert PASSWORD not in response.text
    assert ngrinder.requests == []
