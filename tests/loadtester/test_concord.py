"""``type: concord`` through a real load tester, against a local stand-in for the Concord server.

The stand-in records every request and checks what the real server would need: the API key (the
file's content) as ``Authorization``, a ``multipart/form-data`` start request with Flagger's field
names, and status polls on ``/api/v1/process/<instanceId>``.

Covers:
- a process that finishes: 200; one start request with exactly org, project, repo, entryPoint,
  arguments.endpoint and the ``arguments.*`` entries; polls until FINISHED; the key never appears
  in the answer or the log;
- a FAILED or CANCELLED process, and one still running at ``pollTimeout``: 500 saying so;
- an answer that is not 2xx: 500 with its status and text;
- metadata that does not fit (a missing key, ``arguments.endpoint``, a bad pollInterval): 400
  naming it, and nothing is sent; an unreadable key file: 500, nothing sent;
- with ``--allow-command`` rules the task's ``concord key=value ...`` line must match; refused,
  nothing is sent;
- two identical calls while the first runs start one process, and both get its outcome.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import pathlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from tests.support import loopback

KEY = "concord-api-key-s3cr3t"


@dataclasses.dataclass
class Concord:
    base: str
    starts: list[tuple[dict[str, str], dict[str, str]]]
    polls: list[tuple[str, dict[str, str]]]
    statuses: list[str]
    start_status: int = 200


@pytest.fixture
async def concord() -> AsyncIterator[Concord]:
    server = Concord(base="", starts=[], polls=[], statuses=[])

    async def start(request: web.Request) -> web.Response:
        assert request.content_type == "multipart/form-data"
        form = await request.post()
        fields = {name: str(value) for name, value in form.items()}
        server.starts.append((dict(request.headers), fields))
        if server.start_status != 200:
            return web.Response(status=server.start_status, text="project not found")
        return web.json_response({"instanceId": "8f2c-41", "ok": True})

    async def status(request: web.Request) -> web.Response:
        server.polls.append((request.match_info["id"], dict(request.headers)))
        current = server.statuses.pop(0) if len(server.statuses) > 1 else server.statuses[0]
        return web.json_response({"instanceId": request.match_info["id"], "status": current})

    app = web.Application()
    app.router.add_post("/api/v1/process", start)
    app.router.add_get("/api/v1/process/{id}", status)
    async with loopback.serving(app) as base:
        server.base = base
        yield server


@pytest.fixture
def key_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "concord-api-key"
    path.write_text(KEY + "\n")
    return path


def metadata(concord: Concord, key_file: pathlib.Path, **extra: str) -> dict[str, str]:
    return {
        "type": "concord",
        "server": concord.base + "/ignored/path",
        "org": "qa",
        "project": "podinfo",
        "repo": "smoke",
        "entrypoint": "canary",
        "apiKeyPath": str(key_file),
        "endpoint": "http://podinfo-canary.test:9898/",
        "pollInterval": "1",
        "pollTimeout": "10",
        **extra,
    }


async def test_a_finished_process_passes_with_flaggers_exact_requests(
    loadtester, concord, key_file, caplog
):
    caplog.set_level(logging.DEBUG)
    concord.statuses = ["RUNNING", "FINISHED"]

    response = await loadtester.task(metadata(concord, key_file, **{"arguments.users": "10"}))

    assert response.status_code == 200, response.text
    [(headers, fields)] = concord.starts
    assert headers["Authorization"] == KEY
    assert fields == {
        "org": "qa",
        "project": "podinfo",
        "repo": "smoke",
        "entryPoint": "canary",
        "arguments.endpoint": "http://podinfo-canary.test:9898/",
        "arguments.users": "10",
    }
    assert [instance for instance, _ in concord.polls] == ["8f2c-41", "8f2c-41"]
    assert all(headers["Authorization"] == KEY for _, headers in concord.polls)
    assert KEY not in response.text
    assert KEY not in caplog.text
    assert "process id [8f2c-41] current status is FINISHED" in caplog.text


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED"])
async def test_a_process_that_fails_answers_500(loadtester, concord, key_file, status):
    concord.statuses = [status]

    response = await loadtester.task(metadata(concord, key_file))

    assert response.status_code == 500
    assert f"concord instanceID: 8f2c-41 failed ({status})" in response.text


async def test_a_process_still_running_at_poll_timeout_answers_500(loadtester, concord, key_file):
    concord.statuses = ["RUNNING"]

    response = await loadtester.task(metadata(concord, key_file, pollTimeout="2"))

    assert response.status_code == 500
    assert "concord process timed out, after 2 seconds" in response.text
    assert 1 <= len(concord.polls) <= 2


async def test_an_error_answer_fails_with_its_status_and_text(loadtester, concord, key_file):
    concord.start_status = 404

    response = await loadtester.task(metadata(concord, key_file))

    assert response.status_code == 500
    assert "HTTP 404: project not found" in response.text
    assert concord.polls == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"org": ""}, "metadata.org: required with type concord"),
        ({"arguments.endpoint": "http://elsewhere/"}, "metadata.arguments.endpoint"),
        ({"pollInterval": "5s"}, "metadata.pollInterval: expected whole seconds"),
        ({"server": "file:///etc/passwd"}, "metadata.server: expected an http://"),
    ],
)
async def test_metadata_that_does_not_fit_is_a_400_and_nothing_is_sent(
    loadtester, concord, key_file, change, expected
):
    response = await loadtester.task({**metadata(concord, key_file), **change})

    assert response.status_code == 400
    assert expected in response.text
    assert concord.starts == []


async def test_an_unreadable_key_file_fails_and_nothing_is_sent(loadtester, concord, tmp_path):
    response = await loadtester.task(metadata(concord, tmp_path / "missing"))

    assert response.status_code == 500
    assert "cannot read the Concord API key (apiKeyPath)" in response.text
    assert concord.starts == []


async def test_rules_must_match_the_concord_line(loadtester_factory, concord, key_file):
    allowed = rf"concord server={concord.base}/ignored/path org=qa project=podinfo( \S+)+"
    tester = await loadtester_factory(allow=(allowed,))
    concord.statuses = ["FINISHED"]

    refused = await tester.task(metadata(concord, key_file, org="finance"))
    passed = await tester.task(metadata(concord, key_file))

    assert refused.status_code == 403
    assert "task refused: 'concord server=" in refused.text
    assert passed.status_code == 200
    assert len(concord.starts) == 1


async def test_identical_calls_share_one_process(loadtester, concord, key_file):
    concord.statuses = ["RUNNING", "FINISHED"]

    first, second = await asyncio.gather(
        loadtester.task(metadata(concord, key_file)),
        loadtester.task(metadata(concord, key_file), name="frontend"),
    )

    assert (first.status_code, second.status_code) == (200, 200)
    assert len(concord.starts) == 1
