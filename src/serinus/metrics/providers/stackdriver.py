"""Google Cloud Monitoring (``stackdriver``): ``timeSeries.query`` (MQL), as Flagger queries it.

The query is a Monitoring Query Language program; Secret keys ``project`` (the project id,
required) and ``serviceAccountKey`` (a service account's JSON key; without it, the Application
Default Credentials: Workload Identity on GKE). serinus sends the REST form of Flagger's gRPC call:
``POST <address>/v3/projects/<project>/timeSeries:query`` with ``{"query": ...}`` and a bearer
token, ``spec.provider.address`` defaulting to ``https://monitoring.googleapis.com``. The value is
the first value of the first point of the time series (MQL answers newest first). The online check
sends an empty query, which the API must refuse as ``INVALID_ARGUMENT`` once it accepts the token.

google-auth makes the token: it signs the service account's JWT grant with the key and exchanges it
at the key's ``token_uri`` (or asks the metadata server for ADC). That exchange is blocking, so it
runs in a thread, and the credentials are kept per key for the process, so a token is fetched
once an hour rather than on every query.

An empty answer says what MQL cannot tell apart, as the Prometheus provider's explanation does:
the query matched no time series, or its series had no points in the query's window; several time
series are an error naming their label values (Flagger would take the first).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from typing import Any

import google.auth
import google.auth.credentials
import google.auth.exceptions
import google.auth.transport.urllib3
import urllib3
from google.oauth2 import service_account

from serinus.errors import (
    BODY_LIMIT,
    InvalidCanaryError,
    MultipleValuesError,
    NoValuesFoundError,
    ProviderUnavailableError,
    QueryError,
)
from serinus.metrics.providers import base
from serinus.metrics.providers.base import ProviderSettings

DEFAULT_ADDRESS = "https://monitoring.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/monitoring.read"
PROJECT_KEY = "project"
KEY_KEY = "serviceAccountKey"

_credentials: dict[str, google.auth.credentials.Credentials] = {}
_lock = threading.Lock()


class StackdriverProvider:
    kind = "stackdriver"

    def __init__(self, settings: ProviderSettings) -> None:
        self.address = (settings.address or DEFAULT_ADDRESS).rstrip("/")
        self._settings = settings
        project = settings.secret_value(PROJECT_KEY).strip()
        self._url = f"{self.address}/v3/projects/{project}/timeSeries:query"
        self._key = (settings.secret or {}).get(KEY_KEY) or None
        if self._key is not None:
            _service_account(settings, self._key)  # a malformed key is an error now

    async def query(self, query: str) -> float:
        text = query.strip()
        response = await self._post(text)
        base.check_status(self._settings, response, query=text)
        return _value(base.json_body(self._settings, response), text)

    async def check_online(self) -> None:
        response = await self._post("")
        if response.status_code == 400 and "INVALID_ARGUMENT" in base.error_text(response):
            return
        base.check_status(self._settings, response, query="(empty query)")

    async def _post(self, text: str) -> Any:
        token = await asyncio.to_thread(_token, self._settings, self._key)
        return await base.send(
            self._settings,
            "POST",
            self._url,
            json={"query": text},
            headers={**self._settings.headers, "Authorization": f"Bearer {token}"},
        )


def _service_account(settings: ProviderSettings, key: str) -> google.auth.credentials.Credentials:
    where = f"{settings.source}: Secret {settings.secret_name} key {KEY_KEY}"
    try:
        info = json.loads(key)
        build = service_account.Credentials.from_service_account_info
        found: google.auth.credentials.Credentials = build(info, scopes=[SCOPE])  # type: ignore[no-untyped-call]
        return found
    except (json.JSONDecodeError, ValueError, TypeError, KeyError) as err:
        raise InvalidCanaryError(
            f"{where}: expected a service account key (JSON with client_email, private_key and"
            f" token_uri): {str(err)[:BODY_LIMIT]}"
        ) from err


def _token(settings: ProviderSettings, key: str | None) -> str:
    """A valid access token for the key (or ADC), refreshed when needed. Blocking."""
    cache_key = hashlib.sha256((key or "").encode()).hexdigest()
    with _lock:
        credentials = _credentials.get(cache_key)
        try:
            if credentials is None:
                if key is not None:
                    credentials = _service_account(settings, key)
                else:
                    credentials, _ = google.auth.default(scopes=[SCOPE])
                _credentials[cache_key] = credentials
            if not credentials.valid:
                pool = urllib3.PoolManager(timeout=settings.timeout)
                transport = google.auth.transport.urllib3.Request(pool)  # type: ignore[no-untyped-call]
                credentials.refresh(transport)  # type: ignore[no-untyped-call]
        except google.auth.exceptions.TransportError as err:
            raise ProviderUnavailableError(
                f"stackdriver: could not reach Google's token endpoint: {str(err)[:BODY_LIMIT]}"
            ) from err
        except google.auth.exceptions.DefaultCredentialsError as err:
            raise QueryError(
                "stackdriver: no Google credentials found: set spec.provider.secretRef with"
                f" {KEY_KEY}, or give the operator Workload Identity ({str(err)[:BODY_LIMIT]})"
            ) from err
        except google.auth.exceptions.RefreshError as err:
            raise QueryError(
                f"stackdriver: Google refused the credentials: {str(err)[:BODY_LIMIT]}; check the"
                f" {KEY_KEY} in the provider's Secret"
            ) from err
        return str(credentials.token)


def _value(body: Any, query: str) -> float:
    series = body.get("timeSeriesData") if isinstance(body, dict) else None
    if not series:
        raise NoValuesFoundError(
            "the query returned no time series: either its fetch and filters match none or its"
            " series had no points in the query's window (MQL does not tell which; check the"
            f" metric type and the filters, or widen the window); query: {query}"
        )
    if len(series) > 1:
        shown = ", ".join(_labels(s) for s in series[:5])
        raise MultipleValuesError(
            f"the query returned {len(series)} time series where one value was expected: {shown};"
            f" aggregate them (e.g. | group_by [], sum(val())); query: {query}"
        )
    points = series[0].get("pointData") or []
    values = (points[0].get("values") or []) if points else []
    if not values:
        raise NoValuesFoundError(f"the time series had no points in the window; query: {query}")
    return _number(values[0], query)


def _labels(series: dict[str, Any]) -> str:
    values = series.get("labelValues") or []
    return (
        "{" + ",".join(str(next(iter(v.values()), "")) for v in values if isinstance(v, dict)) + "}"
    )


def _number(value: dict[str, Any], query: str) -> float:
    for key in ("doubleValue", "int64Value"):
        if key in value:
            return float(value[key])
    if "boolValue" in value:
        return 1.0 if value["boolValue"] else 0.0
    raise QueryError(f"stackdriver returned {value!r} where a number was expected; query: {query}")
