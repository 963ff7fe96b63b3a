"""The requests ``Kube`` sends and what it makes of hostile answers, against real HTTP servers.

Covers: each call's exact request (method, path, query, Content-Type, body, User-Agent, Accept),
against a recording server; a Status body with a long message keeps 1,024 characters of the
message and 256 of the body; an error body that is garbled JSON, not JSON at all, or JSON but
not an object still gives the status's class with the body's first characters and the HTTP
reason; a success whose body is not JSON, or not an object, and a connection dropped mid-body
are UnreachableErrors, retried; an integer beyond 64 bits in an answer and in a request stays
exact; a gzip answer is decoded; a server URL with user info sends basic auth.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from serinus import errors
from serinus.kube import Kube, KubeSettings
from serinus.kube import errors as kube_errors
from tests.kube.conftest import FAST
from tests.kube.support import configmap
from tests.support.loopback import handling, serving

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "a", "namespace": "prod"},
}


class Recorder:
    """A server that records each request and answers with ``answer`` (a ConfigMap by default)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.answer: Handler | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(
            {
                "method": request.method,
                "path": request.path_qs,
                "type": request.headers.get("Content-Type"),
                "agent": request.headers.get("User-Agent"),
                "accept": request.headers.get("Accept"),
                "authorization": request.headers.get("Authorization"),
                "body": json.loads(body) if body else None,
            }
        )
        if self.answer is not None:
            return await self.answer(request)
        if request.path.endswith("/configmaps") and request.method == "GET":
            return web.json_response({"items": [CONFIGMAP], "metadata": {"resourceVersion": "9"}})
        return web.json_response(CONFIGMAP)


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, Kube]]:
    state = Recorder()
    async with serving(handling(state.handle)) as url:
        settings = KubeSettings(server=url, user_agent="serinus/test", retry=FAST)
        async with Kube(settings) as kube:
            yield state, kube


async def test_each_call_sends_the_request_kubectl_would(recorder: tuple[Recorder, Kube]) -> None:
    state, kube = recorder
    manifest = configmap("a", color="blue")
    await kube.create(manifest)
    assert await kube.get("v1", "ConfigMap", "a", "prod") == CONFIGMAP
    items, version = await kube.list_at(
        "v1", "ConfigMap", "prod", {"app": "x", "b": "c"}, fields={"metadata.name": "a"}
    )
    assert (items, version) == ([CONFIGMAP], "9")
    await kube.list("v1", "ConfigMap")
    await kube.replace(manifest)
    await kube.replace_status(manifest)
    await kube.patch("v1", "ConfigMap", "a", "prod", {"data": {"x": "y"}})
    await kube.patch("v1", "ConfigMap", "a", "prod", [{"op": "add"}], patch_type="json")
    await kube.patch_status("v1", "ConfigMap", "a", "prod", {"s": 1}, patch_type="strategic")
    await kube.apply(manifest, field_manager="fm")
    await kube.apply(manifest, force=False)
    await kube.delete("v1", "ConfigMap", "a", "prod", cascade="orphan")
    await kube.delete("v1", "ConfigMap", "a/b", "prod")

    merge, json_patch, strategic = (
        f"application/{kind}+json"
        for kind in ("merge-patch", "json-patch", "strategic-merge-patch")
    )
    apply = "application/apply-patch+yaml"
    one = "/api/v1/namespaces/prod/configmaps/a"
    expected = [
        ("POST", "/api/v1/namespaces/prod/configmaps", "application/json", manifest),
        ("GET", one, None, None),
        (
            "GET",
            "/api/v1/namespaces/prod/configmaps?labelSelector=app%3Dx%2Cb%3Dc"
            "&fieldSelector=metadata.name%3Da",
            None,
            None,
        ),
        ("GET", "/api/v1/configmaps", None, None),
        ("PUT", one, "application/json", manifest),
        ("PUT", f"{one}/status", "application/json", manifest),
        ("PATCH", one, merge, {"data": {"x": "y"}}),
        ("PATCH", one, json_patch, [{"op": "add"}]),
        ("PATCH", f"{one}/status", strategic, {"s": 1}),
        ("PATCH", f"{one}?force=true&fieldManager=fm", apply, manifest),
        ("PATCH", f"{one}?fieldManager=serinus", apply, manifest),
        ("DELETE", f"{one}?propagationPolicy=Orphan", None, None),
        ("DELETE", "/api/v1/namespaces/prod/configmaps/a%2Fb", None, None),
    ]
    assert [(s["method"], s["path"], s["type"], s["body"]) for s in state.seen] == expected
    assert {(s["agent"], s["accept"], s["authorization"]) for s in state.seen} == {
        ("serinus/test", "application/json", None)
    }


