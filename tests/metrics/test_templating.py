"""Rendering query templates with a Canary's values, as Flagger's Go templates do.

Covers: every value (name, namespace, target, service, ingress, route, interval, variables.*) and
its Flagger default; the spacing Go allows (``{{name}}``) and its trim markers (``{{-``/``-}}``);
a missing variable names itself and lists what is available; the data-field form ``{{ .name }}``,
unknown names and unsupported actions are errors that say what to write instead.
"""

from __future__ import annotations

import pytest

from serinus.apis.analysis import CanaryMetric
from serinus.errors import InvalidCanaryError
from serinus.metrics import templating

EVERY_VALUE = (
    "{{ name }}|{{ namespace }}|{{ target }}|{{ service }}|{{ ingress }}|{{ route }}"
    "|{{ interval }}|{{ variables.direction }}"
)


def test_every_value_comes_from_the_canary_and_the_metric(make_canary):
    canary = make_canary(
        "prod",
        [],
        targetRef={"kind": "Deployment", "name": "backend"},
        service={"port": 9898, "name": "backend-svc"},
        ingressRef={"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "public"},
        routeRef={"apiVersion": "apisix.apache.org/v2", "kind": "ApisixRoute", "name": "r1"},
    )
    metric = CanaryMetric.model_validate(
        {
            "name": "latency",
            "interval": "30s",
            "templateRef": {"name": "latency"},
            "templateVariables": {"direction": "inbound"},
        }
    )
    values = templating.model_for(canary, metric).values()
    assert templating.render(EVERY_VALUE, values) == (
        "podinfo|prod|backend|backend-svc|public|r1|30s|inbound"
    )


def test_defaults_follow_flagger(make_canary):
    canary = make_canary("prod", [])
    metric = CanaryMetric.model_validate({"name": "error-rate", "templateRef": {"name": "x"}})
    model = templating.model_for(canary, metric)
    assert (model.service, model.ingress, model.route, model.interval) == (
        "podinfo",
        "podinfo",
        "podinfo",
        "1m",
    )
    assert model.variables == {}


def test_go_spacing_and_trim_markers():
    values = {"namespace": "prod", "target": "podinfo"}
    assert templating.render("{{namespace}}/{{   target   }}", values) == "prod/podinfo"
    assert templating.render("a  \n {{- namespace -}} \n  b", values) == "aprodb"


def test_a_multi_line_query_keeps_its_lines():
    query = 'sum(\n  rate(x{ns="{{ namespace }}"}[{{ interval }}])\n)'
    assert templating.render(query, {"namespace": "prod", "interval": "1m"}) == (
        'sum(\n  rate(x{ns="prod"}[1m])\n)'
    )


def test_missing_variable_names_it_and_lists_the_available_ones():
    values = {"namespace": "prod", "variables.env": "staging"}
    with pytest.raises(InvalidCanaryError) as caught:
        templating.render(
            'x{direction="{{ variables.direction }}"}', values, source="MetricTemplate prod/lat"
        )
    assert str(caught.value) == (
        "MetricTemplate prod/lat uses {{ variables.direction }}, but the metric's"
        " templateVariables has no direction (available: namespace, variables.env)"
    )


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(InvalidCanaryError) as caught:
        templating.render("{{ deployment }}", {"target": "podinfo"})
    assert str(caught.value) == (
        "the query uses {{ deployment }}, which has no value (available: target)"
    )


def test_data_field_form_is_refused_with_the_function_form_to_write():
    with pytest.raises(InvalidCanaryError, match=r"write \{\{ namespace \}\}"):
        templating.render("{{ .namespace }}", {"namespace": "prod"})


@pytest.mark.parametrize("action", ['{{ printf "%s" namespace }}', "{{ namespace | upper }}"])
def test_unsupported_actions_are_named(action):
    with pytest.raises(InvalidCanaryError, match="unsupported template action"):
        templating.render(action, {"namespace": "prod"})


def test_unbalanced_braces_are_an_error():
    with pytest.raises(InvalidCanaryError, match="unbalanced template braces"):
        templating.render("x{{ namespace }", {"namespace": "prod"})
