"""MetricChecks, the Metrics port: built-ins, templates and inline queries against real servers.

Covers: the built-in success rate and duration of Linkerd, Istio, NGINX and the generic HTTP
metrics on data written to a real Prometheus (9:1 counters give 90.0; histograms give the P99 in
milliseconds); ``spec.metricsServer`` over the operator's default; "no values found" with Flagger's
opening words and the cause a follow-up query finds (NaN, no such series, no recent traffic) for
built-ins, templates and inline queries; MetricTemplates with variables, in the Canary's namespace
or their own, with credentials from their Secret, and with ``insecureSkipVerify`` against a TLS
server with a self-signed certificate; a SaaS backend's empty answer explained under Flagger's
opening words in the metric's status (verdict nodata); the template's region reaching CloudWatch;
``check_online`` checks every backend once and fails on the first that does not answer; a
Knative target is measured by its revisions, read from its Service; the judge's watermark is the
oldest of both sides' newest samples (None while a side has no series); a judged MetricTemplate
counts each side's events for the same pinned window (its ``{{ target }}`` the canary's workload or
the primary's), the requests coming from the mesh's counter, and a template that cannot be pinned
is refused naming the metric's templateRef.
"""

from __future__ import annotations

import datetime
import ssl
import subprocess

import pytest
from aiohttp import web
from tests.routers.support import crds
from tests.support import loopback, manifests
from tests.support.knative import SERVICE, KnativeServing, knative_service

from serinus.analysis.verdict import Verdict
from serinus.apis.analysis import CanaryMetric
from serinus.apis.canary import Canary
from serinus.controller.checks import measure_with
from serinus.errors import (
    InvalidCanaryError,
    MultipleValuesError,
    NotFoundError,
    NoValuesFoundError,
    ProviderUnavailableError,
    UnknownProviderError,
)
from serinus.kube import Kube, KubeSettings
from serinus.metrics.checks import MetricChecks

LINKERD_RATE = (
    'sum(rate(response_total{namespace="%s",deployment=~"podinfo",classification!="failure",'
    'direction="inbound"}[1m])) / sum(rate(response_total{namespace="%s",deployment=~"podinfo",'
    'direction="inbound"}[1m])) * 100'
)


@pytest.fixture
def checks(prometheus, resources, http):
    def build(mesh_provider: str = "linkerd", metrics_server: str | None = None) -> MetricChecks:
        return MetricChecks(
            metrics_server=metrics_server or prometheus.address,
            mesh_provider=mesh_provider,
            resources=resources,
            http=http,
            clock=prometheus.clock,
            timeout=2.0,
        )

    return build


def metric(name: str, **fields) -> CanaryMetric:
    return CanaryMetric.model_validate({"name": name, **fields})


@pytest.mark.parametrize(
    ("provider", "namespace", "success_rate", "duration_ms"),
    [
        ("linkerd", "linkerd", 90.0, 199.0),
        ("istio", "istio", 90.0, 497.5),
        ("nginx", "nginx", 80.0, 250.0),
        ("kubernetes", "http", 95.0, 995.0),
    ],
)
async def test_built_in_metrics_measure_the_canary(
    checks, make_canary, provider, namespace, success_rate, duration_ms
):
    canary = make_canary(namespace, [], provider=provider)
    measure = checks(mesh_provider="istio").measure
    assert await measure(canary, metric("request-success-rate")) == pytest.approx(success_rate)
    assert await measure(canary, metric("request-duration")) == pytest.approx(duration_ms)


async def test_canary_metrics_server_wins_over_the_default(
    checks, make_canary, closed_port, prometheus
):
    canary = make_canary("linkerd", [], metricsServer=prometheus.address)
    default_is_down = checks(metrics_server=f"http://127.0.0.1:{closed_port}")
    assert await default_is_down.measure(canary, metric("request-success-rate")) == 90.0
    with pytest.raises(ProviderUnavailableError, match="refused the connection"):
        await default_is_down.measure(make_canary("linkerd", []), metric("request-success-rate"))


