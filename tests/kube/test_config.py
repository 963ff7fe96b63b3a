"""Connection settings: kubeconfig files with contexts, the in-cluster service account, errors.

Covers: a kubeconfig's current context is used, ``context`` picks another; the context's
namespace is the default namespace and ``namespace`` overrides it; a missing kubeconfig, an
unknown context, credentials lightkube cannot use (an auth-provider, a missing CA file), a
context without kubeconfig and no configuration at all are KubeConfigErrors
that say what was expected; in a pod, the service account's token is sent as a bearer token over
TLS verified with its CA, its namespace is the default, and a rotated token is picked up on the
next 401; a server whose certificate the CA does not sign is unreachable; a missing service
account file is named.
"""

from __future__ import annotations

import json
import pathlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import yaml
from aiohttp import web

from serinus import errors
from serinus.kube import Kube, KubeSettings
from serinus.kube.errors import KubeConfigError, UnreachableError
from serinus.sandbox.apiserver import ApiServer
from tests.kube.conftest import FAST
from tests.kube.support import make_certificate
from tests.support import loopback


def write_kubeconfig(
    path: pathlib.Path, contexts: dict[str, tuple[str, str]], current: str
) -> pathlib.Path:
    """contexts: name -> (server URL, namespace)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": url}} for n, (url, _) in contexts.items()],
        "users": [{"name": "nobody", "user": {}}],
        "contexts": [
            {"name": n, "context": {"cluster": n, "user": "nobody", "namespace": ns}}
            for n, (_, ns) in contexts.items()
        ],
        "current-context": current,
    }
    path.write_text(yaml.safe_dump(config))
    return path


async def test_the_current_context_is_used_and_context_picks_another(
    api: ApiServer, tmp_path: pathlib.Path
) -> None:
    path = write_kubeconfig(
        tmp_path / "kubeconfig",
        {"dead": ("http://127.0.0.1:9", "default"), "sandbox": (api.url, "prod")},
        current="dead",
    )
    async with Kube(KubeSettings(kubeconfig=path, context="sandbox", retry=FAST)) as kube:
        assert (await kube.server_version())["major"] == "1"
        assert kube.namespace == "prod"
    async with Kube(KubeSettings(kubeconfig=path, retry=FAST)) as kube:
        with pytest.raises(UnreachableError):
            await kube.server_version()
    settings = KubeSettings(kubeconfig=path, context="sandbox", namespace="default")
    async with Kube(settings) as kube:
        assert kube.namespace == "default"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            KubeSettings(kubeconfig=pathlib.Path("/nonexistent/kubeconfig")),
            "/nonexistent/kubeconfig",
        ),
        (
            KubeSettings(),
            "expected a kubeconfig file \\(--kubeconfig\\) or a pod's service account",
        ),
    ],
)
def test_unusable_settings_say_what_was_expected(settings: KubeSettings, message: str) -> None:
    with pytest.raises(KubeConfigError, match=message) as caught:
        Kube(settings)
    assert not errors.is_retriable(caught.value)


def test_an_unknown_context_is_named(api: ApiServer, tmp_path: pathlib.Path) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", {"sandbox": (api.url, "prod")}, "sandbox")
    with pytest.raises(KubeConfigError, match="Context 'staging' not found"):
        Kube(KubeSettings(kubeconfig=path, context="staging"))


@pytest.mark.parametrize(
    ("cluster", "user", "message"),
    [
        ({}, {"auth-provider": {"name": "gcp"}}, "auth-provider not supported"),
        ({"certificate-authority": "/nonexistent/ca.crt"}, {"token": "x"}, "No such file"),
    ],
)
def test_credentials_lightkube_cannot_use_are_config_errors(
    tmp_path: pathlib.Path, cluster: dict[str, str], user: dict[str, object], message: str
) -> None:
    config = {
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443", **cluster}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(KubeConfigError, match=message):
        Kube(KubeSettings(kubeconfig=path))


def test_a_context_needs_a_kubeconfig() -> None:
    with pytest.raises(KubeConfigError, match="context 'staging' needs a kubeconfig file"):
        KubeSettings(context="staging")


# In a pod: a real HTTPS server standing in for the API server's /version.


@dataclass
class Cluster:
    account: pathlib.Path
    port: int
    accepted: list[str] = field(default_factory=lambda: ["Bearer token-1"])
    seen: list[str] = field(default_factory=list)

    def settings(self) -> KubeSettings:
        return KubeSettings(
            service_host="127.0.0.1",
            service_port=str(self.port),
            service_account=self.account,
            retry=FAST,
        )


@pytest.fixture
async def cluster(tmp_path: pathlib.Path) -> AsyncIterator[Cluster]:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    cert, key = make_certificate(tmp_path, "server")
    (account / "ca.crt").write_bytes(cert.read_bytes())
    (account / "token").write_text("token-1\n")
    (account / "namespace").write_text("prod")
    state = Cluster(account, 0)

    async def version(request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "")
        state.seen.append(given)
        if given not in state.accepted:
            body = {
                "kind": "Status",
                "code": 401,
                "reason": "Unauthorized",
                "message": "Unauthorized",
            }
            return web.Response(status=401, text=json.dumps(body), content_type="application/json")
        return web.json_response({"major": "1", "minor": "32", "gitVersion": "v1.32.4"})

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    app = web.Application()
    app.router.add_get("/version", version)
    async with loopback.serving(app, tls=context) as url:
        state.port = int(url.rsplit(":", 1)[1])
        yield state


async def test_in_a_pod_the_service_account_token_is_sent_over_verified_tls(
    cluster: Cluster,
) -> None:
    async with Kube(cluster.settings()) as kube:
        assert (await kube.server_version())["gitVersion"] == "v1.32.4"
        assert kube.namespace == "prod"
    assert cluster.seen == ["Bearer token-1"]


async def test_a_rotated_token_is_picked_up_on_the_next_401(cluster: Cluster) -> None:
    async with Kube(cluster.settings()) as kube:
        await kube.server_version()
        (cluster.account / "token").write_text("token-2\n")
        cluster.accepted = ["Bearer token-2"]
        await kube.server_version()
    assert cluster.seen == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


async def test_a_server_the_ca_does_not_vouch_for_is_unreachable(
    cluster: Cluster, tmp_path: pathlib.Path
) -> None:
    other, _ = make_certificate(tmp_path, "other")
    (cluster.account / "ca.crt").write_bytes(other.read_bytes())
    async with Kube(cluster.settings()) as kube:
        with pytest.raises(UnreachableError, match="CERTIFICATE_VERIFY_FAILED"):
            await kube.server_version()
    assert cluster.seen == []


def test_a_missing_service_account_file_is_named(tmp_path: pathlib.Path) -> None:
    settings = KubeSettings(service_host="10.0.0.1", service_port="443", service_account=tmp_path)
    with pytest.raises(KubeConfigError, match=f"service account file {tmp_path}/token"):
        Kube(settings)
