"""Random Canaries applied to the real operator (hypothesis): nothing breaks, nobody is harmed.

One sandbox API server and one ``serinus operator`` process for the module, with Canary ``good``
releasing Deployment ``good``. Then hypothesis applies 40 random Canaries, one after the other,
without deleting any: a valid Canary with random edits from every part of the spec (targets
that are ``good`` itself, its primary, missing or shared; Service names that are ``good``'s;
every provider; random intervals, weights, thresholds, deadlines; metrics with random queries,
templates and bounds; webhooks of every type at refused, credential-carrying, malformed or
internal URLs, signed with Secrets that are or are not meant for signing; random names up to
253 characters), and sometimes a field replaced by a random value of the wrong type. Some are
deleted again at random (with ``revertOnDeletion`` or not). What the API server refuses never
reaches the operator; at least half are accepted.

Afterwards: the operator is still running and its log holds no traceback; ``good``'s primary,
Services and TrafficSplit are as they were and it still releases a new version to the end; every
message on every Event is at most 1,024 characters and no secret of the Secrets appears.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import itertools
import json
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serinus.errors import KubeError
from tests.hostile.cluster import Operated, canary, closed_port, deployment
from tests.operator.processes import Operator
from tests.operator.support import CANARY, DEPLOYMENT, NS, SPLIT, Kubelet, cluster

pytestmark = pytest.mark.slow  # starts the operator process

T = TypeVar("T")
EXAMPLES = 40
PASSWORD = "fuzz-db-password-93"
CLOSED = closed_port()
TARGETS = ["fz-a", "fz-b", "good", "good-primary", "missing", "fz-a-primary"]
URLS = [
    f"http://127.0.0.1:{CLOSED}/",
    f"http://user:{PASSWORD}@127.0.0.1:{CLOSED}/x?token={PASSWORD}",
    "http://load-tester.prod/",
    "not a url",
    "file:///etc/passwd",
    "http://[::1:bad",
    "",
]
HOOK_TYPES = [
    "confirm-rollout", "pre-rollout", "rollout", "confirm-traffic-increase",
    "confirm-promotion", "post-rollout", "rollback", "event", "bogus",
]  # fmt: skip
PROVIDERS = ["linkerd", "kubernetes", "istio", "nginx", "gatewayapi:v1", "smi:v1alpha2", "x"]


class Background:
    """An event loop in a thread of its own, for the module's API server and kubelet (hypothesis
    runs synchronous examples, which must not block the loop that serves the operator)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclasses.dataclass
class Fuzzed:
    background: Background
    cluster: Operated

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return self.background.run(work, timeout)


def _secret(name: str, value: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
        "data": {"key": base64.b64encode(value.encode()).decode()},
    }


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    directory = tmp_path_factory.mktemp("operator-fuzz")
    background = Background()
    stack = contextlib.AsyncExitStack()

    async def up() -> Any:
        k8s = await stack.enter_async_context(cluster(directory))
        await stack.enter_async_context(Kubelet(k8s.kube))
        for name in ("good", "fz-a", "fz-b"):
            await k8s.kube.create(deployment(name))
        await k8s.kube.create(_secret("db-creds", PASSWORD))
        await k8s.kube.create(_secret("hook-key", "k", {"serinus.io/signing": "true"}))
        await k8s.kube.create(canary("good"))
        return k8s

    k8s = background.run(up())
    operator = Operator(
        k8s.kubeconfig, directory / "operator.log", metrics_server=f"http://127.0.0.1:{CLOSED}"
    )
    operator.start()
    try:
        fuzz = Fuzzed(background, Operated(k8s, operator))
        fuzz.run(fuzz.cluster.wait_phase("good", "Initialized"))
        yield fuzz
    finally:
        operator.kill()
        background.run(stack.aclose())
        background.stop()


# --- random Canaries ----------------------------------------------------------------------------

WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
    st.lists(st.integers(), max_size=30),
    st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=4),
)
SMALL = st.integers(min_value=-5, max_value=120)
DNS = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


@st.composite
def metrics(draw: st.DrawFn) -> dict[str, Any]:
    metric: dict[str, Any] = {"name": draw(st.sampled_from(["request-success-rate", "m", "x"]))}
    kind = draw(st.sampled_from(["template", "query", "builtin"]))
    if kind == "template":
        metric["templateRef"] = {"name": draw(st.sampled_from(["absent", "t"]))}
    elif kind == "query":
        metric["query"] = draw(st.text(max_size=200))
    bounds = {"min": draw(st.floats(-1e9, 1e9)), "max": draw(st.floats(-1e9, 1e9))}
    metric["thresholdRange"] = draw(st.dictionaries(st.sampled_from(["min", "max"]), st.just(0)))
    metric["thresholdRange"].update({k: bounds[k] for k in metric["thresholdRange"]})
    metric["interval"] = draw(st.sampled_from(["1m", "0s", "bogus", "30s"]))
    return metric


