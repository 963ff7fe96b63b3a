"""Reading resource documents: the seed's Canary, a typical v1beta1 set, and every rejection.

Covers: the seed's v1alpha3 Canary and a v1beta1 Canary with its MetricTemplate and AlertProvider in
one multi-document file parse without problems (other kinds skipped); v1alpha3 fields
(canaryAnalysis, metric threshold) read into the same model with Flagger's conversions; each
rejection of the issue (missing targetRef, a port that is not a number, a duration that is not one,
an unknown provider, stepWeight out of range without stepWeights/iterations, stepWeights not
increasing or above 100, a metric with no source, thresholdRange min > max) names the field path and
what was expected and found; several problems of one document are all reported; MetricTemplates
name what their backend needs (CloudWatch's region, Dynatrace's and Splunk's address, the Secrets
of Google, Dynatrace and Splunk); targets: StatefulSet and Service pass, an unknown kind and
statefulSet options on another kind are refused naming the field.
"""

from __future__ import annotations

import pathlib
import textwrap

import pytest

from serinus.apis.canary import Canary
from serinus.apis.documents import load_documents

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"

TYPICAL = textwrap.dedent(
    """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: podinfo, namespace: test}
    ---
    apiVersion: flagger.app/v1beta1
    kind: MetricTemplate
    metadata: {name: latency, namespace: test}
    spec:
      provider: {type: prometheus, address: "http://prometheus.linkerd-viz:9090"}
      query: |
        histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{
          namespace="{{ namespace }}", deployment=~"{{ target }}", direction="inbound"
        }[{{ interval }}])) by (le))
    ---
    apiVersion: flagger.app/v1beta1
    kind: AlertProvider
    metadata: {name: on-call, namespace: test}
    spec:
      type: slack
      channel: on-call-alerts
      secretRef: {name: on-call-url}
    ---
    apiVersion: flagger.app/v1beta1
    kind: Canary
    metadata: {name: podinfo, namespace: test}
    spec:
      provider: gatewayapi:v1beta1
      targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
      autoscalerRef: {apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, name: podinfo}
      progressDeadlineSeconds: 60
      service:
        port: 9898
        targetPort: http
        gatewayRefs: [{name: podinfo, namespace: test, kind: Service, group: core, port: 9898}]
      analysis:
        interval: 15s
        threshold: 5
        maxWeight: 50
        stepWeight: 10
        alerts:
          - {name: on-call, severity: error, providerRef: {name: on-call}}
        metrics:
          - name: request-success-rate
            thresholdRange: {min: 99}
            interval: 1m
          - name: latency
            templateRef: {name: latency}
            thresholdRange: {max: 500}
            interval: 30s
        webhooks:
          - name: acceptance-test
            type: pre-rollout
            url: http://flagger-loadtester.test/
            timeout: 30s
            metadata:
              type: bash
              cmd: "curl -sd 'test' http://podinfo-canary.test:9898/token | grep token"
          - name: load-test
            url: http://flagger-loadtester.test/
            timeout: 5s
            metadata: {cmd: "hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/"}
    """
)


def _canary(**analysis: object) -> str:
    base = {"interval": "10s", "threshold": 5, "stepWeight": 10}
    base.update(analysis)
    lines = "\n".join(f"    {key}: {value}" for key, value in base.items() if value is not None)
    return (
        "apiVersion: flagger.app/v1beta1\nkind: Canary\n"
        "metadata: {name: podinfo, namespace: prod}\n"
        "spec:\n  targetRef: {kind: Deployment, name: podinfo}\n  service: {port: 9898}\n"
        f"  analysis:\n{lines}\n"
    )


def _problems(text: str) -> list[str]:
    return [str(p) for d in load_documents(text) for p in d.problems]


def test_the_seeds_canary_is_valid_and_converted() -> None:
    documents = list(load_documents((EXAMPLES / "podinfo-canary.yaml").read_text()))
    assert [d.problems for d in documents] == [[]]
    canary = documents[0].model
    assert isinstance(canary, Canary)
    analysis = canary.spec.effective_analysis
    assert analysis is not None
    assert (analysis.interval_seconds, analysis.effective_threshold, analysis.step_weight) == (
        10,
        5,
        5,
    )
    rate, duration = analysis.metrics or []
    assert (rate.effective_range.min, rate.effective_range.max) == (99, None)
    assert (duration.effective_range.min, duration.effective_range.max) == (None, 500)
    assert analysis.webhooks is not None
    assert analysis.webhooks[0].effective_type.value == "rollout"


