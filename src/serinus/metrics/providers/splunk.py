"""Splunk Observability Cloud (SignalFx), through the SignalFlow API, as Flagger queries it.

The query is a SignalFlow program (``data('...').mean().publish()``); Secret key ``sf_token_key``
goes in the ``X-SF-Token`` header; ``spec.provider.address`` is required and, as in Flagger, may be
the API address (``https://api.<realm>.signalfx.com``) or the stream address: the program runs on
``stream.<realm>...`` and the online check (``GET /v2/metric?limit=1``) on ``api.<realm>...``.
Like Flagger, the program runs over a window of ten metric intervals ending now with
``immediate=true``, the value is the last published datapoint, and datapoints of more than one time
series are an error.

Flagger's client speaks SignalFlow's WebSocket protocol; serinus uses the same computation over
HTTP (``POST /v2/signalflow/execute?start=&stop=&immediate=true``, the program as the
``text/plain`` body), whose answer is a stream of Server-Sent Events with the same messages:
``control-message``, ``metadata``, ``data`` (``{"data": [{"tsId", "value"}]}``), ``message`` and
``error``. An ``immediate`` computation over a past window ends on its own, so the answer is read
whole.

An empty answer is explained as far as SignalFlow tells: no time series at all (the filters match
nothing, or nothing reported in the window: SignalFlow does not tell the two apart, the message says
so and names the window) versus time series whose datapoints were all null.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

from serinus.apis.base import parse_duration
from serinus.errors import BODY_LIMIT, MultipleValuesError, NoValuesFoundError, QueryError
from serinus.metrics.providers import base
from serinus.metrics.providers.base import ProviderSettings

TOKEN_KEY = "sf_token_key"
WINDOW_INTERVALS = 10


class SplunkProvider:
    kind = "splunk"

    def __init__(self, settings: ProviderSettings) -> None:
        self.address = settings.require_address("https://api.us1.signalfx.com")
        self._settings = settings
        self._stream = _host_swap(self.address, "api.", "stream.")
        self._api = _host_swap(self.address, "stream.", "api.")
        self._headers = {**settings.headers, "X-SF-Token": settings.secret_value(TOKEN_KEY)}
        self._window_ms = int(WINDOW_INTERVALS * parse_duration(settings.interval) * 1000)

    async def query(self, query: str) -> float:
        program = query.strip()
        stop = int(self._settings.now()) * 1000
        params = {"start": str(stop - self._window_ms), "stop": str(stop), "immediate": "true"}
        response = await base.send(
            self._settings,
            "POST",
            f"{self._stream}/v2/signalflow/execute",
            params=params,
            content=program.encode(),
            headers={**self._headers, "Content-Type": "text/plain"},
        )
        base.check_status(self._settings, response, query=program)
        window = base.window_text(stop - self._window_ms, stop)
        return _value(list(_events(response.text)), program, window=window)

    async def check_online(self) -> None:
        response = await base.send(
            self._settings,
            "GET",
            f"{self._api}/v2/metric",
            params={"limit": "1"},
            headers=self._headers,
        )
        base.check_status(self._settings, response, query="(list one metric)")


def _host_swap(address: str, old: str, new: str) -> str:
    """The address with its host's leading ``old`` replaced (``wss`` read as ``https``)."""
    parts = urllib.parse.urlsplit(
        address.replace("wss://", "https://", 1).replace("ws://", "http://", 1)
    )
    host = parts.netloc
    if host.startswith(old):
        host = new + host[len(old) :]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _events(text: str) -> Iterator[tuple[str, Any]]:
    """(event type, decoded JSON data) of each Server-Sent Event."""
    for block in text.replace("\r\n", "\n").split("\n\n"):
        kind, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                kind = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].strip())
        if data:
            try:
                yield kind, json.loads("\n".join(data))
            except json.JSONDecodeError as err:
                raise QueryError(
                    f"splunk sent an event that is not JSON: {data[0][:BODY_LIMIT]!r}"
                ) from err


def _value(events: list[tuple[str, Any]], program: str, *, window: str) -> float:
    points: list[tuple[str, Any]] = []
    names: dict[str, str] = {}
    for kind, payload in events:
        if kind == "error":
            raise QueryError(f"splunk rejected the program: {_errors(payload)}; program: {program}")
        if kind == "control-message" and payload.get("event") == "CHANNEL_ABORT":
            info = json.dumps(payload.get("abortInfo"))[:BODY_LIMIT]
            raise QueryError(f"splunk aborted the computation: {info}; program: {program}")
        if kind == "metadata":
            names[payload.get("tsId", "")] = _series_name(payload.get("properties") or {})
        if kind == "data":
            points.extend((p.get("tsId", ""), p.get("value")) for p in payload.get("data") or [])
    series = list(dict.fromkeys(tsid for tsid, _ in points))
    values = [(tsid, value) for tsid, value in points if value is not None]
    if not series:
        raise NoValuesFoundError(
            f"the program published no time series {window}: either its filters match no metric"
            " or nothing reported in the window (SignalFlow does not tell which); program:"
            f" {program}"
        )
    if len(series) > 1:
        shown = ", ".join(names.get(tsid, tsid) for tsid in series[:5])
        raise MultipleValuesError(
            f"the program published {len(series)} time series where one value was expected:"
            f" {shown}; aggregate them (e.g. .sum()); program: {program}"
        )
    if not values:
        raise NoValuesFoundError(
            f"the time series had only null datapoints {window}: no traffic in the window?;"
            f" program: {program}"
        )
    value = values[-1][1]
    if not isinstance(value, int | float):
        raise QueryError(f"splunk published {value!r} where a number was expected")
    return float(value)


def _series_name(properties: dict[str, Any]) -> str:
    metric = properties.get("sf_originatingMetric") or properties.get("sf_metric") or "?"
    keys = properties.get("sf_key") or []
    dimensions = ",".join(f"{k}={properties.get(k)}" for k in keys if k in properties)
    return f"{metric}{{{dimensions}}}"


def _errors(payload: Any) -> str:
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return json.dumps(payload)[:BODY_LIMIT]
    return "; ".join(
        f"{e.get('code')}: {json.dumps(e.get('context'))}" if isinstance(e, dict) else str(e)
        for e in errors
    )[:BODY_LIMIT]
