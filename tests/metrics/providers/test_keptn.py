"""Keptn against the sandbox's API server with Keptn's two CRDs registered.

Covers: the query format (both words, singular and plural, duration and arguments, a malformed
query refused naming the format); a KeptnMetric's ``status.value`` read; a KeptnMetric without a
value explained (Keptn's errMsg, or not fetched yet); a missing KeptnMetric; an Analysis created
with the definition, timeframe and arguments, completed by a stand-in for Keptn's operator, read
as 1 or 0 and deleted afterwards; an Analysis Keptn never completes; the online check asking
whether the API server serves KeptnMetric; no Kubernetes connection; the operator's
ServiceAccount refused by RBAC (the API server's own wording), then allowed by a Role with get on
keptnmetrics; an API server throttling (429) once is asked again, throttling for good is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pathlib
from collections.abc import AsyncIterator

import httpx
import pytest
from tests.kube.conftest import FAST, settings
from tests.kube.support import FaultProxy, namespace
from tests.support import manifests

from serinus.errors import InvalidCanaryError, NoValuesFoundError, QueryError
from serinus.kube import Kube, KubeSettings
from serinus.metrics.providers import keptn
from serinus.metrics.providers.base import ProviderSettings
from serinus.metrics.providers.keptn import KeptnProvider, KeptnQuery
from serinus.sandbox.apiserver import ApiServer

GROUP = "metrics.keptn.sh"


def crd(kind: str, plural: str) -> dict:
    return manifests.simple_crd(GROUP, kind, plural, ("v1beta1",))


@pytest.fixture
async def keptn_kube(cluster: Kube) -> Kube:
    for manifest in (crd("KeptnMetric", "keptnmetrics"), crd("Analysis", "analyses")):
        await cluster.create(manifest)
    return cluster


def provider(kube, http=None) -> KeptnProvider:
    return KeptnProvider(
        ProviderSettings(kind="keptn", http=http, kube=kube, source="MetricTemplate prod/keptn")
    )


async def keptn_metric(kube, name: str, status: dict | None) -> None:
    await kube.create(
        {
            "apiVersion": f"{GROUP}/v1beta1",
            "kind": "KeptnMetric",
            "metadata": {"name": name, "namespace": "prod"},
            "spec": {
                "provider": {"name": "prometheus"},
                "query": "sum(rate(x[1m]))",
                "fetchIntervalSeconds": 10,
            },
        }
    )
    if status is not None:
        await kube.patch_status(f"{GROUP}/v1beta1", "KeptnMetric", name, "prod", {"status": status})


@pytest.mark.parametrize(
    ("query", "parsed"),
    [
        ("keptnmetric/prod/latency", KeptnQuery("KeptnMetric", "prod", "latency")),
        ("KeptnMetrics/prod/latency\n", KeptnQuery("KeptnMetric", "prod", "latency")),
        ("analysis/prod/slo", KeptnQuery("Analysis", "prod", "slo", "1m", {})),
        (
            "analyses/prod/slo/5m/Service=podinfo;Step=2",
            KeptnQuery("Analysis", "prod", "slo", "5m", {"Service": "podinfo", "Step": "2"}),
        ),
    ],
)
def test_queries_name_a_resource(query, parsed):
    assert keptn.parse(query) == parsed


@pytest.mark.parametrize("query", ["keptnmetric/prod", "metric/prod/x", "analysis//x", ""])
def test_malformed_queries_name_the_format(query):
    with pytest.raises(
        InvalidCanaryError,
        match=r"spec\.query: expected <keptnmetric\|analysis>/<namespace>/<name>",
    ):
        keptn.parse(query, source="MetricTemplate prod/keptn")


async def test_keptn_metric_value(keptn_kube):
    await keptn_metric(keptn_kube, "latency", {"value": "0.125", "rawValue": "MC4xMjU="})
    assert await provider(keptn_kube).query("keptnmetric/prod/latency") == 0.125


@pytest.mark.parametrize(
    ("status", "cause"),
    [
        (
            {"errMsg": "client_error: 401 Unauthorized"},
            "Keptn could not fetch it: client_error: 401 Unauthorized",
        ),
        (None, "Keptn's metrics operator has not fetched a value yet"),
    ],
)
async def test_keptn_metric_without_value_is_explained(keptn_kube, status, cause):
    await keptn_metric(keptn_kube, "latency", status)
    with pytest.raises(NoValuesFoundError) as caught:
        await provider(keptn_kube).query("keptnmetric/prod/latency")
    assert str(caught.value).startswith(f"KeptnMetric prod/latency has no status.value: {cause}")


async def test_missing_keptn_metric(keptn_kube):
    with pytest.raises(QueryError, match="keptn: KeptnMetric prod/nope not found"):
        await provider(keptn_kube).query("keptnmetric/prod/nope")


async def play_keptn(kube, passed: bool, seen: list) -> None:
    """Keptn's operator, as far as the provider sees it: complete each new Analysis."""
    while True:
        for analysis in await kube.list(f"{GROUP}/v1beta1", "Analysis", "prod"):
            if "status" not in analysis:
                seen.append(analysis)
                name = analysis["metadata"]["name"]
                status = {"state": "Completed", "pass": passed, "raw": "{}"}
                await kube.patch_status(
                    f"{GROUP}/v1beta1", "Analysis", name, "prod", {"status": status}
                )
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(("passed", "value"), [(True, 1.0), (False, 0.0)])
async def test_analysis_is_created_read_and_deleted(keptn_kube, passed, value):
    seen: list = []
    operator = asyncio.create_task(play_keptn(keptn_kube, passed, seen))
    try:
        assert await provider(keptn_kube).query("analysis/prod/slo/5m/service=podinfo") == value
    finally:
        operator.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await operator
    (analysis,) = seen
    assert analysis["metadata"]["name"].startswith("slo-")
    assert analysis["spec"] == {
        "analysisDefinition": {"name": "slo"},
        "timeframe": {"recent": "5m"},
        "args": {"service": "podinfo"},
    }
    assert await keptn_kube.list(f"{GROUP}/v1beta1", "Analysis", "prod") == []