async def test_nan_says_no_requests_in_the_window(checks, make_canary):
    canary = make_canary("linkerd-flat", [])
    with pytest.raises(NoValuesFoundError) as caught:
        await checks().measure(canary, metric("request-success-rate"))
    assert str(caught.value) == (
        "no values found for linkerd metric request-success-rate probably podinfo.linkerd-flat"
        " is not receiving traffic: the query returned NaN: 0/0, i.e. no requests in the window;"
        f" query: {LINKERD_RATE % ('linkerd-flat', 'linkerd-flat')}"
    )


async def test_no_series_names_the_labels_to_check(checks, make_canary):
    canary = make_canary("prod", [])
    with pytest.raises(NoValuesFoundError) as caught:
        await checks().measure(canary, metric("request-success-rate"))
    assert str(caught.value) == (
        "no values found for linkerd metric request-success-rate probably podinfo.prod is not"
        ' receiving traffic: no series match response_total{namespace="prod",deployment=~"podinfo",'
        'direction="inbound"}: check the labels/the mesh injection;'
        f" query: {LINKERD_RATE % ('prod', 'prod')}"
    )


async def test_series_without_recent_samples_mean_no_traffic(checks, make_canary):
    canary = make_canary("linkerd-stale", [])
    with pytest.raises(NoValuesFoundError) as caught:
        await checks().measure(canary, metric("request-duration"))
    message = str(caught.value)
    assert message.startswith(
        "no values found for linkerd metric request-duration probably podinfo.linkerd-stale is not"
        " receiving traffic: "
    )
    assert "no series match response_latency_ms_bucket" in message  # the stale set has no buckets
    with pytest.raises(NoValuesFoundError) as caught:
        await checks().measure(canary, metric("request-success-rate"))
    assert ": no traffic reached the canary in the last 1m (series matching response_total{" in (
        str(caught.value)
    )


async def test_template_with_variables_in_the_canarys_namespace(
    checks, make_canary, resources, prometheus
):
    resources.add_template(
        "linkerd",
        "success-rate",
        {"type": "prometheus", "address": prometheus.address},
        'sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",'
        'classification!="failure",direction="{{ variables.direction }}"}[{{ interval }}]))\n'
        '/\nsum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",'
        'direction="{{ variables.direction }}"}[{{ interval }}])) * 100',
    )
    canary = make_canary("linkerd", [])
    value = await checks().measure(
        canary,
        metric(
            "success-rate",
            templateRef={"name": "success-rate"},
            templateVariables={"direction": "inbound"},
        ),
    )
    assert value == 90.0


async def test_template_in_its_own_namespace(checks, make_canary, resources, prometheus):
    resources.add_template(
        "flagger-system",
        "primary-latency",
        {"type": "prometheus", "address": prometheus.address},
        'histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace="{{ namespace }}",'
        'deployment="{{ target }}-primary"}[{{ interval }}])) by (le))',
    )
    canary = make_canary("linkerd", [])
    ref = {"name": "primary-latency", "namespace": "flagger-system"}
    assert await checks().measure(canary, metric("latency", templateRef=ref)) == pytest.approx(29.9)
    with pytest.raises(NotFoundError):
        await checks().measure(canary, metric("latency", templateRef={"name": "primary-latency"}))


async def test_template_without_data_says_custom_metric(checks, make_canary, resources, prometheus):
    resources.add_template(
        "prod",
        "errors",
        {"type": "prometheus", "address": prometheus.address},
        'sum(rate(http_requests_total{namespace="{{ namespace }}",status=~"5.."}[1m]))',
    )
    with pytest.raises(NoValuesFoundError) as caught:
        await checks().measure(
            make_canary("prod", []), metric("errors", templateRef={"name": "errors"})
        )
    assert str(caught.value) == (
        "no values found for custom metric: errors: no series match"
        ' http_requests_total{namespace="prod",status=~"5.."}: check the labels/the mesh'
        ' injection; query: sum(rate(http_requests_total{namespace="prod",status=~"5.."}[1m]))'
    )


async def test_template_with_several_series(checks, make_canary, resources, prometheus):
    resources.add_template(
        "linkerd",
        "by-deployment",
        {"type": "prometheus", "address": prometheus.address},
        'sum by (deployment) (rate(response_total{namespace="{{ namespace }}"}[1m]))',
    )
    canary = make_canary("linkerd", [])
    with pytest.raises(MultipleValuesError, match="returned 2 series"):
        await checks().measure(canary, metric("rps", templateRef={"name": "by-deployment"}))


