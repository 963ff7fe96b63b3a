"""The seed's story, played step by step in a running sandbox: :class:`Story`.

1. Bootstrap: podinfo 2.1.0 (the seed's HelmRelease, as the Deployment it renders), the load
   tester, and the seed's Canary exactly as the seed writes it (``flagger.app/v1alpha3``); wait
   until the operator has initialised it.
2. Automated promotion: the image becomes 2.1.1; the operator shifts traffic 5% at a time under
   the load test's ``hey -z 2m -q 10 -c 2 http://podinfo:9898/`` and promotes it.
3. Automated rollback: the image becomes 2.1.2; once the canary gets 15% of the traffic, the seed's
   ``hey -z 1m -c 5 -q 5 http://podinfo-canary:9898/status/500`` runs in the sandbox, then its
   ``.../delay/1``; the operator halts, and rolls back when the failed checks reach the threshold.

With ``--mesh-provider contour`` the operator runs with Contour's router (the demo sets the
operator Deployment's ``--mesh-provider`` argument, as a user would reconfigure Flagger): traffic
moves through ``HTTPProxy prod/podinfo``, which the sandbox's proxy serves at the apex Service,
and the built-in metrics are Contour's Envoy statistics. As in Flagger's Contour tutorial, the
faults are then sent through the proxy (``http://podinfo:9898/...``), where the canary gets its
share of them; sent to ``podinfo-canary`` directly they would pass no Envoy and be counted nowhere.

Two things differ from the seed, and the demo says so on screen when it does them:

* ``--interval`` other than the seed's 10s patches ``canaryAnalysis.interval`` (the sandbox's
  operator accepts intervals down to 1s); the e2e tests use a few seconds.
* For the rollback, both metric windows (the seed's ``interval: 1m``) are narrowed to the analysis
  interval, and the 500s are stopped (Ctrl-C) after the success-rate halts, leaving the last two
  failed checks to the latency. With 1m windows every request of a burst of 500s stays in the
  success rate for a minute, six intervals of 10s, which is past the threshold of 5: the canary
  would be rolled back on the success rate alone and the seed's "request duration" halts could
  never show. serinus judges every metric at every step, so the halts say which checks failed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib
import time
from collections.abc import Callable
from typing import Any

from serinus import __version__
from serinus.apis.base import format_duration
from serinus.kube import Kube
from serinus.sandbox import manifests
from serinus.sandbox.demo import meshes
from serinus.sandbox.demo.clients import (
    Counts,
    Injection,
    LoadTesterResults,
    LoadTestSnapshot,
    Probe,
)
from serinus.sandbox.demo.observe import CANARY, DemoTimeout, Observer
from serinus.sandbox.demo.releases import Release, served

NAMESPACE = "prod"
IMAGE = "stefanprodan/podinfo"
SEED_INTERVAL = 10.0
FAULTS = "http://podinfo-canary:9898"
INGRESS_FAULTS = "http://podinfo:9898"
MANAGER = "serinus-demo"


@dataclasses.dataclass
class Settings:
    directory: pathlib.Path
    interval: float = SEED_INTERVAL
    prometheus: str = ""
    probe_rate: float = 20.0
    mesh_provider: str = "linkerd"
    environment: dict[str, str] = dataclasses.field(default_factory=dict)
    """The environment the fault injection's commands start from (the CLI's own)."""


class Story:
    """Plays the seed in the sandbox; ``say`` gets each step, ``note`` each remark."""

    def __init__(
        self,
        kube: Kube,
        settings: Settings,
        *,
        say: Callable[[str], None],
        note: Callable[[str], None],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.kube = kube
        self.settings = settings
        self.say = say
        self.note = note
        self.observer = Observer(
            kube, settings.directory, mesh_provider=settings.mesh_provider, on_change=on_change
        )
        self.releases = [
            Release("2.1.1", "2.1.0", "Succeeded"),
            Release("2.1.2", "2.1.1", "Failed"),
        ]
        self.current: Release | None = None
        self.probe: Probe | None = None
        self.injection: Injection | None = None
        self.primary_image = ""
        self.deviations: list[str] = []
        """Where this run differs from the seed, as said on screen (repeated in the summary)."""
        self._loadtest: LoadTesterResults | None = None
        self._before: LoadTestSnapshot | None = None
        self._split_mark = 0

    @property
    def interval(self) -> str:
        return format_duration(self.settings.interval)

    def _within(self, intervals: float, extra: float = 30.0) -> float:
        return intervals * self.settings.interval + extra

    async def play(self) -> list[Release]:
        self.observer.start()
        try:
            await self._bootstrap()
            await self._promotion(self.releases[0])
            await self._rollback(self.releases[1])
            primary = await self.kube.get("apps/v1", "Deployment", "podinfo-primary", NAMESPACE)
            containers = (((primary or {}).get("spec") or {}).get("template") or {}).get("spec")
            self.primary_image = str(((containers or {}).get("containers") or [{}])[0].get("image"))
        finally:
            if self.injection is not None and self.injection.running:
                await self.injection.stop()
            if self.probe is not None:
                await self.probe.stop()
            await self.observer.stop()
        return self.releases

    # 1. bootstrap

    async def _bootstrap(self) -> None:
        await self._reset()
        await self._use_mesh_provider()
        self.say("Deploy podinfo 2.1.0 (the seed's HelmRelease, image updates off, no Service)")
        await self._apply("podinfo.yaml")
        await self._available("podinfo")
        self.say("Install the load tester (prod/load-tester, Service port 80)")
        await self._apply("loadtester.yaml", {"version": __version__})
        await self._available("load-tester")
        self._loadtest = LoadTesterResults(
            f"http://{await self._cluster_ip('load-tester')}:80/metrics", canary="podinfo.prod"
        )
        canary = manifests.load("canary.yaml")[0]
        if self.settings.interval != SEED_INTERVAL:
            canary["spec"]["canaryAnalysis"]["interval"] = self.interval
            self._deviate(
                f"canaryAnalysis.interval set to {self.interval} instead of the seed's 10s "
                "(--interval)"
            )
        self.say("Create the seed's Canary (flagger.app/v1alpha3) and wait for Initialized")
        await self.kube.apply(canary, field_manager=MANAGER)
        await self.observer.wait_until(
            "Canary Initialized", lambda: self.observer.phase == "Initialized", within=90
        )
        url = f"http://{await self._cluster_ip('podinfo')}:9898/"
        self.probe = Probe(url, rate=self.settings.probe_rate)
        self.probe.start()
        self.note(
            f"podinfo's users: {self.settings.probe_rate:g} requests/s to http://podinfo:9898/ "
            "through the mesh, every answer counted"
        )

    async def _use_mesh_provider(self) -> None:
        wanted = self.settings.mesh_provider
        if wanted != "linkerd":
            self._deviate(f"the operator runs with --mesh-provider={wanted} (the seed's: linkerd)")
        await meshes.use(self.kube, wanted, say=self.say)

    async def _reset(self) -> None:
        if await self.kube.get(*CANARY, "podinfo", NAMESPACE) is None:
            return
        self.say("Remove the previous demo's Canary and podinfo")
        await self.kube.delete(*CANARY, "podinfo", NAMESPACE)
        for kind, name in (
            ("Deployment", "podinfo"),
            ("Deployment", "podinfo-primary"),
            ("Service", "podinfo"),
            ("Service", "podinfo-canary"),
            ("Service", "podinfo-primary"),
        ):
            await self.kube.delete(
                "apps/v1" if kind == "Deployment" else "v1", kind, name, NAMESPACE
            )
        await self.observer.wait_until(
            "the previous Canary gone", lambda: self.observer.canary is None, within=30
        )

    # 2. promotion

    async def _promotion(self, release: Release) -> None:
        await self._start(release)
        await self.observer.wait_until(
            "podinfo 2.1.1 promoted (Succeeded)",
            lambda: self.observer.phase in ("Succeeded", "Failed"),
            within=self._within(100 / 5 + 12, 60),
        )
        await self._finish(release)
        if self._loadtest is not None and (await self._loadtest.snapshot()).running:
            self.say("Wait for the load test's hey -z 2m to finish, to count all its requests")
            await self._wait_load_test(within=130)
        release.load_test, release.load_test_running = await self._load_test_since(release)

    # 3. rollback

    async def _rollback(self, release: Release) -> None:
        await self._narrow_windows()
        await self._start(release)
        await self.observer.wait_until(
            "canary weight 15",
            lambda: (
                int(self.observer.status.get("canaryWeight") or 0) >= 15
                or self.observer.phase in ("Failed", "Succeeded")
            ),
            within=self._within(10),
        )
        threshold = int(self.analysis().get("threshold") or 5)
        first = int(self.observer.status.get("failedChecks") or 0)
        until = max(first + 1, threshold - 2)
        await self._inject("status/500")
        self.note(f"keeping the 500s until {until} failed checks, then Ctrl-C")
        await self.observer.wait_until(
            "success-rate halts",
            lambda: (
                int(self.observer.status.get("failedChecks") or 0) >= until
                or self.observer.phase == "Failed"
            ),
            within=self._within(threshold + 3),
        )
        await self._stop_injection(release)
        await self._inject("delay/1")
        await self.observer.wait_until(
            "podinfo 2.1.2 rolled back (Failed)",
            lambda: self.observer.phase in ("Failed", "Succeeded"),
            within=self._within(threshold + 4),
        )
        await self._stop_injection(release)
        await self._finish(release)
        release.load_test, release.load_test_running = await self._load_test_since(release)

    async def _narrow_windows(self) -> None:
        analysis = self.analysis()
        metrics = [dict(m, interval=self.interval) for m in analysis.get("metrics") or []]
        await self.kube.patch(
            *CANARY, "podinfo", NAMESPACE, {"spec": {"canaryAnalysis": {"metrics": metrics}}}
        )
        self._deviate(
            f"metric windows narrowed from the seed's 1m to {self.interval} for the rollback, and "
            "the 500s stopped after the success-rate halts: a minute of 500s would otherwise "
            "fail the success rate past the threshold before the latency halts could show"
        )

    def _deviate(self, text: str) -> None:
        self.deviations.append(text)
        self.note(text)

    def analysis(self) -> dict[str, Any]:
        spec = (self.observer.canary or {}).get("spec") or {}
        return dict(spec.get("canaryAnalysis") or spec.get("analysis") or {})

    async def _inject(self, path: str) -> None:
        faults = INGRESS_FAULTS if self.settings.mesh_provider == "contour" else FAULTS
        words = ["hey", "-z", "1m", "-c", "5", "-q", "5", f"{faults}/{path}"]
        self.injection = Injection(
            self.settings.directory,
            words,
            namespace=NAMESPACE,
            environment=self.settings.environment,
        )
        self.say(f"$ {self.injection.text}   (in serinus sandbox shell)")
        await self.injection.start()

    async def _stop_injection(self, release: Release) -> None:
        if self.injection is None:
            return
        report = await self.injection.stop()
        release.injections.append((self.injection.text, report))
        self.injection = None

    # shared steps

    async def _start(self, release: Release) -> None:
        self.current = release
        if self.probe is not None:
            self.probe.label = release.version
        release.probe = self.probe.counts[release.version] if self.probe else Counts()
        self._before = await self._loadtest.snapshot() if self._loadtest else None
        self.say(
            f"Release {release.version}: kubectl -n prod set image deployment/podinfo "
            f"podinfo={IMAGE}:{release.version}"
        )
        release.started = time.monotonic()
        self._split_mark = len(self.observer.weights)
        patch = {"spec": {"template": {"spec": {"containers": [
            {"name": "podinfo", "image": f"{IMAGE}:{release.version}"}
        ]}}}}  # fmt: skip
        await self.kube.patch(
            "apps/v1", "Deployment", "podinfo", NAMESPACE, patch, patch_type="strategic"
        )
        await self.observer.wait_until(
            "new revision detected (Progressing)",
            lambda: self.observer.phase == "Progressing",
            within=self._within(3),
        )

    async def _finish(self, release: Release) -> None:
        release.ended = time.monotonic()
        release.outcome = self.observer.phase
        release.weights = [0, *self.observer.weights[self._split_mark :]]
        release.served = await served(self.settings.prometheus, release.seconds)
        self.say(f"Release {release.version}: {release.outcome}")

    async def _wait_load_test(self, *, within: float) -> None:
        assert self._loadtest is not None
        deadline = time.monotonic() + within
        while (await self._loadtest.snapshot()).running and time.monotonic() < deadline:
            await _sleep(1.0)

    async def _load_test_since(self, release: Release) -> tuple[Counts | None, bool]:
        if self._loadtest is None or self._before is None:
            return None, False
        now = await self._loadtest.snapshot()
        return now.minus(self._before), now.running

    async def _apply(self, name: str, fields: dict[str, str] | None = None) -> None:
        for manifest in manifests.load(name, fields):
            await self.kube.apply(manifest, field_manager=MANAGER)

    async def _available(self, name: str) -> None:
        async def ready() -> bool:
            found = await self.kube.get("apps/v1", "Deployment", name, NAMESPACE)
            return int(((found or {}).get("status") or {}).get("availableReplicas") or 0) >= 1

        deadline = time.monotonic() + 60
        while not await ready():
            if time.monotonic() > deadline:
                raise DemoTimeout(f"deployment {NAMESPACE}/{name} not available within 60s")
            await _sleep(0.2)

    async def _cluster_ip(self, service: str) -> str:
        found = await self.kube.get("v1", "Service", service, NAMESPACE)
        return str(((found or {}).get("spec") or {}).get("clusterIP") or "")


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)
