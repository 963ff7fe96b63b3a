"""``spec.analysis`` of a Canary: the schedule, the steps, the metrics, the webhooks and the alerts.

Values are kept as the user wrote them; the ``effective_*`` properties apply Flagger's defaults
(interval 60s and at least 10s, threshold at least 1, maxWeight 100, ready thresholds 100%), so a
status write never rewrites the spec. The deployment strategy is derived, as Flagger does: match and
iterations make A/B testing, iterations alone blue/green, anything else a progressive canary.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from serinus.apis.base import (
    ApiModel,
    CheckedModel,
    Duration,
    PassthroughList,
    Percent,
    is_number,
    parse_duration,
    problem,
)

BUILTIN_METRICS = ("request-success-rate", "request-duration")
MIN_INTERVAL_SECONDS = 10.0
DEFAULT_INTERVAL_SECONDS = 60.0


class Strategy(enum.StrEnum):
    CANARY = "canary"
    AB_TESTING = "ab-testing"
    BLUE_GREEN = "blue-green"


class HookType(enum.StrEnum):
    """When a webhook is called (Flagger's eight types)."""

    CONFIRM_ROLLOUT = "confirm-rollout"
    PRE_ROLLOUT = "pre-rollout"
    ROLLOUT = "rollout"
    CONFIRM_TRAFFIC_INCREASE = "confirm-traffic-increase"
    CONFIRM_PROMOTION = "confirm-promotion"
    POST_ROLLOUT = "post-rollout"
    ROLLBACK = "rollback"
    EVENT = "event"


class Severity(enum.StrEnum):
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class ObjectRef(ApiModel):
    """A reference to an object by name, optionally in another namespace."""

    name: str
    namespace: str | None = None


class SecretRef(ApiModel):
    """A Secret in the Canary's namespace."""

    name: str


class SecretKeyRef(ApiModel):
    """One key of a Secret in the Canary's namespace."""

    name: str
    key: str | None = None


class ThresholdRange(CheckedModel):
    """Bounds a metric value must stay within; a value below min or above max fails the check."""

    min: float | None = None
    max: float | None = None

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Iterator[PydanticCustomError]:
        low, high = raw.get("min"), raw.get("max")
        if is_number(low) and is_number(high) and low > high:
            yield problem("min", f"a minimum not above the maximum ({high})", low)


class MetricJudge(ApiModel):
    """serinus: judge the metric by comparing the canary with the primary, sequentially.

    request-success-rate is judged on error counts, request-duration on the latency histogram.
    The false-alarm rate stays below alpha however many steps look at the data; too little data
    means no verdict yet, never a failure. See docs/judgement.md.
    """

    alpha: Annotated[float, Field(ge=0.0001, le=0.5)] | None = None
    """Highest acceptable rate of false rollbacks; 0.05 when unset."""
    min_effect: Annotated[float, Field(gt=0, le=100)] | None = None
    """Smallest regression worth catching, relative: for errors the increase of the error rate
    (1.0 = doubled, the default), for latency the increase of the quantile (0.2 = 20% slower,
    the default)."""
    quantile: Annotated[float, Field(ge=0.5, lt=1)] | None = None
    """Latency quantile compared (request-duration only); 0.99 when unset."""
    early_pass: bool | None = None
    """Let a clear pass speed the run up (two steps at once, or promotion from 50% weight on);
    otherwise only a clear regression ends the run early."""
    scrape_interval: Duration | None = None
    """How often Prometheus scrapes the mesh's metrics; 30s when unset (kube-prometheus-stack's
    default; Linkerd's own Prometheus scrapes every 10s). When readLag is unset the judge reads an
    interval once every series it reads has a sample at or after the interval's end, and at the
    latest two scrape intervals after it ended."""
    read_lag: Duration | None = None
    """A fixed time after an interval ends at which the judge reads it, instead of waiting for
    the series' sample times (for a Prometheus whose samples can land out of order, e.g. behind
    remote write)."""

    @property
    def scrape_seconds(self) -> float:
        return parse_duration(self.scrape_interval) if self.scrape_interval else 30.0

    @property
    def lag_seconds(self) -> float:
        return parse_duration(self.read_lag) if self.read_lag else 2 * self.scrape_seconds


class CanaryMetric(CheckedModel):
    """One check of the analysis: a built-in metric, a MetricTemplate, or an inline query."""

    name: str
    """request-success-rate and request-duration are built in; other names need a templateRef."""
    interval: Duration | None = None
    """Window of the query; 1m when unset."""
    threshold: float | None = None
    """Deprecated (v1alpha3): minimum for request-success-rate, maximum for the others."""
    threshold_range: ThresholdRange | None = None
    query: str | None = None
    """Deprecated inline PromQL, run against the metrics server."""
    template_ref: ObjectRef | None = None
    """The MetricTemplate that holds the query."""
    template_variables: dict[str, str] | None = None
    """Values for {{ variables.<key> }} in the template's query."""
    judge: MetricJudge | None = None
    """serinus: compare the canary with the primary sequentially: a built-in metric, or a
    MetricTemplate counting bad events over [{{ interval }}] for the workload {{ target }} (see
    docs/judgement.md); a built-in's success-rate minimum or duration maximum given too becomes an
    anytime-valid guard (rolls back when the canary is confidently beyond it and worse than the
    primary)."""
    on_no_data: Literal["fail", "wait"] | None = None
    """serinus: what a query without data means: a failed check (fail, Flagger's behaviour and the
    default) or no verdict yet (wait: the step is held without counting a failed check)."""

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Iterator[PydanticCustomError]:
        name = raw.get("name")
        judged = raw.get("judge") is not None
        if judged and name not in BUILTIN_METRICS and not raw.get("templateRef"):
            yield problem(
                "judge",
                f"a judge only on a built-in metric ({', '.join(BUILTIN_METRICS)}) or on a"
                " MetricTemplate that counts bad events (templateRef)",
                None,
                found_text=f"a judge on metric {name!r} without a templateRef",
            )
        if name not in BUILTIN_METRICS and not raw.get("templateRef") and not raw.get("query"):
            yield problem(
                "templateRef",
                f"a built-in metric ({', '.join(BUILTIN_METRICS)}), a templateRef or a query",
                None,
                found_text=f"metric {name!r} with none of them",
            )

    @property
    def effective_interval(self) -> str:
        return self.interval or "1m"

    @property
    def has_bounds(self) -> bool:
        """Whether a fixed threshold applies (the judge alone needs none)."""
        bounds = self.effective_range
        return bounds.min is not None or bounds.max is not None or self.judge is None

    @property
    def effective_range(self) -> ThresholdRange:
        """The bounds, with the legacy threshold converted as Flagger does."""
        if self.threshold_range is not None:
            return self.threshold_range
        if self.threshold is None:
            return ThresholdRange()
        if self.name == "request-success-rate":
            return ThresholdRange(min=self.threshold)
        return ThresholdRange(max=self.threshold)


class CanaryWebhook(ApiModel):
    """A call to an HTTP endpoint at one moment of the run (gate, load test, notification)."""

    name: str
    type: HookType | Literal[""] | None = None
    """When it is called; rollout when unset."""
    url: str
    timeout: Annotated[str, Field(pattern=r"^[0-9]+(m|s)")] | None = None
    """Request timeout such as 10s or 1m; 10s when unset."""
    metadata: dict[str, str] | None = None
    """Handed to the receiver in the payload (the load tester reads cmd and type)."""
    retries: Annotated[int, Field(ge=0)] | None = None
    mute_alert: bool | None = None
    """Do not send the gate alerts for this hook."""
    disable_tls: bool | None = Field(default=None, alias="disableTLS")
    """Skip TLS certificate verification."""
    signing_secret_ref: SecretKeyRef | None = None
    """serinus: sign each request body with HMAC-SHA256 using this Secret key (default key: key);
    the signature travels in the X-Serinus-Signature header as sha256=<hex>."""

    @property
    def effective_type(self) -> HookType:
        return HookType(self.type) if self.type else HookType.ROLLOUT

    @property
    def timeout_seconds(self) -> float:
        return parse_duration(self.timeout) if self.timeout else 10.0


class CanaryAlert(ApiModel):
    """Where alerts of this Canary go, and from which severity on."""

    name: str
    severity: Severity | None = None
    """info receives everything, warn receives warn and error, error only errors; info if unset."""
    provider_ref: ObjectRef


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class SessionAffinity(CheckedModel):
    """Pins a client to the canary with a cookie once it has been served by it."""

    cookie_name: str
    primary_cookie_name: str | None = None
    max_age: int | None = None
    domain: str | None = None
    http_only: bool | None = None
    partitioned: bool | None = None
    path: str | None = None
    same_site: Literal["Strict", "Lax", "None"] | None = None
    secure: bool | None = None

    def cookie(self, seed: str, *, primary: bool) -> str:
        """``name=token`` for a run: ten letters derived from ``seed`` (what identifies the run),
        as long and from the same alphabet as Flagger's random ones."""
        name = (self.primary_cookie_name or "") if primary else self.cookie_name
        digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
        return f"{name}=" + "".join(_LETTERS[byte % len(_LETTERS)] for byte in digest[:10])

    def set_cookie(self, cookie: str, max_age: int) -> str:
        """The ``Set-Cookie`` value for ``cookie`` with this affinity's attributes (Flagger's)."""
        parts = [cookie, f"Max-Age={max_age}"]
        if self.domain:
            parts.append(f"Domain={self.domain}")
        if self.http_only:
            parts.append("HttpOnly")
        if self.partitioned:
            parts.append("Partitioned")
        if self.path:
            parts.append(f"Path={self.path}")
        if self.same_site:
            parts.append(f"SameSite={self.same_site}")
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Iterator[PydanticCustomError]:
        primary = raw.get("primaryCookieName")
        if primary and primary == raw.get("cookieName"):
            yield problem("primaryCookieName", "a name different from cookieName", primary)


class CanaryAnalysis(CheckedModel):
    """How the new version is exposed and judged."""

    interval: Duration | None = None
    """Time between two steps; 60s when unset, never less than 10s."""
    threshold: int | None = None
    """Failed checks that roll the release back; at least 1."""
    max_weight: Percent | None = None
    """Highest canary weight before promotion; 100 when unset."""
    step_weight: int | None = None
    """Weight added at each step."""
    step_weights: list[int] | None = None
    """Explicit weights of the steps, increasing, e.g. [1, 2, 10, 80]."""
    step_weight_promotion: Annotated[int, Field(ge=0, le=100)] | None = None
    """Primary weight added per step after promotion; 0 routes everything back at once."""
    iterations: Annotated[int, Field(ge=0)] | None = None
    """Number of steps of an A/B or blue/green run."""
    match: PassthroughList | None = None
    """A/B conditions (headers, cookies, source labels) routed to the canary."""
    mirror: bool | None = None
    """Mirror traffic to the canary before shifting it (Istio, Gateway API)."""
    mirror_weight: Percent | None = None
    primary_ready_threshold: Percent | None = None
    """Percent of the primary's updated replicas that must be available; 100 when unset."""
    canary_ready_threshold: Percent | None = None
    alerts: list[CanaryAlert] | None = None
    metrics: list[CanaryMetric] | None = None
    webhooks: list[CanaryWebhook] | None = None
    session_affinity: SessionAffinity | None = None

    @field_validator("step_weights")
    @classmethod
    def _increasing(cls, weights: list[int] | None) -> list[int] | None:
        if weights is None:
            return None
        # Like Flagger, a last step above 100 is allowed: it routes all traffic to the canary.
        rising = all(high > low for low, high in zip([0, *weights], weights, strict=False))
        if not rising:
            raise problem(None, "weights that increase step by step, from above 0", weights)
        return weights

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Iterator[PydanticCustomError]:
        if raw.get("stepWeights") or raw.get("iterations"):
            return
        step = raw.get("stepWeight")
        if not is_number(step) or not 0 < step <= 100:
            yield problem(
                "stepWeight", "a number between 1 and 100 (or stepWeights, or iterations)", step
            )

    @property
    def strategy(self) -> Strategy:
        if self.iterations and self.match:
            return Strategy.AB_TESTING
        if self.iterations:
            return Strategy.BLUE_GREEN
        return Strategy.CANARY

    @property
    def interval_seconds(self) -> float:
        """Seconds between steps, never less than Flagger's 10s minimum."""
        return self.interval_at_least(MIN_INTERVAL_SECONDS)

    def interval_at_least(self, minimum: float) -> float:
        """Seconds between steps, with another minimum (the sandbox's demo runs faster)."""
        try:
            seconds = parse_duration(self.interval) if self.interval else DEFAULT_INTERVAL_SECONDS
        except ValueError:
            seconds = DEFAULT_INTERVAL_SECONDS
        return max(seconds, minimum)

    @property
    def effective_threshold(self) -> int:
        return self.threshold if self.threshold and self.threshold > 0 else 1

    @property
    def effective_max_weight(self) -> int:
        if self.step_weights:
            return min(100, self.step_weights[-1])
        return self.max_weight if self.max_weight else 100

    @property
    def effective_primary_ready_threshold(self) -> int:
        return self.primary_ready_threshold or 100

    @property
    def effective_canary_ready_threshold(self) -> int:
        return self.canary_ready_threshold or 100

    def hooks(self, hook_type: HookType) -> list[CanaryWebhook]:
        return [h for h in self.webhooks or [] if h.effective_type == hook_type]
