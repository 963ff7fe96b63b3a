"""Each provider serinus added, through MetricChecks: its empty answer as the metric's status.

Covers: a MetricTemplate of cloudwatch, stackdriver, dynatrace, splunk, externalmetrics and keptn
whose backend (a local server answering as the service does; for keptn the sandbox's API server)
has nothing for the query: the check's verdict is nodata, no value, the metric's bound, and the
message the Canary's ``status.metrics[].message`` and the Warning event carry opens with Flagger's
words ("Halt advancement no values found for custom metric: NAME:") followed by the provider's
own cause; the template's Secret reached the backend (its signature, token or header).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from tests.kube.conftest import settings
from tests.kube.support import namespace
from tests.metrics.providers import test_cloudwatch, test_keptn, test_splunk, test_stackdriver
from tests.metrics.providers.test_externalmetrics import values

from serinus.analysis.verdict import Verdict
from serinus.apis.analysis import CanaryMetric
from serinus.controller.checks import measure_with
from serinus.kube import Kube
from serinus.metrics.checks import MetricChecks
from serinus.sandbox.apiserver import ApiServer


@dataclass(frozen=True)
class Case:
    provider: dict[str, Any]
    secret: dict[str, str] | None
    query: str
    answer: Callable[[Any], web.StreamResponse] | None
    cause: str
    """The start of what the provider says after Flagger's words."""
    credentials: Callable[[dict[str, str]], bool] = lambda _: True
    """Whether the request to the backend carried the Secret's credentials."""


def google_key(address: str) -> str:
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "demo-project",
            "private_key_id": "k1",
            "private_key": test_stackdriver.PRIVATE,
            "client_email": "serinus@demo-project.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": f"{address}/token",
        }
    )


def dynatrace_empty(_: Any) -> web.StreamResponse:
    return web.json_response({"totalCount": 1, "resolution": "1m", "result": []})


CASES: dict[str, Callable[[str], Case]] = {
    "cloudwatch": lambda address: Case(
        {"type": "cloudwatch", "region": "eu-west-1", "address": address},
        dict(test_cloudwatch.KEYS),
        json.dumps(test_cloudwatch.QUERY),
        test_cloudwatch.answer([], listed=False),
        "TargetResponseTime: no metric AWS/ApplicationELB/TargetResponseTime"
        "{TargetGroup=podinfo-canary} exists in eu-west-1: check the namespace,",
        lambda h: "/eu-west-1/monitoring/aws4_request" in h.get("Authorization", ""),
    ),
    "stackdriver": lambda address: Case(
        {"type": "stackdriver", "address": address},
        {"project": "demo-project", "serviceAccountKey": google_key(address)},
        test_stackdriver.QUERY,
        test_stackdriver.google(lambda _: web.json_response({})),
        "the query returned no time series: either its fetch and filters match none",
        lambda h: h.get("Authorization") == "Bearer ya29.test",
    ),
    "dynatrace": lambda address: Case(
        {"type": "dynatrace", "address": address},
        {"dynatrace_token": "dt0c01.x"},
        "builtin:service.response.time:avg",
        dynatrace_empty,
        "the metric selector matched no metric; query: builtin:service.response.time:avg",
        lambda h: h.get("Authorization") == "Api-Token dt0c01.x",
    ),
    "splunk": lambda address: Case(
        {"type": "splunk", "address": address},
        dict(test_splunk.SECRET),
        test_splunk.PROGRAM,
        lambda _: test_splunk.stream(),
        "the program published no time series between ",
        lambda h: h.get("X-SF-Token") == "sf-token",
    ),
    "externalmetrics": lambda address: Case(
        {"type": "externalmetrics", "address": address},
        {"token": "sa-token"},
        "prod/http_requests_per_second?labelSelector=app%3Dpodinfo",
        lambda _: values(),
        "the adapter returned no value for metric http_requests_per_second in namespace prod"
        " with labelSelector app=podinfo: it has no series matching the selector",
        lambda h: h.get("Authorization") == "Bearer sa-token",
    ),
    "keptn": lambda _: Case(
        {"type": "keptn"},
        None,
        "keptnmetric/prod/latency",
        None,
        "KeptnMetric prod/latency has no status.value: Keptn's metrics operator has not fetched"
        " a value yet",
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
async def test_an_empty_answer_is_explained_in_the_metric_status(
    kind, serve, http, prometheus, resources, make_canary
):
    handlers: dict[str, Callable[[Any], web.StreamResponse]] = {}
    server = await serve(lambda seen: handlers["answer"](seen))
    case = CASES[kind](server.address)
    handlers["answer"] = case.answer or (lambda _: web.Response(status=404))
    provider = dict(case.provider)
    if case.secret is not None:
        provider["secretRef"] = {"name": "creds"}
        resources.secrets["prod", "creds"] = case.secret
    resources.add_template("prod", "latency", provider, case.query)
    metric = CanaryMetric.model_validate(
        {"name": "latency", "templateRef": {"name": "latency"}, "thresholdRange": {"max": 500}}
    )
    canary = make_canary("prod", [{"name": "latency", "templateRef": {"name": "latency"}}])
    async with contextlib.AsyncExitStack() as stack:
        kube = None
        if kind == "keptn":
            api = await stack.enter_async_context(ApiServer(port=0))
            kube = await stack.enter_async_context(Kube(settings(api.url)))
            await kube.create(namespace("prod"))
            await kube.create(test_keptn.crd("KeptnMetric", "keptnmetrics"))
            await test_keptn.keptn_metric(kube, "latency", None)
        checks = MetricChecks(
            metrics_server=prometheus.address,
            mesh_provider="linkerd",
            resources=resources,
            http=http,
            clock=prometheus.clock,
            timeout=2.0,
            kube=kube,
        )
        result = await measure_with(checks, canary, metric)
    assert (result.verdict, result.value, result.max) == (Verdict.NO_DATA, None, 500)
    opening = "Halt advancement no values found for custom metric: latency: "
    assert result.message.startswith(opening + case.cause), result.message
    if case.answer is not None:
        assert case.credentials(server.requests[-1].headers), server.requests[-1].headers