def test_a_typical_v1beta1_file_is_valid_and_other_kinds_are_skipped() -> None:
    documents = list(load_documents(TYPICAL))
    assert [(d.index, d.kind, d.problems) for d in documents] == [
        (2, "MetricTemplate", []),
        (3, "AlertProvider", []),
        (4, "Canary", []),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            _canary().replace("  targetRef: {kind: Deployment, name: podinfo}\n", ""),
            "spec.targetRef: expected a value (the field is required), found nothing",
        ),
        (
            _canary().replace("port: 9898", "port: http"),
            "spec.service.port: expected an integer, found 'http'",
        ),
        (
            _canary(interval="10 minutes"),
            "spec.analysis.interval: expected a Kubernetes duration such as 30s, 1m or 1h30m, "
            "found '10 minutes'",
        ),
        (
            _canary().replace("spec:\n", "spec:\n  provider: linkerd2\n"),
            "spec.provider: expected one of apisix, appmesh",
        ),
        (
            _canary(stepWeight=0),
            "spec.analysis.stepWeight: expected a number between 1 and 100 (or stepWeights, or "
            "iterations), found 0",
        ),
        (_canary(stepWeight=101), "spec.analysis.stepWeight: expected a number between 1 and 100"),
        (
            _canary(stepWeight=None, stepWeights="[10, 5, 50]"),
            "spec.analysis.stepWeights: expected weights that increase step by step, from above 0, "
            "found [10, 5, 50]",
        ),
        (
            _canary(stepWeight=None, stepWeights="[0, 50, 120]"),
            "spec.analysis.stepWeights: expected weights that increase",
        ),
        (
            _canary(metrics="[{name: error-budget, interval: 1m}]"),
            "spec.analysis.metrics[0].templateRef: expected a built-in metric "
            "(request-success-rate, request-duration), a templateRef or a query, "
            "found metric 'error-budget' with none of them",
        ),
        (
            _canary(metrics="[{name: error-budget, query: 'sum(x)', judge: {}}]"),
            "spec.analysis.metrics[0].judge: expected a judge only on a built-in metric "
            "(request-success-rate, request-duration) or on a MetricTemplate that counts bad "
            "events (templateRef), found a judge on metric 'error-budget' without a templateRef",
        ),
        (
            _canary(metrics="[{name: request-duration, thresholdRange: {min: 500, max: 100}}]"),
            "spec.analysis.metrics[0].thresholdRange.min: expected a minimum not above the maximum "
            "(100), found 500",
        ),
    ],
)
def test_each_rejection_names_the_field(text: str, expected: str) -> None:
    problems = _problems(text)
    assert any(p.startswith(expected) for p in problems), problems


def test_steps_without_step_weight_are_fine_with_step_weights_or_iterations() -> None:
    assert _problems(_canary(stepWeight=None, stepWeights="[1, 2, 10, 80]")) == []
    # Flagger accepts a last step above 100 (it routes everything to the canary)
    assert _problems(_canary(stepWeight=None, stepWeights="[1, 2, 10, 200]")) == []
    assert _problems(_canary(stepWeight=None, iterations=10)) == []


def test_every_problem_of_a_document_is_reported() -> None:
    text = _canary(interval="soon", stepWeight=150, stepWeigth=3).replace("port: 9898", "port: -1")
    problems = _problems(text)
    assert len(problems) == 4, problems
    assert any(p.startswith("spec.analysis.stepWeigth: expected no such field") for p in problems)


def test_broken_yaml_is_one_problem_with_its_position() -> None:
    problems = _problems("kind: Canary\nspec: [unclosed\n")
    assert len(problems) == 1
    assert problems[0].startswith("expected valid YAML, found ")
    assert "line" in problems[0]


def test_a_kubectl_list_is_unwrapped() -> None:
    text = (EXAMPLES / "podinfo-canary.yaml").read_text()
    import yaml

    item = yaml.safe_load(text)
    listed = yaml.safe_dump(
        {"apiVersion": "v1", "kind": "List", "items": [item, {**item, "spec": {}}]}
    )
    documents = list(load_documents(listed))
    assert [d.name for d in documents] == ["podinfo", "podinfo"]
    assert documents[0].problems == []
    assert documents[1].problems


def _template(provider: str) -> str:
    return (
        "apiVersion: flagger.app/v1beta1\nkind: MetricTemplate\n"
        "metadata: {name: t, namespace: prod}\n"
        f"spec:\n  provider: {provider}\n  query: q\n"
    )


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("{type: cloudwatch}", ["spec.provider.region: expected the AWS region"]),
        (
            "{type: dynatrace}",
            [
                "spec.provider.address: expected the dynatrace API address, found nothing",
                "spec.provider.secretRef: expected a Secret with the key(s) dynatrace_token",
            ],
        ),
        ("{type: splunk, address: x}", ["spec.provider.secretRef: expected a Secret with the key"]),
        (
            "{type: stackdriver}",
            ["spec.provider.secretRef: expected a Secret with the key(s) project"],
        ),
    ],
)
def test_templates_name_what_their_backend_needs(provider: str, expected: list[str]) -> None:
    problems = _problems(_template(provider))
    assert len(problems) == len(expected), problems
    for wanted, found in zip(expected, problems, strict=True):
        assert found.startswith(wanted)


@pytest.mark.parametrize(
    "provider",
    [
        "{type: cloudwatch, region: eu-west-1}",
        "{type: keptn}",
        "{type: externalmetrics}",
        "{type: dynatrace, address: 'https://x.live.dynatrace.com', secretRef: {name: dt}}",
    ],
)
def test_complete_templates_pass(provider: str) -> None:
    assert _problems(_template(provider)) == []


@pytest.mark.parametrize(
    ("target", "extra", "expected"),
    [
        (
            "{kind: Deployment, name: podinfo}",
            "  statefulSet: {unreadyPods: delete}\n",
            "spec.statefulSet: expected no statefulSet options for a target that is not a",
        ),
        (
            "{kind: StatefulSet, name: podinfo}",
            "  statefulSet: {unreadyPods: sometimes}\n",
            "spec.statefulSet.unreadyPods: expected one of 'delete' or 'scaleFromZero'",
        ),
        ("{kind: Job, name: podinfo}", "", "spec.targetRef.kind: expected one of 'Deployment'"),
    ],
)
def test_targets_name_what_is_wrong(target: str, extra: str, expected: str) -> None:
    text = (
        _canary()
        .replace("{kind: Deployment, name: podinfo}", target)
        .replace("  service:", extra + "  service:")
    )
    problems = _problems(text)
    assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize(
    "target",
    [
        "{apiVersion: apps/v1, kind: StatefulSet, name: podinfo}",
        "{apiVersion: v1, kind: Service, name: podinfo}",
    ],
)
def test_statefulset_and_service_targets_pass(target: str) -> None:
    assert _problems(_canary().replace("{kind: Deployment, name: podinfo}", target)) == []