def _status(code: int, message: str, reason: str) -> Handler:
    async def answer(request: web.Request) -> web.Response:
        body = {"kind": "Status", "status": "Failure", "code": code}
        return web.json_response({**body, "message": message, "reason": reason}, status=code)

    return answer


def _raw(status: int, body: bytes, content_type: str = "application/json") -> Handler:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type=content_type)

    return answer


async def test_a_long_status_message_is_kept_in_part(recorder: tuple[Recorder, Kube]) -> None:
    state, kube = recorder
    state.answer = _status(422, "spec.x: Invalid value: " + "v" * 5000, "Invalid")
    with pytest.raises(errors.InvalidError) as caught:
        await kube.create(configmap("a"))
    message = str(caught.value)
    assert message.startswith("create configmaps prod/a: spec.x: Invalid value: vvv")
    assert message.endswith("v (422 Invalid)")
    assert len(message) < 1100
    assert len(caught.value.body) == 256
    assert caught.value.http_status == 422


@pytest.mark.parametrize(
    ("status", "body", "expected", "text"),
    [
        (500, b'{"kind":"Status","message":"half', errors.ServerError, '{"kind":"Status"'),
        (403, b"forbidden by the proxy\n", errors.ForbiddenError, "forbidden by the proxy"),
        (404, b'["not", "a", "status"]', errors.NotFoundError, '["not", "a", "status"]'),
        (409, b"\xff\xfe\x00garbage\x00", errors.ConflictError, "garbage"),
    ],
)
async def test_an_error_body_that_is_no_status_still_gives_the_status_class(
    recorder: tuple[Recorder, Kube],
    status: int,
    body: bytes,
    expected: type[errors.KubeError],
    text: str,
) -> None:
    state, kube = recorder
    state.answer = _raw(status, body)
    with pytest.raises(errors.KubeError) as caught:
        await kube.patch("v1", "ConfigMap", "a", "prod", {"data": {}})
    assert type(caught.value) is expected
    assert caught.value.http_status == status
    assert text in str(caught.value)
    assert str(caught.value).endswith(f"({status} {web.Response(status=status).reason})")
    assert isinstance(caught.value.__cause__, kube_errors.Answered)


@pytest.mark.parametrize("body", [b"<html>ok</html>", b'"a string"', b"[]"])
async def test_a_success_that_is_not_an_object_is_unreachable_and_retried(
    recorder: tuple[Recorder, Kube], body: bytes
) -> None:
    state, kube = recorder
    state.answer = _raw(200, body, "text/html")
    with pytest.raises(kube_errors.UnreachableError, match="answer is not the JSON expected"):
        await kube.get("v1", "ConfigMap", "a", "prod")
    assert len(state.seen) == FAST.attempts


async def test_a_connection_dropped_mid_body_is_unreachable_and_retried(
    recorder: tuple[Recorder, Kube],
) -> None:
    state, kube = recorder

    async def half(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b'{"apiVersion": "v1", "kind": ')
        assert request.transport is not None
        request.transport.close()
        return response

    state.answer = half
    with pytest.raises(kube_errors.UnreachableError, match="the API server did not answer"):
        await kube.replace(configmap("a"))
    assert len(state.seen) == FAST.attempts


