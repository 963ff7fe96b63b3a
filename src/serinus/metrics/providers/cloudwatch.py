"""Amazon CloudWatch, through ``GetMetricData``, as Flagger queries it.

The MetricTemplate's query is a JSON list of ``MetricDataQuery`` objects (``Id``, ``MetricStat``,
``Expression``, ``Label``, ``ReturnData``, ``Period``: the API's own field names);
``spec.provider.region`` is required, ``spec.provider.address`` overrides the endpoint (a VPC
endpoint; default ``https://monitoring.<region>.amazonaws.com``, ``.amazonaws.com.cn`` in China).
Like Flagger the window is ten metric intervals ending now with at most 20 datapoints, and the value
is the first value of the first result (CloudWatch returns the newest first).

botocore does the AWS parts, so nothing of the protocol is written by hand here
(:mod:`serinus.metrics.providers.aws`): it validates the queries against the service model
(a misspelt field is an error naming it), serializes them (the JSON protocol), signs the request
with Signature Version 4 and parses the answer and its error codes. The request goes out through
the operator's one ``httpx.AsyncClient``. Credentials: the Secret's ``aws_access_key_id``,
``aws_secret_access_key`` and optional ``aws_session_token`` when ``secretRef`` is set (serinus's
addition), else botocore's default chain as Flagger's SDK uses it (environment, IRSA web identity,
shared config, container and instance metadata).

An empty answer is explained the way the Prometheus provider explains one: one follow-up
``ListMetrics`` per metric the queries read (at most three) tells "no such metric: check the
namespace, the name and every dimension" apart from "the metric exists but had no datapoints in the
window". The online check sends ``GetMetricData`` without queries, which CloudWatch must refuse as
invalid (HTTP 400) once it accepts the credentials.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from serinus.apis.base import parse_duration
from serinus.errors import InvalidCanaryError, NoValuesFoundError, QueryError
from serinus.metrics.providers import aws
from serinus.metrics.providers.base import ProviderSettings

WINDOW_INTERVALS = 10
"""The query window is this many metric intervals, as in Flagger."""
MAX_DATAPOINTS = 20
MAX_FOLLOW_UPS = 3


class CloudWatchProvider:
    kind = "cloudwatch"

    def __init__(self, settings: ProviderSettings) -> None:
        region = (settings.region or "").strip()
        if not region:
            raise InvalidCanaryError(
                f"{settings.source}: spec.provider.region: expected the AWS region of the"
                " CloudWatch metrics (e.g. us-east-1), got nothing"
            )
        self._api = aws.Api(settings, service="cloudwatch", region=region)
        self.address = self._api.endpoint
        self._settings = settings
        self._window = WINDOW_INTERVALS * parse_duration(settings.interval)

    async def query(self, query: str) -> float:
        queries = _queries(self._settings, query)
        end = datetime.datetime.fromtimestamp(int(self._settings.now()), datetime.UTC)
        start = end - datetime.timedelta(seconds=self._window)
        answer = await self._api.call(
            "GetMetricData",
            {
                "MetricDataQueries": queries,
                "StartTime": start,
                "EndTime": end,
                "MaxDatapoints": MAX_DATAPOINTS,
            },
            query=query,
        )
        results = answer.get("MetricDataResults") or []
        if not results:
            raise NoValuesFoundError(
                "GetMetricData returned no results: no query has ReturnData true"
                f"; query: {_compact(queries)}"
            )
        first = results[0]
        values = first.get("Values") or []
        if values:
            return float(values[0])
        cause = await self._explain_empty(queries, start, end)
        label = first.get("Label") or first.get("Id", "?")
        raise NoValuesFoundError(f"{label}: {cause}; query: {_compact(queries)}")

    async def check_online(self) -> None:
        await self._api.check_online("GetMetricData", {"MetricDataQueries": []})

    async def _explain_empty(
        self, queries: list[dict[str, Any]], start: datetime.datetime, end: datetime.datetime
    ) -> str:
        window = f"between {_iso(start)} and {_iso(end)}"
        metrics = [
            q["MetricStat"]["Metric"] for q in queries if isinstance(q.get("MetricStat"), dict)
        ]
        for metric in metrics[:MAX_FOLLOW_UPS]:
            wanted = {
                k: metric[k] for k in ("Namespace", "MetricName", "Dimensions") if k in metric
            }
            try:
                found = await self._api.call("ListMetrics", wanted, query="ListMetrics")
            except (QueryError, InvalidCanaryError) as err:
                return f"no datapoints {window} (the follow-up ListMetrics failed: {err})"
            if not found.get("Metrics"):
                return (
                    f"no metric {_describe(metric)} exists in {self._api.region}: check the"
                    " namespace, the metric name and every dimension (all must match exactly)"
                )
        if metrics:
            return f"the metrics exist but had no datapoints {window}: no traffic in the window?"
        return f"the query returned no datapoints {window}"


def _queries(settings: ProviderSettings, query: str) -> list[dict[str, Any]]:
    try:
        queries = json.loads(query)
    except json.JSONDecodeError as err:
        raise InvalidCanaryError(
            f"{settings.source}: spec.query: expected a JSON list of CloudWatch MetricDataQuery"
            f" objects, got invalid JSON ({err})"
        ) from err
    if not isinstance(queries, list) or not all(isinstance(q, dict) for q in queries):
        raise InvalidCanaryError(
            f"{settings.source}: spec.query: expected a JSON list of CloudWatch MetricDataQuery"
            f" objects, got {type(queries).__name__}"
        )
    return queries


def _describe(metric: dict[str, Any]) -> str:
    dimensions = ",".join(
        f"{d.get('Name')}={d.get('Value')}" for d in metric.get("Dimensions") or []
    )
    name = f"{metric.get('Namespace', '?')}/{metric.get('MetricName', '?')}"
    return f"{name}{{{dimensions}}}"


def _compact(queries: list[dict[str, Any]]) -> str:
    return json.dumps(queries, separators=(",", ":"))[:512]


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
