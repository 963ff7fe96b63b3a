"""The follow-up that explains an empty answer, against the real Prometheus.

Covers: finding the vector selectors of a PromQL query (quoted braces, selectors without a metric
name, duplicates, none at all); every selector matching series means "no missing series"; the first
selector without series is named; a failing follow-up is reported, not raised.
"""

from __future__ import annotations

import pytest

from serinus.metrics import diagnosis
from serinus.metrics.providers.base import ProviderSettings
from serinus.metrics.providers.prometheus import PrometheusProvider


def prom(address, http, clock=None) -> PrometheusProvider:
    return PrometheusProvider(
        ProviderSettings(kind="prometheus", http=http, address=address, clock=clock, timeout=1)
    )


@pytest.mark.parametrize(
    ("query", "selectors"),
    [
        (
            'sum(rate(a_total{x="1"}[1m])) / sum(rate(b:rate5m{y=~"{2,3}"}[1m])) * 100',
            ['a_total{x="1"}', 'b:rate5m{y=~"{2,3}"}'],
        ),
        ('count({__name__="up",job="x"})', ['{__name__="up",job="x"}']),
        ('a{x="1"} + a{x="1"}', ['a{x="1"}']),
        ("sum by (le) (rate(x[1m]))", []),
    ],
)
def test_selectors_in_a_query(query, selectors):
    assert diagnosis.selectors_in(query) == selectors


async def test_existing_series_are_not_missing(prometheus, http):
    client = prom(prometheus.address, http, prometheus.clock)
    assert await diagnosis.missing_series(client, ['response_total{namespace="linkerd"}']) is None


async def test_the_first_selector_without_series_is_named(prometheus, http):
    client = prom(prometheus.address, http, prometheus.clock)
    cause = await diagnosis.missing_series(
        client, ['response_total{namespace="linkerd"}', 'response_total{namespace="gone"}']
    )
    assert cause == (
        'no series match response_total{namespace="gone"}: check the labels/the mesh injection'
    )


async def test_a_failing_follow_up_is_reported(closed_port, http):
    client = prom(f"http://127.0.0.1:{closed_port}", http)
    cause = await diagnosis.missing_series(client, ["up{job='x'}"])
    assert cause is not None
    assert cause.startswith("the query matched no series (the follow-up count(up{job='x'}) failed:")
    assert "refused the connection" in cause
