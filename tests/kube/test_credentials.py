"""Every kind of kubeconfig user lightkube supports, against a real HTTPS server.

Covers: a client certificate is presented in the TLS handshake (a server that requires one
answers); a static token is sent as a bearer token on every request; basic auth sends the user
and password; an exec plugin runs once, its token is reused, and after a 401 it runs again and the
request is retried once with the new token (a plugin that still gets 401 surfaces a
ForbiddenError, no retry storm); a watch stream carries the same credentials. (The in-cluster
token file, re-read on 401, is covered in ``test_config.py``.)
"""

from __future__ import annotations

import base64
import json
import pathlib
import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from aiohttp import web

from serinus import errors
from serinus.kube import Kube, KubeSettings
from tests.kube.conftest import FAST
from tests.kube.support import make_certificate
from tests.support import loopback


@dataclass
class Server:
    """An HTTPS API server stand-in: ``/version`` and a one-event ConfigMap watch."""

    url: str
    ca: pathlib.Path
    accepted: set[str] = field(default_factory=set)
    seen: list[str] = field(default_factory=list)
    peers: list[Any] = field(default_factory=list)

    def kubeconfig(self, path: pathlib.Path, user: dict[str, Any]) -> KubeSettings:
        config = {
            "clusters": [
                {
                    "name": "c",
                    "cluster": {"server": self.url, "certificate-authority": str(self.ca)},
                }
            ],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
        path.write_text(yaml.safe_dump(config))
        return KubeSettings(kubeconfig=path, retry=FAST)


@pytest.fixture
async def server(tmp_path: pathlib.Path) -> AsyncIterator[Server]:
    cert, key = make_certificate(tmp_path, "server")
    client_ca, _ = make_certificate(tmp_path, "client")
    state = Server("", cert)

    def authorized(request: web.Request) -> bool:
        given = request.headers.get("Authorization", "")
        state.seen.append(given)
        assert request.transport is not None
        state.peers.append(request.transport.get_extra_info("peercert"))
        return not state.accepted or given in state.accepted

    async def version(request: web.Request) -> web.Response:
        if not authorized(request):
            body = {"kind": "Status", "code": 401, "reason": "Unauthorized", "message": "no"}
            return web.json_response(body, status=401)
        return web.json_response({"major": "1", "minor": "32", "gitVersion": "v1.32.4"})

    async def configmaps(request: web.Request) -> web.Response:
        if not authorized(request):
            return web.json_response({"kind": "Status", "code": 401}, status=401)
        if "watch" in request.query:
            event = {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "2"}}}
            return web.Response(text=json.dumps(event) + "\n", content_type="application/json")
        return web.json_response({"items": [], "metadata": {"resourceVersion": "1"}})

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.load_verify_locations(client_ca)  # asks for a client certificate, checks any given
    context.verify_mode = ssl.CERT_OPTIONAL
    app = web.Application()
    app.router.add_get("/version", version)
    app.router.add_get("/api/v1/namespaces/prod/configmaps", configmaps)
    async with loopback.serving(app, tls=context) as url:
        state.url = url
        yield state


async def test_a_client_certificate_is_presented(server: Server, tmp_path: pathlib.Path) -> None:
    user = {
        "client-certificate": str(tmp_path / "client.crt"),
        "client-key": str(tmp_path / "client.key"),
    }
    async with Kube(server.kubeconfig(tmp_path / "kubeconfig", user)) as kube:
        await kube.server_version()
    assert server.seen == [""]
    subject = dict(pair[0] for pair in server.peers[0]["subject"])
    assert subject == {"commonName": "kubernetes"}


async def test_a_static_token_is_sent_on_every_request(
    server: Server, tmp_path: pathlib.Path
) -> None:
    async with Kube(server.kubeconfig(tmp_path / "kubeconfig", {"token": "t0k"})) as kube:
        await kube.server_version()
        await kube.server_version()
        async for event, _ in kube.watch("v1", "ConfigMap", "prod"):
            assert event == "ADDED"
            break
    assert server.seen == ["Bearer t0k"] * 4  # two versions, the list and the watch
    assert server.peers[0] is None  # no client certificate configured, none sent


async def test_basic_auth_sends_user_and_password(server: Server, tmp_path: pathlib.Path) -> None:
    user = {"username": "admin", "password": "pa:ss"}
    async with Kube(server.kubeconfig(tmp_path / "kubeconfig", user)) as kube:
        await kube.server_version()
    assert server.seen == ["Basic " + base64.b64encode(b"admin:pa:ss").decode()]


def _plugin(tmp_path: pathlib.Path) -> dict[str, Any]:
    """An exec plugin printing the token in ``token`` and counting its runs in ``runs``."""
    script = tmp_path / "plugin.py"
    script.write_text(
        "import json, pathlib, sys\n"
        "here = pathlib.Path(sys.argv[1])\n"
        "with open(here / 'runs', 'a') as runs: runs.write('x')\n"
        "token = (here / 'token').read_text().strip()\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1',\n"
        "    'kind': 'ExecCredential', 'status': {'token': token}}))\n"
    )
    (tmp_path / "token").write_text("first\n")
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(script), str(tmp_path)],
        }
    }


def _runs(tmp_path: pathlib.Path) -> int:
    runs = tmp_path / "runs"
    return len(runs.read_text()) if runs.exists() else 0


async def test_an_exec_plugin_runs_once_and_again_after_a_401(
    server: Server, tmp_path: pathlib.Path
) -> None:
    settings = server.kubeconfig(tmp_path / "kubeconfig", _plugin(tmp_path))
    server.accepted = {"Bearer first"}
    async with Kube(settings) as kube:
        await kube.server_version()
        await kube.server_version()
        assert _runs(tmp_path) == 1
        (tmp_path / "token").write_text("second\n")
        server.accepted = {"Bearer second"}
        await kube.server_version()
        assert _runs(tmp_path) == 2
        await kube.server_version()
        server.accepted = {"Bearer third"}  # the plugin cannot get this one
        with pytest.raises(errors.ForbiddenError, match=r"get /version: no \(401 Unauthorized\)"):
            await kube.server_version()
    assert server.seen == ["Bearer first"] * 3 + ["Bearer second"] * 4
    assert _runs(tmp_path) == 3