async def test_template_credentials_come_from_its_secret(checks, make_canary, resources, serve):
    async def answer(_):
        result = [{"metric": {}, "value": [1, "7"]}]
        return web.json_response(
            {"status": "success", "data": {"resultType": "vector", "result": result}}
        )

    server = await serve(answer)
    resources.add_template(
        "prod",
        "auth",
        {
            "type": "prometheus",
            "address": server.address,
            "secretRef": {"name": "prom-token"},
            "headers": {"X-Scope-OrgID": "tenant-1"},
        },
        "vector(7)",
    )
    resources.secrets["prod", "prom-token"] = {"token": "t0ken"}
    assert (
        await checks().measure(make_canary("prod", []), metric("m", templateRef={"name": "auth"}))
        == 7
    )
    headers = server.requests[0].headers
    assert headers["Authorization"] == "Bearer t0ken"
    assert headers["X-Scope-OrgID"] == "tenant-1"


async def test_inline_query_runs_against_the_metrics_server(checks, make_canary):
    canary = make_canary("linkerd", [])
    inline = metric(
        "rps",
        query='sum(rate(response_total{namespace="{{ namespace }}",deployment="podinfo"}[1m]))',
    )
    assert await checks().measure(canary, inline) == 10.0
    missing = metric("rps", query='sum(rate(response_total{namespace="gone"}[1m]))')
    with pytest.raises(NoValuesFoundError, match=r"^no values found for metric: rps: no series"):
        await checks().measure(canary, missing)


async def test_templates_of_the_saas_types_explain_no_values_in_the_metric_status(
    checks, make_canary, resources, serve
):
    def dynatrace(seen):
        series = {"dimensions": [], "dimensionMap": {}, "timestamps": [1], "values": [None]}
        return web.json_response({"result": [{"metricId": "m", "data": [series]}]})

    server = await serve(dynatrace)
    provider = {"type": "dynatrace", "address": server.address, "secretRef": {"name": "dt"}}
    resources.add_template("prod", "latency", provider, "builtin:service.response.time:avg")
    resources.secrets["prod", "dt"] = {"dynatrace_token": "dt0c01.x"}
    latency = metric("latency", templateRef={"name": "latency"}, thresholdRange={"max": 500})
    canary = make_canary("prod", [{"name": "latency", "templateRef": {"name": "latency"}}])
    result = await measure_with(checks(), canary, latency)
    assert (result.verdict, result.value, result.max) == (Verdict.NO_DATA, None, 500)
    assert result.message.startswith(
        "Halt advancement no values found for custom metric: latency: the series exists but had"
        " no data points between "
    )
    assert server.requests[0].headers["Authorization"] == "Api-Token dt0c01.x"


async def test_cloudwatch_templates_take_their_region(checks, make_canary, resources, serve):
    def cloudwatch(seen):
        result = {"Id": "m1", "Values": [4.0], "StatusCode": "Complete"}
        return web.json_response({"MetricDataResults": [result]})

    server = await serve(cloudwatch)
    provider = {"type": "cloudwatch", "region": "ap-south-1", "address": server.address}
    resources.add_template("prod", "cw", {**provider, "secretRef": {"name": "aws"}}, QUERY)
    resources.secrets["prod", "aws"] = {"aws_access_key_id": "AK", "aws_secret_access_key": "s"}
    canary = make_canary("prod", [{"name": "m", "templateRef": {"name": "cw"}}])
    assert await checks().measure(canary, metric("m", templateRef={"name": "cw"})) == 4.0
    assert "/ap-south-1/monitoring/aws4_request" in server.requests[0].headers["Authorization"]


QUERY = (
    '[{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"},'
    ' "Period": 60, "Stat": "Sum"}}]'
)


async def test_service_target_outside_istio_has_no_built_in_queries(checks, make_canary):
    canary = make_canary(
        "linkerd",
        [{"name": "request-success-rate"}],
        targetRef={"kind": "Service", "name": "podinfo"},
    )
    with pytest.raises(UnknownProviderError, match="provider linkerd:service is not supported"):
        await checks().check_online(canary)


