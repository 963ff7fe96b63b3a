"""The ApiServer object that tests and the sandbox start.

Covers: port 0 picks a free port, reported in `port` and `url`; a fresh server has the four
initial namespaces; the kubeconfig it writes points at it; in-process access through `cluster`
sees what HTTP clients wrote; a fixed port is honoured; starting on a busy port fails with
OSError; a body over 3 MiB is refused with 413 RequestEntityTooLarge, as the real server does.
"""

from __future__ import annotations

import pathlib
import socket

import httpx
import pytest
import yaml

from serinus.sandbox.apiserver import ApiServer
from tests.sandbox.apiserver.support import configmap


async def test_free_port_namespaces_and_kubeconfig(tmp_path: pathlib.Path) -> None:
    async with ApiServer(port=0) as api:
        assert api.port > 0
        assert api.url == f"http://127.0.0.1:{api.port}"
        config = yaml.safe_load(api.write_kubeconfig(tmp_path / "config").read_text())
        assert config["clusters"][0]["cluster"]["server"] == api.url
        async with httpx.AsyncClient(base_url=api.url) as http:
            names = [
                n["metadata"]["name"]
                for n in (await http.get("/api/v1/namespaces")).json()["items"]
            ]
            await http.post("/api/v1/namespaces/default/configmaps", json=configmap("c", "default"))
        assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
        stored = api.cluster.store.get("configmaps", "default", "c")
        assert stored is not None
        assert stored["data"] == {"key": "value"}


async def test_fixed_and_busy_ports() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with ApiServer(port=port) as api:
        assert api.url.endswith(f":{port}")
        with pytest.raises(OSError, match="address already in use"):
            await ApiServer(port=port).start()


async def test_a_body_over_three_mebibytes_is_413() -> None:
    async with ApiServer(port=0) as api, httpx.AsyncClient(base_url=api.url) as http:
        big = configmap("big", "default")
        big["data"] = {"key": "x" * (3 * 1024 * 1024)}
        answer = await http.post("/api/v1/namespaces/default/configmaps", json=big)
    assert answer.status_code == 413
    assert answer.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Request entity too large: limit is 3145728",
        "reason": "RequestEntityTooLarge",
        "code": 413,
    }
