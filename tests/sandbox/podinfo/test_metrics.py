"""podinfo's own Prometheus series (covers ``serinus/sandbox/podinfo/metrics.py``).

Covers:
- the ``path`` label: route names (``status``, ``delay``), else the sanitised template, ``root``
  for ``/``;
- ``/metrics`` counts requests per status and observes their duration per method, path and
  status with client_golang's default buckets; unknown paths are not counted.
"""

from __future__ import annotations

import httpx
import pytest

from serinus.sandbox.podinfo.metrics import path_label


@pytest.mark.parametrize(
    ("name", "template", "label"),
    [
        ("status", "/status/{code}", "status"),
        (None, "/", "root"),
        (None, "/api/info", "api_info"),
        (None, "/readyz/disable", "readyz_disable"),
        (None, "/Token", "token"),
    ],
)
def test_path_label(name, template, label) -> None:
    assert path_label(name, template) == label


async def test_requests_are_counted_by_status_and_path(podinfo: httpx.AsyncClient) -> None:
    for _ in range(3):
        await podinfo.get("/status/500")
    await podinfo.get("/")
    await podinfo.get("/not-a-route")
    text = (await podinfo.get("/metrics")).text
    assert 'http_requests_total{status="500"} 3.0' in text
    assert (
        'http_request_duration_seconds_count{method="GET",path="status",status="500"} 3.0' in text
    )
    assert 'http_request_duration_seconds_count{method="GET",path="root",status="200"} 1.0' in text
    assert 'le="0.005"' in text
    assert 'le="10.0"' in text
    assert "not_a_route" not in text
    assert 'status="404"' not in text
