"""Where the time of the client's requests goes, for whoever wants to know (the operator's
``/metrics``), as client-go reports ``rest_client_request_duration_seconds`` and
``rest_client_rate_limiter_duration_seconds``.

:class:`~serinus.kube.client.Kube` takes an optional :class:`RequestTimes`; the operator hands it
one that puts the times into its histograms (:class:`serinus.operator.selfmetrics.KubeTimes`), so
this package knows nothing of Prometheus, and every other user of ``Kube`` (the CLI, the sandbox)
passes none and pays nothing. Each try of a request (a retry is a try of its own) reports how long
it waited for the client-side rate limiter (:mod:`serinus.kube.ratelimit`; also when a token was
there at once, about a microsecond: the count is the number of tries) and then how long the
exchange with the API server took, its answer read whole, whatever the answer or failure (a
timeout reports the time it waited). Watches are not requests here: each is open for minutes.
"""

from __future__ import annotations

from typing import Protocol


class RequestTimes(Protocol):
    """Told the times of each try of each request (module docstring). Called on the event loop,
    once or twice per request: it must be cheap and must not raise."""

    def requested(self, verb: str, seconds: float) -> None:
        """One exchange with the API server took ``seconds``; ``verb`` is the HTTP method."""

    def rate_limited(self, seconds: float) -> None:
        """One try waited ``seconds`` for the client-side rate limiter."""