async def test_integers_beyond_64_bits_stay_exact_both_ways(
    recorder: tuple[Recorder, Kube],
) -> None:
    state, kube = recorder
    huge = 2**70 + 1

    async def echo(request: web.Request) -> web.Response:
        body = await request.text()  # already read by the recorder: aiohttp keeps it
        return web.Response(body=body.encode(), content_type="application/json")

    state.answer = echo
    written = await kube.replace({**configmap("a"), "spec": {"big": huge}})
    assert written["spec"]["big"] == huge
    assert state.seen[0]["body"]["spec"]["big"] == huge


async def test_a_gzip_answer_is_decoded(recorder: tuple[Recorder, Kube]) -> None:
    state, kube = recorder

    async def zipped(request: web.Request) -> web.Response:
        body = gzip.compress(json.dumps(CONFIGMAP).encode())
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    state.answer = zipped
    assert await kube.get("v1", "ConfigMap", "a", "prod") == CONFIGMAP


async def test_user_info_in_the_server_url_is_sent_as_basic_auth() -> None:
    state = Recorder()
    async with serving(handling(state.handle)) as url:
        with_user = url.replace("http://", "http://admin:s%3Dcret@")
        async with Kube(KubeSettings(server=with_user, retry=FAST)) as kube:
            await kube.get("v1", "ConfigMap", "a", "prod")
    expected = "Basic " + base64.b64encode(b"admin:s=cret").decode()
    assert [s["authorization"] for s in state.seen] == [expected]


async def test_a_watch_event_cut_into_many_chunks_and_a_megabyte_event_arrive_whole(
    recorder: tuple[Recorder, Kube],
) -> None:
    state, kube = recorder
    big = {"metadata": {"name": "big", "resourceVersion": "3"}, "data": {"x": "y" * 1_000_000}}
    small = {"metadata": {"name": "small", "resourceVersion": "2"}, "data": {"n": "1"}}
    stream = b"".join(
        json.dumps({"type": "ADDED", "object": obj}).encode() + b"\n\n" for obj in (small, big)
    )

    async def answer(request: web.Request) -> web.StreamResponse:
        if "watch" not in request.query:
            return web.json_response({"items": [], "metadata": {"resourceVersion": "1"}})
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for start in range(0, 210, 7):  # the first event, seven bytes at a time
            await response.write(stream[start : start + 7])
        await response.write(stream[210:])
        return response

    state.answer = answer
    seen = []
    async for event, obj in kube.watch("v1", "ConfigMap", "prod"):
        seen.append((event, obj))
        if len(seen) == 2:
            break
    assert seen == [("ADDED", small), ("ADDED", big)]
    assert "watch=true" in state.seen[1]["path"]


async def test_a_garbled_watch_line_is_unreachable_and_the_watch_resumes(
    recorder: tuple[Recorder, Kube],
) -> None:
    state, kube = recorder
    lines = [b'{"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "2"}}}\n']
    lines.append(b'{"type": "MODIFIED", "obj\n')
    lines.append(
        b'{"type": "MODIFIED", "object": {"metadata": {"name": "a", "resourceVersion": "3"}}}\n'
    )

    async def answer(request: web.Request) -> web.StreamResponse:
        if "watch" not in request.query:
            return web.json_response({"items": [], "metadata": {"resourceVersion": "1"}})
        watches = sum("watch=true" in seen["path"] for seen in state.seen)
        body = b"".join(lines[:2]) if watches == 1 else lines[2]
        return web.Response(body=body, content_type="application/json")

    state.answer = answer
    seen = []
    async for event, obj in kube.watch("v1", "ConfigMap", "prod"):
        seen.append((event, obj["metadata"]["resourceVersion"]))
        if len(seen) == 2:
            break
    assert seen == [("ADDED", "2"), ("MODIFIED", "3")]
    assert "resourceVersion=2" in state.seen[-1]["path"]  # resumed after the last good event
