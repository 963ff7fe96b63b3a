"""The state file: objects and the resourceVersion counter survive a restart.

Covers: everything written (namespaces, built-ins, CRDs and their custom resources, finalizers)
is back after a restart on the same file, CRDs are served again, resourceVersions keep growing
from where they were, and a watch resuming from before the restart gets 410 and lists again;
the file is written atomically (no temporary files left, no journal after a clean stop); a
server killed with SIGKILL right after answering a burst of writes (well inside the snapshot's
delay) keeps every write it answered, deletions included, and numbers the next write after them;
a file that is not a state file is refused with an error naming it.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import signal
import subprocess
import sys

import httpx
import pytest

from serinus.errors import SerinusError
from serinus.sandbox.apiserver import ApiServer
from serinus.sandbox.orchestration.processes import free_port
from tests.sandbox.apiserver.support import (
    configmap,
    deployment,
    names_of,
    namespace,
    simple_crd,
)


async def test_objects_survive_a_restart(tmp_path: pathlib.Path) -> None:
    state = tmp_path / "state.json"
    async with (
        ApiServer(port=0, state=state, persist_delay=0.01) as api,
        httpx.AsyncClient(base_url=api.url) as http,
    ):
        await http.post("/api/v1/namespaces", json=namespace("prod"))
        await http.post("/apis/apps/v1/namespaces/prod/deployments", json=deployment())
        await http.post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            json=simple_crd("example.com", "Widget", "widgets"),
        )
        widget = {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "finalizers": ["example.com/keep"]},
            "spec": {"size": 3},
        }
        await http.post("/apis/example.com/v1/namespaces/prod/widgets", json=widget)
        last = (await http.post("/api/v1/namespaces/prod/configmaps", json=configmap("c"))).json()
        before = int(last["metadata"]["resourceVersion"])
    left = await asyncio.to_thread(lambda: [p.name for p in tmp_path.iterdir()])
    assert left == ["state.json"]
    async with ApiServer(port=0, state=state) as api, httpx.AsyncClient(base_url=api.url) as http:
        got = (await http.get("/apis/example.com/v1/namespaces/prod/widgets/w")).json()
        assert got["spec"] == {"size": 3}
        assert got["metadata"]["finalizers"] == ["example.com/keep"]
        assert (
            await http.get("/apis/apps/v1/namespaces/prod/deployments/podinfo")
        ).status_code == 200
        listed = (await http.get("/api/v1/namespaces/prod/configmaps")).json()
        assert int(listed["metadata"]["resourceVersion"]) >= before
        made = (await http.post("/api/v1/namespaces/prod/configmaps", json=configmap("d"))).json()
        assert int(made["metadata"]["resourceVersion"]) > before
        url = f"/api/v1/namespaces/prod/configmaps?watch=true&resourceVersion={before - 1}"
        async with http.stream("GET", url) as response:
            first = json.loads(await anext(response.aiter_lines()))
        assert first["type"] == "ERROR"
        assert first["object"]["code"] == 410


async def test_a_foreign_file_is_refused(tmp_path: pathlib.Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"hello": "world"}')
    with pytest.raises(SerinusError, match="not a state file of the sandbox API server"):
        await ApiServer(port=0, state=state).start()


def _serve(state: pathlib.Path, port: int, log: pathlib.Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "serinus", "sandbox", "apiserver", "--port", str(port),
             "--state", str(state), "--kubeconfig", str(state.with_name("kubeconfig"))],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


async def _answering(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(200):
            try:
                if (await http.get("/version")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not answer")


async def test_a_killed_server_keeps_every_write_it_answered(tmp_path: pathlib.Path) -> None:
    state, port = tmp_path / "state.json", free_port()
    url = f"http://127.0.0.1:{port}"
    server = _serve(state, port, tmp_path / "apiserver.log")
    try:
        await _answering(url)
        async with httpx.AsyncClient(base_url=url) as http:
            await http.post("/api/v1/namespaces", json=namespace("prod"))
            for index in range(30):
                made = await http.post(
                    "/api/v1/namespaces/prod/configmaps", json=configmap(f"c{index}")
                )
                assert made.status_code == 201
            gone = await http.delete("/api/v1/namespaces/prod/configmaps/c7")
            assert gone.status_code == 200
            last = await http.put(
                "/api/v1/namespaces/prod/configmaps/c29",
                json={**made.json(), "data": {"key": "changed"}},
            )
            answered = int(last.json()["metadata"]["resourceVersion"])
        server.send_signal(signal.SIGKILL)  # no chance to write a snapshot or clean up
        server.wait(timeout=10)
        server = _serve(state, port, tmp_path / "apiserver.log")
        await _answering(url)
        async with httpx.AsyncClient(base_url=url) as http:
            listed = (await http.get("/api/v1/namespaces/prod/configmaps")).json()
            names = sorted(names_of(listed["items"]))
            assert names == sorted(f"c{index}" for index in range(30) if index != 7)
            kept = (await http.get("/api/v1/namespaces/prod/configmaps/c29")).json()
            assert kept["data"] == {"key": "changed"}
            assert int(kept["metadata"]["resourceVersion"]) == answered
            made = await http.post("/api/v1/namespaces/prod/configmaps", json=configmap("next"))
            assert int(made.json()["metadata"]["resourceVersion"]) > answered
    finally:
        server.terminate()
        server.wait(timeout=20)
    left = await asyncio.to_thread(lambda: sorted(p.name for p in tmp_path.iterdir()))
    assert left == ["apiserver.log", "kubeconfig", "state.json"]
