"""Keptn, through its ``KeptnMetric`` and ``Analysis`` resources, as Flagger reads them.

The query names a resource: ``keptnmetric/<namespace>/<name>`` reads the value Keptn's metrics
operator keeps in a KeptnMetric's ``status.value``; ``analysis/<namespace>/<definition>[/<duration>
[/<key>=<value>;...]]`` creates an ``Analysis`` of that AnalysisDefinition over the last
``<duration>`` (default ``1m``) with those arguments, waits up to ten seconds for Keptn to set
``status.state: Completed``, reads ``status.pass`` as 1 (passed) or 0 (failed), and deletes the
Analysis. Both are ``metrics.keptn.sh/v1beta1`` objects read through the operator's own Kubernetes
connection; the template needs no address or Secret. (Flagger lowercases the whole query, which
would change argument values; serinus lowercases only the resource word.)

Missing values are explained: a KeptnMetric without ``status.value`` carries Keptn's own
``status.errMsg`` when it has one, else the message says the metrics operator has not fetched it
yet; an Analysis that does not complete in time says so and names its state. The online check asks
the API server whether it serves KeptnMetric (Flagger's check always passes).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from typing import Any

from serinus.errors import (
    BODY_LIMIT,
    InvalidCanaryError,
    KubeError,
    NoValuesFoundError,
    QueryError,
)
from serinus.metrics.providers.base import ProviderSettings

API_VERSION = "metrics.keptn.sh/v1beta1"
ANALYSIS_TIMEOUT = 10.0
"""Seconds Keptn gets to complete an Analysis (Flagger's)."""
POLL_EVERY = 0.5
FORMAT = "<keptnmetric|analysis>/<namespace>/<name>[/<duration>[/<key>=<value>;...]]"


@dataclasses.dataclass(frozen=True)
class KeptnQuery:
    kind: str
    """KeptnMetric or Analysis."""
    namespace: str
    name: str
    duration: str = "1m"
    args: dict[str, str] = dataclasses.field(default_factory=dict)


class KeptnProvider:
    kind = "keptn"

    def __init__(self, settings: ProviderSettings) -> None:
        if settings.kube is None:
            raise InvalidCanaryError(
                f"{settings.source}: keptn reads KeptnMetric and Analysis objects from the cluster,"
                " and there is no Kubernetes connection here"
            )
        self._kube = settings.kube
        self._settings = settings
        self.address = "the cluster's API server"

    async def query(self, query: str) -> float:
        parsed = parse(query, source=self._settings.source)
        try:
            if parsed.kind == "KeptnMetric":
                return await self._metric(parsed)
            return await self._analysis(parsed)
        except KubeError as err:
            raise QueryError(
                f"keptn: {parsed.kind} {parsed.namespace}/{parsed.name}: {err}"
            ) from err

    async def check_online(self) -> None:
        try:
            await self._kube.kinds.resolve(API_VERSION, "KeptnMetric")
        except KubeError as err:
            raise QueryError(f"keptn: {err}") from err

    async def _metric(self, query: KeptnQuery) -> float:
        where = f"KeptnMetric {query.namespace}/{query.name}"
        found = await self._kube.get(API_VERSION, "KeptnMetric", query.name, query.namespace)
        if found is None:
            raise QueryError(f"keptn: {where} not found")
        status = found.get("status") or {}
        value = status.get("value")
        if value in (None, ""):
            said = status.get("errMsg")
            cause = (
                f"Keptn could not fetch it: {str(said)[:BODY_LIMIT]}"
                if said
                else "Keptn's metrics operator has not fetched a value yet (is it running?"
                " does the KeptnMetric's provider answer?)"
            )
            raise NoValuesFoundError(f"{where} has no status.value: {cause}")
        try:
            return float(str(value))
        except ValueError as err:
            raise QueryError(f"keptn: {where} has status.value {value!r}, not a number") from err

    async def _analysis(self, query: KeptnQuery) -> float:
        name = f"{query.name}-{uuid.uuid4().hex[:6]}"
        manifest = {
            "apiVersion": API_VERSION,
            "kind": "Analysis",
            "metadata": {"name": name, "namespace": query.namespace},
            "spec": {
                "analysisDefinition": {"name": query.name},
                "timeframe": {"recent": query.duration},
                "args": query.args,
            },
        }
        await self._kube.create(manifest)
        try:
            return await self._outcome(query, name)
        finally:
            await self._kube.delete(API_VERSION, "Analysis", name, query.namespace)

    async def _outcome(self, query: KeptnQuery, name: str) -> float:
        deadline = time.monotonic() + ANALYSIS_TIMEOUT
        state: Any = None
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_EVERY)
            found = await self._kube.get(API_VERSION, "Analysis", name, query.namespace) or {}
            status = found.get("status") or {}
            state = status.get("state")
            if state == "Completed" and isinstance(status.get("pass"), bool):
                return 1.0 if status["pass"] else 0.0
        raise NoValuesFoundError(
            f"Keptn did not complete Analysis {query.namespace}/{name} (of AnalysisDefinition"
            f" {query.name}) within {ANALYSIS_TIMEOUT:g}s (state: {state or 'none'}): is Keptn's"
            " metrics operator running?"
        )


def parse(query: str, *, source: str = "keptn") -> KeptnQuery:
    """The resource a query names; InvalidCanaryError naming the expected format."""
    parts = query.strip().split("/")
    word = parts[0].lower()
    kinds = {"keptnmetric": "KeptnMetric", "keptnmetrics": "KeptnMetric"}
    kinds |= {"analysis": "Analysis", "analyses": "Analysis"}
    if len(parts) < 3 or word not in kinds or not parts[1] or not parts[2]:
        raise InvalidCanaryError(
            f"{source}: spec.query: expected {FORMAT}, got {query.strip()[:200]!r}"
        )
    if kinds[word] == "KeptnMetric":
        return KeptnQuery("KeptnMetric", parts[1], parts[2])
    duration = parts[3] if len(parts) > 3 and parts[3] else "1m"
    args = {}
    for pair in parts[4].split(";") if len(parts) > 4 else []:
        key, sep, value = pair.partition("=")
        if sep and key:
            args[key] = value
    return KeptnQuery("Analysis", parts[1], parts[2], duration, args)