async def test_analysis_never_completed(keptn_kube, monkeypatch):
    monkeypatch.setattr(keptn, "ANALYSIS_TIMEOUT", 0.6)
    monkeypatch.setattr(keptn, "POLL_EVERY", 0.1)
    with pytest.raises(
        NoValuesFoundError,
        match=r"Keptn did not complete Analysis prod/slo-\w+ \(of AnalysisDefinition slo\)"
        r" within 0.6s \(state: none\)",
    ):
        await provider(keptn_kube).query("analysis/prod/slo")
    assert await keptn_kube.list(f"{GROUP}/v1beta1", "Analysis", "prod") == []


async def test_online_check_needs_keptns_crds(cluster):
    with pytest.raises(QueryError, match=r"not serve KeptnMetric in metrics\.keptn\.sh/v1beta1"):
        await provider(cluster).check_online()
    await cluster.create(crd("KeptnMetric", "keptnmetrics"))
    cluster.kinds.forget(f"{GROUP}/v1beta1", "KeptnMetric")
    await provider(cluster).check_online()


def test_without_a_cluster():
    with pytest.raises(InvalidCanaryError, match="there is no Kubernetes connection here"):
        provider(None)


@pytest.fixture
async def keptn_api() -> AsyncIterator[tuple[ApiServer, Kube]]:
    """An API server with Keptn's CRDs and a KeptnMetric prod/latency of value 0.5, and its
    admin client."""
    async with ApiServer(port=0) as server, Kube(settings(server.url)) as admin:
        await admin.create(namespace("prod"))
        for manifest in (crd("KeptnMetric", "keptnmetrics"), crd("Analysis", "analyses")):
            await admin.create(manifest)
        await keptn_metric(admin, "latency", {"value": "0.5"})
        yield server, admin


async def service_account_token(server: ApiServer, admin: Kube) -> str:
    """A token of the new ServiceAccount prod/serinus, as the operator's pod has."""
    account = {"apiVersion": "v1", "kind": "ServiceAccount"}
    await admin.create({**account, "metadata": {"name": "serinus", "namespace": "prod"}})
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.post(
            "/api/v1/namespaces/prod/serviceaccounts/serinus/token", json=request
        )
    answer.raise_for_status()
    return str(answer.json()["status"]["token"])


def kubeconfig(path: pathlib.Path, server: str, token: str) -> pathlib.Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sandbox", "cluster": {"server": server}}],
        "users": [{"name": "serinus", "user": {"token": token}}],
        "contexts": [{"name": "serinus", "context": {"cluster": "sandbox", "user": "serinus"}}],
        "current-context": "serinus",
    }
    path.write_text(json.dumps(config))
    return path


async def test_refused_by_rbac_then_allowed(keptn_api, tmp_path):
    server, admin = keptn_api
    token = await service_account_token(server, admin)
    config = kubeconfig(tmp_path / "kubeconfig", server.url, token)
    async with Kube(KubeSettings(kubeconfig=config, retry=FAST)) as operator:
        with pytest.raises(QueryError) as caught:
            await provider(operator).query("keptnmetric/prod/latency")
        assert str(caught.value).startswith("keptn: KeptnMetric prod/latency: ")
        assert (
            'User "system:serviceaccount:prod:serinus" cannot get resource "keptnmetrics" in API'
            ' group "metrics.keptn.sh" in the namespace "prod"'
        ) in str(caught.value)
        rbac = "rbac.authorization.k8s.io/v1"
        rule = {"apiGroups": [GROUP], "resources": ["keptnmetrics"], "verbs": ["get"]}
        meta = {"name": "keptn-reader", "namespace": "prod"}
        await admin.create({"apiVersion": rbac, "kind": "Role", "metadata": meta, "rules": [rule]})
        await admin.create(
            {
                "apiVersion": rbac,
                "kind": "RoleBinding",
                "metadata": meta,
                "roleRef": {"apiGroup": rbac.split("/")[0], "kind": "Role", "name": "keptn-reader"},
                "subjects": [{"kind": "ServiceAccount", "name": "serinus", "namespace": "prod"}],
            }
        )
        assert await provider(operator).query("keptnmetric/prod/latency") == 0.5


async def test_throttling_is_retried_then_reported(keptn_api):
    server, _ = keptn_api
    async with FaultProxy(server.url) as proxy, Kube(settings(proxy.url)) as operator:
        path = f"/apis/{GROUP}/v1beta1/namespaces/prod/keptnmetrics/latency"
        proxy.fail(429, times=1, reason="TooManyRequests", headers={"Retry-After": "0"}, path=path)
        assert await provider(operator).query("keptnmetric/prod/latency") == 0.5
        proxy.fail(
            429,
            times=10,
            reason="TooManyRequests",
            message="Too many requests, please try again later.",
            headers={"Retry-After": "0"},
            path=path,
        )
        with pytest.raises(QueryError) as caught:
            await provider(operator).query("keptnmetric/prod/latency")
    assert str(caught.value).startswith("keptn: KeptnMetric prod/latency: ")
    assert "Too many requests, please try again later." in str(caught.value)
    assert len(proxy.seen("GET", "keptnmetrics/latency")) == 2 + FAST.attempts