async def test_check_online_asks_every_backend_once(checks, make_canary, resources, serve):
    async def datadog(request):
        return web.json_response({"valid": True})

    server = await serve(datadog)
    resources.add_template(
        "prod",
        "dd",
        {"type": "datadog", "address": server.address, "secretRef": {"name": "dd"}},
        "avg:x{*}",
    )
    resources.secrets["prod", "dd"] = {"datadog_api_key": "a", "datadog_application_key": "b"}
    canary = make_canary(
        "prod",
        [
            {"name": "request-success-rate"},
            {"name": "request-duration"},
            {"name": "a", "templateRef": {"name": "dd"}},
            {"name": "b", "templateRef": {"name": "dd"}},
        ],
    )
    await checks().check_online(canary)
    assert [r.path for r in server.requests] == ["/api/v1/validate"]


async def test_check_online_fails_when_the_metrics_server_is_down(checks, make_canary, closed_port):
    canary = make_canary("prod", [{"name": "request-success-rate"}])
    down = checks(metrics_server=f"http://127.0.0.1:{closed_port}")
    with pytest.raises(ProviderUnavailableError, match=f"127.0.0.1:{closed_port} refused"):
        await down.check_online(canary)


@pytest.fixture
def tls_context(tmp_path) -> ssl.SSLContext:
    """A server context with a freshly made self-signed certificate for 127.0.0.1."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_insecure_skip_verify_reaches_a_self_signed_server(
    checks, make_canary, resources, tls_context
):
    async def answer(request):
        result = [{"metric": {}, "value": [1, "1"]}]
        return web.json_response(
            {"status": "success", "data": {"resultType": "vector", "result": result}}
        )

    app = web.Application()
    app.router.add_get("/api/v1/query", answer)
    runner, address = await loopback.start(app, tls=tls_context)
    try:
        provider = {"type": "prometheus", "address": address}
        resources.add_template("prod", "strict", provider, "vector(1)")
        resources.add_template("prod", "lax", {**provider, "insecureSkipVerify": True}, "vector(1)")
        checker = checks()
        canary = make_canary("prod", [])
        assert await checker.measure(canary, metric("m", templateRef={"name": "lax"})) == 1.0
        with pytest.raises(ProviderUnavailableError, match="CERTIFICATE_VERIFY_FAILED"):
            await checker.measure(canary, metric("m", templateRef={"name": "strict"}))
        await checker.aclose()
    finally:
        await runner.cleanup()


async def test_a_knative_target_is_measured_by_its_revisions(api, prometheus, resources, http):
    """The canary's revision (the queries' route) and the primary's come from the Service."""

    async with Kube(KubeSettings.for_server(api.url, namespace="knative")) as kube:
        await manifests.create_all(kube, crds=crds(), namespaces=["knative"])
        service = await kube.create(knative_service("podinfo", "knative", "podinfo:6.0.0"))
        serving = KnativeServing(kube, "knative")
        await serving.reconcile("podinfo")
        service = await kube.get(*SERVICE, "podinfo", "knative")
        service["spec"]["template"]["metadata"] = {"annotations": {"release": "2"}}
        service["metadata"]["annotations"] = {"flagger.app/primary-revision": "podinfo-00001"}
        await kube.replace(service)
        await serving.reconcile("podinfo")  # podinfo-00002, the canary
        canary = Canary.model_validate(
            {
                "metadata": {"name": "podinfo", "namespace": "knative"},
                "spec": {
                    "provider": "knative",
                    "targetRef": {
                        "apiVersion": "serving.knative.dev/v1",
                        "kind": "Service",
                        "name": "podinfo",
                    },
                    "analysis": {"interval": "1m", "stepWeight": 10},
                },
            }
        )
        checks = MetricChecks(
            metrics_server=prometheus.address,
            mesh_provider="knative",
            resources=resources,
            http=http,
            clock=prometheus.clock,
            kube=kube,
        )
        assert await checks.measure(canary, metric("request-success-rate")) == pytest.approx(90.0)
        assert await checks.measure(canary, metric("request-duration")) == pytest.approx(497.5)
        history = await checks.primary_history(
            canary,
            metric("request-success-rate"),
            until=prometheus.clock.now(),
            seconds=60,
            step=30,
        )
        assert [round(c.requests) for c in history.counts] == [600, 600]  # podinfo-00001: 20/s