@st.composite
def webhooks(draw: st.DrawFn) -> dict[str, Any]:
    hook: dict[str, Any] = {
        "name": draw(DNS),
        "type": draw(st.sampled_from(HOOK_TYPES)),
        "url": draw(st.sampled_from(URLS)),
        "timeout": draw(st.sampled_from(["1s", "0s", "bogus", "100ms"])),
        "metadata": draw(st.dictionaries(st.text(max_size=8), st.text(max_size=50), max_size=3)),
    }
    if draw(st.booleans()):
        hook["signingSecretRef"] = {"name": draw(st.sampled_from(["db-creds", "hook-key", "no"]))}
    return hook


EDITS: dict[str, st.SearchStrategy[Any]] = {
    "spec.targetRef.name": st.sampled_from(TARGETS),
    "spec.targetRef.kind": st.sampled_from(["Deployment", "DaemonSet", "Service"]),
    "spec.service.name": st.sampled_from(["good", "good-primary", "good-canary", "fz-svc"]),
    "spec.service.port": st.integers(-5, 70_000),
    "spec.progressDeadlineSeconds": SMALL,
    "spec.skipAnalysis": st.booleans(),
    "spec.revertOnDeletion": st.booleans(),
    "spec.suspend": st.booleans(),
    "spec.provider": st.sampled_from(PROVIDERS),
    "spec.analysis.interval": st.sampled_from(["1s", "0s", "-1s", "bogus", "2s", "500ms"]),
    "spec.analysis.threshold": SMALL,
    "spec.analysis.stepWeight": SMALL,
    "spec.analysis.maxWeight": SMALL,
    "spec.analysis.stepWeights": st.lists(SMALL, max_size=2000),
    "spec.analysis.iterations": SMALL,
    "spec.analysis.mirror": st.booleans(),
    "spec.analysis.metrics": st.lists(metrics(), max_size=5),
    "spec.analysis.webhooks": st.lists(webhooks(), max_size=4),
    "spec.analysis.match": st.lists(
        st.fixed_dictionaries({"headers": st.dictionaries(DNS, st.just({"exact": "x"}))}),
        max_size=2,
    ),
    "metadata.annotations": st.dictionaries(DNS, st.text(max_size=100), max_size=3),
}
SPEC_EDITS = sorted(path for path in EDITS if path.startswith("spec."))


def _set(manifest: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = manifest
    for key in parents:
        node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else {}
    node[last] = value


@st.composite
def random_canaries(draw: st.DrawFn) -> dict[str, Any]:
    manifest = canary("x", target=draw(st.sampled_from(TARGETS)))
    for path in draw(st.lists(st.sampled_from(sorted(EDITS)), max_size=6, unique=True)):
        _set(manifest, path, draw(EDITS[path]))
    if draw(st.integers(0, 9)) == 0:  # now and then, a spec field of the wrong type
        # (metadata of the wrong type is refused before it is sent, and by any API server)
        _set(manifest, draw(st.sampled_from(SPEC_EDITS)), draw(WRONG))
    return manifest


# --- the test -----------------------------------------------------------------------------------


async def _applied(fuzz: Fuzzed, manifest: dict[str, Any]) -> bool:
    try:
        await fuzz.cluster.kube.create(manifest)
    except KubeError:  # the API server refused it: it never reaches the operator
        return False
    return True


async def _good_objects(fuzz: Fuzzed) -> list[Any]:
    kube = fuzz.cluster.kube
    primary = await kube.get(*DEPLOYMENT, "good-primary", NS)
    services = [await kube.get("v1", "Service", n, NS) for n in ("good", "good-canary")]
    split = await kube.get(*SPLIT, "good", NS)
    assert primary is not None
    assert split is not None
    return [
        primary["spec"]["replicas"],
        primary["spec"]["selector"],
        [s["spec"]["selector"] if s else None for s in services],
        split["spec"],
    ]


def test_random_canaries_break_nothing_and_harm_no_other_canary(fuzzed: Fuzzed) -> None:
    before = fuzzed.run(_good_objects(fuzzed))
    counter = itertools.count()
    outcomes: list[bool] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(manifest=random_canaries(), name_length=st.integers(4, 253), delete=st.booleans())
    def apply(manifest: dict[str, Any], name_length: int, delete: bool) -> None:
        number = next(counter)
        prefix = f"fz{number}-"
        manifest["metadata"]["name"] = prefix + "n" * max(name_length - len(prefix), 1)
        outcomes.append(fuzzed.run(_applied(fuzzed, manifest)))
        time.sleep(0.4)  # let the operator tick it once or twice
        if delete and number % 3 == 0:
            fuzzed.run(fuzzed.cluster.kube.delete(*CANARY, manifest["metadata"]["name"], NS))

    apply()
    assert sum(outcomes) >= len(outcomes) // 2, f"only {sum(outcomes)} of {len(outcomes)} applied"
    cluster = fuzzed.cluster
    assert cluster.operator.running(), cluster.operator.tail()
    assert fuzzed.run(_good_objects(fuzzed)) == before
    fuzzed.run(cluster.release("good", "stefanprodan/podinfo:2.1.1"), timeout=90)
    log = cluster.log()
    assert "Traceback" not in log
    assert '"stacktrace"' not in log
    events = fuzzed.run(cluster.events())
    assert all(len(e.get("message", "")) <= 1024 for e in events)
    assert PASSWORD not in json.dumps(events) + log
    statuses = fuzzed.run(cluster.everything_said())
    assert PASSWORD not in statuses
