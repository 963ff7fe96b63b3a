"""The webhook client: calls a Canary's hooks the way Flagger does and judges the answers.

:class:`WebhookClient` implements :class:`serinus.ports.Webhooks`, the port through which the
controller runs gates, load tests, rollback checks and event notifications. It knows nothing about
what a hook type means (that is :mod:`serinus.controller.hooks`); it sends the payload of
:mod:`serinus.webhooks.payloads` and reports the outcome:

* success is an answer with status 200 to 202, as in Flagger, where 203 and 204 count as failures;
* any other answer raises :class:`~serinus.errors.WebhookRejectedError` carrying the status and
  the response body cut to 256 characters (the body is what a gate says about why it is closed);
* no answer raises :class:`~serinus.errors.WebhookUnreachableError` (see
  :mod:`serinus.webhooks.delivery`, which also retries).

The shared ``httpx.AsyncClient`` is injected. A hook with ``disableTLS`` needs a client that skips
certificate checks, and httpx fixes verification per client, so one such client is made on first
need (or injected) and closed by :meth:`WebhookClient.aclose`. Hooks with ``signingSecretRef`` are
signed (:mod:`serinus.signing`: the body, the hook's type and its URL) with a key read through the
:class:`~serinus.ports.Resources` port on every call, so a rotated Secret takes effect at once;
only a Secret labelled ``serinus.io/signing: "true"`` is used, and a hook naming any other is not
sent at all (:class:`~serinus.errors.InvalidCanaryError`).
"""

from __future__ import annotations

import logging

import httpx

from serinus import outbound, signing
from serinus.apis.analysis import CanaryWebhook
from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase
from serinus.errors import InvalidCanaryError, NotFoundError, WebhookRejectedError
from serinus.ports import Clock, EventType, Resources, SystemClock
from serinus.webhooks import delivery, payloads

logger = logging.getLogger(__name__)

LAST_SUCCESS_STATUS = 202


class WebhookClient:
    """Calls webhooks over HTTP; implements :class:`serinus.ports.Webhooks`.

    Args:
        client: the shared HTTP client (its own timeout is replaced by each hook's).
        resources: reads the Secrets that hold signing keys.
        clock: the time of event payloads and signatures; the system clock when omitted.
        backoff: seconds before the first retry; it doubles per retry, up to two seconds.
        insecure_client: used for hooks with disableTLS; made on first need when omitted.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        resources: Resources,
        clock: Clock | None = None,
        backoff: float = 0.2,
        insecure_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._client = client
        self._resources = resources
        self._clock: Clock = clock or SystemClock()
        self._backoff = backoff
        self._insecure = insecure_client
        self._owns_insecure = False

    async def call(self, canary: Canary, hook: CanaryWebhook, phase: CanaryPhase) -> None:
        """POST the hook payload; raise WebhookError unless the answer is 200, 201 or 202."""
        await self._send(canary, hook, payloads.hook_payload(canary, phase, hook.metadata))

    async def event(
        self, canary: Canary, hook: CanaryWebhook, *, message: str, event_type: EventType
    ) -> None:
        """POST an event payload (eventMessage, eventType, timestamp in Unix milliseconds)."""
        timestamp_ms = int(self._clock.now().timestamp() * 1000)
        body = payloads.event_payload(
            canary,
            message=message,
            event_type=event_type,
            timestamp_ms=timestamp_ms,
            metadata=hook.metadata,
        )
        await self._send(canary, hook, body)

    async def aclose(self) -> None:
        """Close the certificate-skipping client if this object made it."""
        if self._insecure is not None and self._owns_insecure:
            await self._insecure.aclose()
            self._insecure = None
            self._owns_insecure = False

    async def _send(self, canary: Canary, hook: CanaryWebhook, body: bytes) -> None:
        key = await self._signing_key(canary, hook)

        def headers() -> dict[str, str]:
            sent = {"Content-Type": "application/json"}
            if key is not None:
                now = int(self._clock.now().timestamp())
                sent |= signing.signature_headers(
                    body, key=key, timestamp=now, hook_type=hook.effective_type.value, url=hook.url
                )
            return sent

        response = await delivery.post(
            self._client_for(hook),
            hook.url,
            body=body,
            headers=headers,
            timeout_seconds=hook.timeout_seconds,
            retries=hook.retries or 0,
            backoff=self._backoff,
        )
        if response.status_code > LAST_SUCCESS_STATUS:
            text = outbound.excerpt(response.text)
            raise WebhookRejectedError(
                hook.url,
                f"{hook.url} answered HTTP {response.status_code}: {text}",
                status=response.status_code,
            )
        logger.debug("webhook %s answered HTTP %d", hook.url, response.status_code)

    async def _signing_key(self, canary: Canary, hook: CanaryWebhook) -> bytes | None:
        ref = hook.signing_secret_ref
        if ref is None:
            return None
        key = ref.key or signing.DEFAULT_SECRET_KEY
        where = f"webhook {hook.name}: signingSecretRef"
        try:
            data = await self._resources.signing_secret(canary.namespace, ref.name)
        except NotFoundError as error:
            raise InvalidCanaryError(
                f"{where}: Secret {canary.namespace}/{ref.name} (key {key}) not found"
            ) from error
        except InvalidCanaryError as error:
            raise InvalidCanaryError(f"{where}: {error}") from error
        if key not in data:
            raise InvalidCanaryError(
                f"{where}: Secret {canary.namespace}/{ref.name} has no key {key!r}"
                f" (keys: {', '.join(sorted(data)) or 'none'})"
            )
        return data[key].encode("utf-8")

    def _client_for(self, hook: CanaryWebhook) -> httpx.AsyncClient:
        if not hook.disable_tls:
            return self._client
        if self._insecure is None:
            self._insecure = httpx.AsyncClient(verify=False)  # the hook asked for it
            self._owns_insecure = True
        return self._insecure