@pytest.mark.parametrize(
    ("namespace", "before_end", "behind"),
    [
        ("linkerd", 0, 0),  # both sides scraped at the evaluation time
        ("linkerd", 5, 10),  # between two scrapes: the last one, 10 s before
        ("linkerd-late", 0, 20),  # the primary's last two scrapes are not in yet
    ],
)
async def test_the_watermark_is_the_oldest_newest_sample_of_both_sides(
    make_canary, prometheus, clock_at, resources, http, namespace, before_end, behind
):
    at = prometheus.time - before_end
    checker = MetricChecks(
        metrics_server=prometheus.address,
        mesh_provider="linkerd",
        resources=resources,
        http=http,
        clock=clock_at(at),
    )
    canary = make_canary(namespace, [])
    for name in ("request-success-rate", "request-duration"):
        if name == "request-duration" and namespace != "linkerd":
            continue
        mark = await checker.watermark(canary, metric(name))
        assert mark is not None
        assert mark.timestamp() == prometheus.time - behind


async def test_no_watermark_while_a_side_has_no_series(checks, make_canary):
    canary = make_canary("linkerd-flat", [])  # no primary series at all
    assert await checks().watermark(canary, metric("request-success-rate")) is None


FAILURES = (
    'sum(increase(response_total{namespace="{{ namespace }}",deployment="{{ target }}",'
    'classification="failure"}[{{ interval }}]))'
)


async def test_a_judged_template_counts_both_sides_for_the_same_window(
    checks, make_canary, resources, prometheus
):
    resources.add_template(
        "linkerd", "failures", {"type": "prometheus", "address": prometheus.address}, FAILURES
    )
    canary = make_canary("linkerd", [])
    judged = metric("failures", templateRef={"name": "failures"}, judge={})
    now = prometheus.clock.now()
    counts = await checks().compare_counts(
        canary, judged, since=now - datetime.timedelta(seconds=120), until=now
    )
    # The dataset: canary 9 ok + 1 failed per second, primary 99 + 1.
    assert counts.canary.requests == pytest.approx(1200)
    assert counts.canary.errors == pytest.approx(120)
    assert counts.primary.requests == pytest.approx(12000)
    assert counts.primary.errors == pytest.approx(120)
    history = await checks().primary_history(canary, judged, until=now, seconds=60, step=30)
    assert [(round(c.requests), round(c.errors)) for c in history.counts] == [(3000, 30)] * 2
    mark = await checks().watermark(canary, judged)
    assert mark is not None
    assert mark.timestamp() == prometheus.time


async def test_a_judged_template_that_cannot_be_pinned_is_refused(
    checks, make_canary, resources, prometheus
):
    resources.add_template(
        "linkerd",
        "failures-1m",
        {"type": "prometheus", "address": prometheus.address},
        FAILURES.replace("{{ interval }}", "1m"),
    )
    canary = make_canary("linkerd", [])
    judged = metric("failures", templateRef={"name": "failures-1m"}, judge={})
    now = prometheus.clock.now()
    with pytest.raises(InvalidCanaryError) as raised:
        await checks().compare_counts(canary, judged, since=now, until=now)
    assert str(raised.value) == (
        "spec.analysis.metrics[failures].templateRef: a judged metric needs a query that counts"
        " bad events over [{{ interval }}] (e.g. sum(increase(<counter>{...}[{{ interval }}])))"
        " and selects the workload with {{ target }}, so that the judge can read the canary and"
        " the primary for the same explicit window; MetricTemplate linkerd/failures-1m's query"
        " has no [{{ interval }}]"
    )
    with pytest.raises(InvalidCanaryError):  # at initialization already
        await checks().check_online(
            make_canary(
                "linkerd",
                [{"name": "failures", "templateRef": {"name": "failures-1m"}, "judge": {}}],
            )
        )
