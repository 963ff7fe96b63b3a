"""Running the operator until it is told to stop.

:func:`run` starts the health and metrics endpoints, waits until the API server answers, then
controls Canaries: at once, or, with leader election, only while this replica holds the Lease (a
replica that loses it stops ticking and waits to lead again), or, with ``--shards auto``, its share
of them (:mod:`serinus.operator.shards`). Setting ``stop`` (the CLI does on
SIGTERM and SIGINT) stops it gracefully: the watch ends, every tick in flight finishes and writes
its status, the run histories are written, the Lease is released so another replica takes over at
once, the Events still queued are written (:mod:`serinus.kube.eventsink`, within the grace
period), and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import ssl
from collections.abc import Coroutine
from typing import Any

import prometheus_client

from serinus import __version__, gcpauses, looplag, outbound
from serinus.errors import SerinusError
from serinus.kube.client import Kube
from serinus.kube.errors import LeadershipLostError
from serinus.kube.history import HistoryStore
from serinus.kube.leader import LeaderElector
from serinus.kube.membership import Membership
from serinus.operator import shards
from serinus.operator.canaries import Canaries
from serinus.operator.dashboard.app import Dashboard
from serinus.operator.history import Changes, HistoryRecorder
from serinus.operator.selfmetrics import SelfMetrics
from serinus.operator.server import Endpoints
from serinus.operator.settings import OperatorSettings
from serinus.operator.wiring import Wiring

logger = logging.getLogger("serinus.operator")

# A follower takes over at most LEASE + RETRY seconds after the leader died (measured on its own
# clock from the last renewal it saw): 12 s, inside the 15 s serinus promises. client-go's
# defaults (15/10/2) would give 15-17 s.
LEASE_SECONDS = 10.0
RENEW_DEADLINE_SECONDS = 7.0
RETRY_SECONDS = 2.0


async def run(settings: OperatorSettings, *, stop: asyncio.Event) -> None:
    """Serve until ``stop`` is set (``serinus operator`` sets it on SIGTERM or SIGINT)."""
    tls = _dashboard_tls(settings)
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # as Flagger: none
    metrics = SelfMetrics(mesh_provider=settings.mesh_provider)
    with (
        gcpauses.timed(metrics.gc_paused),  # serinus_gc_pause_seconds
        looplag.measured(metrics.loop_lag.observe),  # serinus_event_loop_lag_seconds
    ):
        await _serve(settings, metrics, tls, stop=stop)


async def _serve(
    settings: OperatorSettings,
    metrics: SelfMetrics,
    tls: ssl.SSLContext | None,
    *,
    stop: asyncio.Event,
) -> None:
    endpoints = Endpoints(metrics, host=settings.host, port=settings.port)
    await endpoints.start()
    scope = (
        f"namespace {', '.join(settings.namespaces)}" if settings.namespaces else "all namespaces"
    )
    logger.info(
        "Starting serinus operator: %s, mesh provider %s, metrics server %s, port %d",
        scope,
        settings.mesh_provider,
        settings.metrics_server,
        endpoints.port,
    )
    try:
        limited = dataclasses.replace(
            settings.kube,
            qps=settings.kube_api_qps,
            burst=settings.kube_api_burst,
            # the field manager stays "serinus" (the part before the slash); the request log of
            # the API server tells the replicas apart
            user_agent=f"serinus/{__version__} ({settings.identity})",
        )
        async with Kube(limited, times=metrics.kube) as kube, outbound.client() as http:
            if not await _until_stopped(stop, _reach(kube)):
                return
            endpoints.ready.set()
            kube.enable_cache(settings.namespaces)  # reads from informers: idle ticks send nothing
            wiring = Wiring(settings, kube, http, metrics=metrics)
            changes = Changes()
            dashboard: Dashboard | None = None
            try:
                dashboard = await _dashboard(settings, kube, changes, tls)
                await _control_loop(settings, kube, wiring, metrics, endpoints, stop, changes)
            finally:
                if dashboard is not None:
                    await dashboard.stop()
                await wiring.aclose()
    finally:
        await endpoints.stop()
        logger.info("serinus operator stopped")


async def _control_loop(
    settings: OperatorSettings,
    kube: Kube,
    wiring: Wiring,
    metrics: SelfMetrics,
    endpoints: Endpoints,
    stop: asyncio.Event,
    changes: Changes,
) -> None:
    def fresh() -> Canaries:
        return Canaries(
            kube=kube,
            wiring=wiring,
            metrics=metrics,
            min_interval=settings.min_interval_seconds,
            history=HistoryRecorder(HistoryStore(kube), clock=wiring.clock, changes=changes),
        )

    def control() -> Coroutine[Any, Any, None]:
        return _control(fresh(), settings.namespaces)

    if settings.shards == "auto":
        endpoints.leading = True
        canaries = fresh()
        canaries.owns = lambda key: False  # nothing until the replicas agree on a view
        membership = Membership(
            kube,
            settings.leader_election_namespace,
            settings.leader_election_name,
            settings.identity,
        )
        await _until_stopped(stop, _sharded(membership, canaries, settings.namespaces))
        return
    if not settings.leader_election:
        endpoints.leading = True
        await _until_stopped(stop, control())
        return
    elector = LeaderElector(
        kube,
        settings.leader_election_namespace,
        settings.leader_election_name,
        settings.identity,
        lease_duration=LEASE_SECONDS,
        renew_deadline=RENEW_DEADLINE_SECONDS,
        retry_period=RETRY_SECONDS,
        on_new_leader=lambda who: logger.info("new leader elected: %s", who),
    )
    while not stop.is_set():
        try:
            await _until_stopped(stop, _lead(elector, endpoints, control))
        except LeadershipLostError as error:
            logger.warning("leadership lost, stopping the controllers: %s", error)


async def _sharded(membership: Membership, canaries: Canaries, namespaces: tuple[str, ...]) -> None:
    """``--shards auto``: this replica's share, until cancelled; then its ticks finish before its
    Lease goes (so no other replica takes a Canary over while this one still acts on it)."""
    member = asyncio.create_task(membership.run(), name="membership")
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(shards.coordinate(membership, canaries))
            group.create_task(_control(canaries, namespaces))
    finally:
        member.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await member


async def _lead(elector: LeaderElector, endpoints: Endpoints, control: Any) -> None:
    logger.info("waiting to lead (Lease %s/%s)", elector.namespace, elector.name)
    async with elector.leading():
        logger.info("leading as %s", elector.identity)
        endpoints.leading = True
        try:
            await control()
        finally:
            endpoints.leading = False


async def _control(canaries: Canaries, namespaces: tuple[str, ...]) -> None:
    """Watch Canaries (of every namespace, or of each one given) and tick them until cancelled;
    then let ticks in flight finish."""
    try:
        if not namespaces:
            await canaries.follow(None)
        else:
            async with asyncio.TaskGroup() as group:
                for namespace in namespaces:
                    group.create_task(canaries.follow(namespace))
    finally:
        await canaries.scheduler.stop()
        if canaries.history is not None:
            await canaries.history.flush()  # the points of the last ticks, not written yet


def _dashboard_tls(settings: OperatorSettings) -> ssl.SSLContext | None:
    """The dashboard's TLS context, loaded before anything starts so a bad file fails at once."""
    if bool(settings.dashboard_tls_cert) != bool(settings.dashboard_tls_key):
        raise SerinusError("--dashboard-tls-cert and --dashboard-tls-key go together")
    if not (settings.dashboard_tls_cert and settings.dashboard_tls_key):
        return None
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        tls.load_cert_chain(settings.dashboard_tls_cert, settings.dashboard_tls_key)
    except (OSError, ssl.SSLError) as error:  # a mounted Secret may be missing or wrong
        raise SerinusError(
            f"dashboard TLS: cannot load {settings.dashboard_tls_cert} and "
            f"{settings.dashboard_tls_key}: {getattr(error, 'strerror', None) or error}"
        ) from error
    return tls


async def _dashboard(
    settings: OperatorSettings, kube: Kube, changes: Changes, tls: ssl.SSLContext | None
) -> Dashboard | None:
    """The dashboard, started, when ``--dashboard-port`` asks for it."""
    if settings.dashboard_port is None:
        return None
    dashboard = Dashboard(
        kube,
        changes,
        host=settings.dashboard_host or settings.host,
        port=settings.dashboard_port,
        provider=settings.mesh_provider,
        tls=tls,
        namespaces=settings.namespaces,
    )
    await dashboard.start()
    return dashboard


async def _reach(kube: Kube) -> None:
    """Wait until the API server answers."""
    delay = 0.5
    while True:
        try:
            version = await kube.server_version()
        except SerinusError as error:
            logger.warning("the Kubernetes API is not reachable yet: %s", error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            continue
        logger.info("connected to Kubernetes %s", version.get("gitVersion", "(unknown version)"))
        return


async def _until_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> bool:
    """Run ``work`` until it ends (True) or ``stop`` is set (cancelled, False)."""
    task = asyncio.create_task(work)
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        stopper.cancel()
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False
