"""Sending a rendered alert: the one place where notifiers touch the network.

:class:`Sender` builds the :class:`~serinus.notifiers.base.Alert` for a Canary (fields, cluster,
time), renders it with a provider's format, and POSTs it with a five-second timeout, as Flagger
does. A destination with a proxy is sent through a client made for that proxy (httpx fixes the
proxy per client); those clients are kept per proxy and closed by :meth:`Sender.aclose`.

Any 2xx answer counts as delivered (Flagger wants exactly 200, which every chat service sends; a
generic receiver may well answer 202 or 204). Anything else raises
:class:`~serinus.errors.NotifierError` naming the provider, the status and the start of the body.
Chat webhook URLs carry their credentials in the path, so errors and logs show only the scheme,
host and port of the address, never the whole URL.
"""

from __future__ import annotations

import logging
import urllib.parse

import httpx

from serinus import outbound
from serinus.apis.analysis import Severity
from serinus.apis.canary import Canary
from serinus.errors import InvalidCanaryError, NotifierError
from serinus.notifiers.base import Alert, Destination, Format
from serinus.notifiers.fields import alert_fields
from serinus.ports import Clock, SystemClock

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0


class Sender:
    """Renders and posts alerts.

    Args:
        client: the shared HTTP client, used for destinations without a proxy.
        clock: the time stamped on alerts; the system clock when omitted.
        cluster_name: shown as the Cluster field of every alert when set.
    """

    def __init__(
        self, client: httpx.AsyncClient, *, clock: Clock | None = None, cluster_name: str = ""
    ) -> None:
        self._client = client
        self._clock: Clock = clock or SystemClock()
        self._cluster = cluster_name
        self._proxied: dict[str, httpx.AsyncClient] = {}

    async def send(
        self,
        canary: Canary,
        message: str,
        *,
        severity: Severity,
        details: bool,
        render: Format,
        destination: Destination,
        label: str,
    ) -> None:
        """Post one alert to one destination; NotifierError when it is not accepted."""
        alert = Alert(
            canary=canary.name,
            namespace=canary.namespace,
            message=message,
            severity=severity,
            fields=alert_fields(canary, cluster=self._cluster, details=details),
            cluster=self._cluster,
            timestamp=self._clock.now(),
        )
        outgoing = render(alert, destination)
        where = origin(outgoing.url)
        client = self._client_for(destination.proxy, label=label)
        try:
            response = await outbound.send(
                client,
                "POST",
                outgoing.url,
                json=outgoing.payload,
                headers=outgoing.headers,
                timeout_seconds=TIMEOUT_SECONDS,
                field=label,
                shown=where,
            )
        except outbound.NoAnswer as failure:
            raise NotifierError(f"{label}: {where} unreachable: {failure.words}") from failure
        if not response.is_success:
            body = outbound.excerpt(response.text)
            raise NotifierError(f"{label}: {where} answered HTTP {response.status_code}: {body}")
        logger.debug("alert for %s delivered to %s", alert.subject, label)

    async def aclose(self) -> None:
        """Close the clients made for proxies."""
        clients, self._proxied = list(self._proxied.values()), {}
        for client in clients:
            await client.aclose()

    def _client_for(self, proxy: str | None, *, label: str) -> httpx.AsyncClient:
        if not proxy:
            return self._client
        if proxy not in self._proxied:
            try:
                self._proxied[proxy] = httpx.AsyncClient(proxy=proxy)
            except (ValueError, httpx.InvalidURL) as error:
                raise InvalidCanaryError(
                    f"{label}: proxy: expected an http(s) or socks5 URL, found {origin(proxy)!r}"
                ) from error
        return self._proxied[proxy]


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: enough to recognise it, without its secret path."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url.split("/", 1)[0][:40]
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
