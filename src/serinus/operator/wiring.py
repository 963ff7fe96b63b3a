"""The Kubernetes-backed world of each Canary: which target, which router, the shared clients.

One :class:`Wiring` per operator holds what all Canaries share (the HTTP client, the metrics,
webhook and notifier clients, the status store, the event sink, whose queued Events
:meth:`Wiring.aclose` writes on a graceful stop); :meth:`Wiring.world` picks the
target controller for the Canary's ``targetRef.kind`` and the router for its provider (its own
``spec.provider`` or the operator's ``--mesh-provider``). A kind or provider serinus does not
implement becomes a port that raises :class:`~serinus.errors.UnknownProviderError` on every call,
so the state machine shows "provider X is not supported" on that Canary like any other permanent
error, and every other Canary keeps running.
"""

from __future__ import annotations

from typing import Any

import httpx

from serinus.apis.analysis import CanaryWebhook, HookType
from serinus.apis.canary import Canary
from serinus.capabilities import Capabilities
from serinus.errors import UnknownProviderError
from serinus.kube.client import Kube
from serinus.kube.eventsink import KubeEventSink
from serinus.kube.resources import KubeResources
from serinus.kube.status import KubeStatusStore
from serinus.metrics.checks import MetricChecks
from serinus.notifiers.notifier import AlertNotifier
from serinus.operator import admission
from serinus.operator.runs import RunLimits
from serinus.operator.selfmetrics import SelfMetrics
from serinus.operator.settings import OperatorSettings
from serinus.ports import EventSink, EventType, Router, SystemClock, Target, World
from serinus.routers import registry as routers
from serinus.targets import registry as targets
from serinus.webhooks.client import WebhookClient


class Unsupported:
    """A target or router that cannot be built: every call raises the reason."""

    def __init__(self, error: UnknownProviderError) -> None:
        self._error = error

    def capabilities(self, canary: Canary) -> Capabilities:
        raise self._error

    def __getattr__(self, name: str) -> Any:
        async def fail(*args: object, **kwargs: object) -> None:
            raise self._error

        return fail


class GlobalEventWebhook:
    """Events to the Kubernetes API, and to ``--event-webhook`` for Canaries without event hooks."""

    def __init__(self, sink: EventSink, webhooks: WebhookClient, url: str) -> None:
        self._sink = sink
        self._webhooks = webhooks
        self._hook = CanaryWebhook.model_validate(
            {"name": "event-webhook", "type": "event", "url": url}
        )

    async def record(self, canary: Canary, *, event_type: EventType, message: str) -> None:
        await self._sink.record(canary, event_type=event_type, message=message)
        analysis = canary.spec.effective_analysis
        if analysis is None or not analysis.hooks(HookType.EVENT):
            await self._webhooks.event(canary, self._hook, message=message, event_type=event_type)


class Wiring:
    """Builds the world of each Canary from the operator's settings and shared clients."""

    def __init__(
        self,
        settings: OperatorSettings,
        kube: Kube,
        http: httpx.AsyncClient,
        *,
        metrics: SelfMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.kube = kube
        self.clock = SystemClock()
        self.resources = KubeResources(kube)
        # the specs of the ticks in flight: each tick's status write reads its Canary again
        held = 2 * (settings.max_concurrent_ticks or 64)
        self.store = KubeStatusStore(kube, specs_held=held)
        self.runs = RunLimits(
            cluster=settings.max_concurrent_runs,
            namespace=settings.max_concurrent_runs_per_namespace,
        )
        notifier = settings.notifier
        self.metrics = MetricChecks(
            metrics_server=settings.metrics_server,
            mesh_provider=settings.mesh_provider,
            resources=self.resources,
            http=http,
            kube=kube,
            timed=metrics.queried if metrics is not None else None,
        )
        self.webhooks = WebhookClient(http, resources=self.resources, clock=self.clock)
        self.notifier = AlertNotifier(
            http,
            resources=self.resources,
            clock=self.clock,
            cluster_name=notifier.cluster_name,
            slack_url=notifier.slack_url,
            slack_token=notifier.slack_token,
            slack_channel=notifier.slack_channel,
            slack_user=notifier.slack_user,
            slack_proxy_url=notifier.slack_proxy_url,
            msteams_url=notifier.msteams_url,
            msteams_proxy_url=notifier.msteams_proxy_url,
        )
        # written in the background (kube/eventsink.py); aclose writes what is still queued
        self.sink = KubeEventSink(
            kube,
            clock=self.clock,
            dropped=metrics.events_dropped.inc if metrics is not None else None,
        )
        self.events: EventSink = (
            GlobalEventWebhook(self.sink, self.webhooks, notifier.event_webhook)
            if notifier.event_webhook
            else self.sink
        )

    def provider(self, canary: Canary) -> str:
        return canary.spec.provider or self.settings.mesh_provider

    def refusals(self, canary: Canary) -> list[str]:
        """What the Canary asks of its router that the router cannot do (none for a provider
        without a router: its ticks say so)."""
        try:
            return routers.refusals(canary, self.provider(canary))
        except UnknownProviderError:
            return []

    async def admission(self, canary: Canary) -> list[str]:
        """What the cluster says the Canary may not do (:mod:`serinus.operator.admission`)."""
        return await admission.refusals(self.kube, self.resources, canary)

    async def ownership(self, canary: Canary) -> str | None:
        """Why the Canary may not touch its target (another Canary's or controller's)."""
        return await targets.refusal(self.kube, canary)

    def world(self, canary: Canary) -> World:
        return World(
            target=self._target(canary),
            router=self._router(canary),
            metrics=self.metrics,
            webhooks=self.webhooks,
            notifier=self.notifier,
            events=self.events,
            store=self.store,
            clock=self.clock,
            provider=self.provider(canary),
            slots=self.runs,
        )

    def _target(self, canary: Canary) -> Target:
        try:
            return targets.target_for(
                canary.spec.target_ref.kind,
                self.kube,
                api_version=canary.spec.target_ref.api_version,
                selector_labels=self.settings.selector_labels,
                include_label_prefixes=self.settings.include_label_prefixes,
                config_tracking=self.settings.config_tracking,
                track_secrets=self.settings.track_secrets,
                clock=self.clock,
            )
        except UnknownProviderError as error:
            return Unsupported(error)

    def _router(self, canary: Canary) -> Router:
        try:
            return routers.router_for(
                self.provider(canary),
                self.kube,
                selector_labels=self.settings.selector_labels,
                ingress_class=self.settings.ingress_class,
                nginx_annotations_prefix=self.settings.ingress_annotations_prefix,
            )
        except UnknownProviderError as error:
            return Unsupported(error)

    async def aclose(self) -> None:
        """Write the Events still queued (within the grace period), then close the clients."""
        await self.sink.aclose(self.settings.grace_seconds)
        await self.metrics.aclose()
        await self.webhooks.aclose()
        await self.notifier.aclose()
