"""``serinus get canaries``, ``status`` (plain, -o json, --wait), ``report`` and the refusals of
the control commands, through the real CLI against a local API server, the operator's writes
played by the test.

Covers: ``status`` off a terminal prints plain text (no escape codes, an ASCII weight bar), the
phase, weight, step n of N, time in step and to go, each metric against its bounds with its
verdict, the judge's verdict and bound, failed checks against the threshold, hooks with what was
last said about them, the last Events; ``-o json`` is the same view as data; ``get canaries -A``
lists every namespace's Canaries in kubectl's layout; ``--wait`` exits 0 on Succeeded, 1 on
Failed (also when the run fails while it waits), 3 on timeout, and does not take the previous
run's Succeeded for the new revision's (the target changed, the status has not yet); ``-w`` and
``--wait`` show every phase the Canary passed through, even three within milliseconds (a watch,
not a poll); 4 when the Canary does not exist; ``report`` writes a standalone HTML page with the
timeline; ``promote`` on a Succeeded Canary is refused at once and writes nothing; ``abort
--no-wait`` writes the request naming the caller as the API server knows it.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import sys
import time

import pytest
from tests.operator.support import CANARY, DEPLOYMENT, NS, Cluster, cluster, deployment

from serinus.apis.control import ANNOTATION
from serinus.apis.history import History, MetricPoint, Point, Run
from serinus.kube import Kube
from serinus.kube.history import HistoryStore
from serinus.kube.status import canary_from
from serinus.targets.revision import template_hash

pytestmark = pytest.mark.timeout(120)

HOOK = {
    "name": "load-test",
    "url": "http://user:pw@load-tester.prod/?token=s3cret",
    "type": "rollout",
}
METRICS = [
    {"name": "request-success-rate", "thresholdRange": {"min": 99}, "interval": "1m"},
    {"name": "request-duration", "thresholdRange": {"max": 500}, "interval": "1m"},
]


def podinfo_canary() -> dict:
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": NS},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898},
            "analysis": {"interval": "10s", "threshold": 5, "stepWeight": 10, "maxWeight": 50,
                         "metrics": METRICS, "webhooks": [HOOK]},
        },
    }  # fmt: skip


async def current_hash(kube: Kube) -> str:
    stored = await kube.get(*DEPLOYMENT, "podinfo", NS)
    assert stored is not None
    return template_hash(stored["spec"]["template"])


async def set_status(kube: Kube, **fields) -> None:
    await kube.patch_status(*CANARY, "podinfo", NS, {"status": fields}, patch_type="merge")


def now(offset: float = 0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


async def serinus(k8s: Cluster, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "serinus", *args, "--kubeconfig", str(k8s.kubeconfig),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def k8s(tmp_path: pathlib.Path):
    async with cluster(tmp_path, namespaces=(NS, "staging")) as found:
        await found.kube.create(deployment())
        await found.kube.create(podinfo_canary())
        yield found


async def progressing(k8s: Cluster) -> str:
    revision = await current_hash(k8s.kube)
    await set_status(
        k8s.kube, phase="Progressing", canaryWeight=20, failedChecks=1, iterations=0,
        lastAppliedSpec=revision, lastPromotedSpec="old", analysisStartTime=now(-40),
        lastTransitionTime=now(-3),
        metrics=[
            {"name": "request-success-rate", "value": 99.5, "min": 99, "verdict": "pass"},
            {"name": "request-duration", "value": 612, "max": 500, "verdict": "fail",
             "message": "Halt podinfo.prod advancement request duration 612ms > 500ms",
             "comparison": {"outcome": "not-yet", "reason": "too few requests", "ratio": 1.3,
                            "ratioUpper": 2.5, "eValue": 1.5, "alpha": 0.05}},
        ],
    )  # fmt: skip
    success = MetricPoint(name="request-success-rate", value=99.5, min=99, verdict="pass")
    points = [
        Point(at=now(-40), phase="Progressing", weight=10),
        Point(at=now(-30), phase="Progressing", weight=20, metrics=[success]),
        Point(at=now(-5), phase="Progressing", weight=20),
    ]
    run = Run(revision=revision, started=now(-40), interval_seconds=10, threshold=5, points=points)
    stored = await k8s.kube.get(*CANARY, "podinfo", NS)
    await HistoryStore(k8s.kube).write(
        canary_from(stored), History(canary="podinfo.prod", runs=[run])
    )
    await k8s.kube.create({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "podinfo.1", "namespace": NS},
        "involvedObject": {"kind": "Canary", "name": "podinfo", "namespace": NS},
        "type": "Warning", "reason": "Synced", "lastTimestamp": now(-6), "count": 2,
        "message": "Halt podinfo.prod advancement request duration 612ms > 500ms",
    })  # fmt: skip
    return revision


async def test_status_prints_the_run_as_plain_text_off_a_terminal(k8s: Cluster):
    await progressing(k8s)
    code, out, err = await serinus(k8s, "status", "podinfo", "-n", NS)
    assert code == 0, err
    assert "\x1b[" not in out  # no colour in a pipe
    lines = out.splitlines()
    assert lines[0].split() == ["Canary", "podinfo.prod", "(Deployment/podinfo)"]
    assert lines[1].split() == ["Phase", "Progressing"]
    assert "[####----------------] 20% canary, 80% primary (max 50%)" in out
    step = next(line for line in lines if line.startswith("Step"))
    assert step.startswith("Step        2 of 5 (weight), ")
    in_step = int(step.split(", ")[1].split("s in this step")[0])
    assert 25 <= in_step <= 45  # the weight moved to 20 about 30 s ago
    assert "to go at 10s a step" in step
    assert "Checks      1 of 5 failed" in out
    success = next(line for line in lines if "request-success-rate" in line)
    assert success.split() == ["request-success-rate", "99.5", ">=", "99", "pass"]
    duration = next(line for line in lines if line.strip().startswith("request-duration"))
    assert duration.split() == ["request-duration", "612", "<=", "500", "fail"]
    assert "judge: not-yet, canary/primary 1.3 (bound 2.5), evidence 1.5 of 20" in out
    hook = next(line for line in lines if "load-test" in line)
    assert "http://***@load-tester.prod/?token=***" in hook
    assert "pw" not in out
    assert "s3cret" not in out
    assert "Warning  Halt podinfo.prod advancement request duration 612ms > 500ms (x2)" in out


async def test_status_as_json_is_the_same_view_as_data(k8s: Cluster):
    revision = await progressing(k8s)
    code, out, err = await serinus(k8s, "status", "podinfo", "-n", NS, "-o", "json")
    assert code == 0, err
    view = json.loads(out)
    assert (view["phase"], view["weight"], view["step"], view["steps"]) == ("Progressing", 20, 2, 5)
    assert (view["failed_checks"], view["threshold"], view["revision"]) == (1, 5, revision)
    assert [m["verdict"] for m in view["metrics"]] == ["pass", "fail"]
    assert view["metrics"][1]["judge"]["upper"] == 2.5
    assert view["hooks"][0]["url"] == "http://***@load-tester.prod/?token=***"
    assert view["time_left"] is not None
    assert view["time_left"] > 0


async def test_get_canaries_lists_every_namespace(k8s: Cluster):
    await progressing(k8s)
    other = podinfo_canary()
    other["metadata"] = {"name": "api", "namespace": "staging"}
    await k8s.kube.create(other)
    code, out, err = await serinus(k8s, "get", "canaries", "-A")
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == [
        "NAMESPACE",
        "NAME",
        "PHASE",
        "WEIGHT",
        "STEP",
        "FAILED",
        "LAST",
        "TRANSITION",
    ]
    assert rows[1][:6] == ["prod", "podinfo", "Progressing", "20%", "2/5", "1/5"]
    assert rows[2][:4] == ["staging", "api", "Unknown", "0%"]
    code, out, _ = await serinus(k8s, "get", "canaries", "-n", "staging")
    assert [line.split()[0] for line in out.splitlines()] == ["NAME", "api"]


async def test_wait_exits_by_how_the_current_revision_ended(k8s: Cluster):
    revision = await current_hash(k8s.kube)
    await set_status(
        k8s.kube, phase="Succeeded", lastAppliedSpec=revision, lastPromotedSpec=revision
    )
    code, out, _ = await serinus(k8s, "status", "podinfo", "-n", NS, "--wait", "--timeout", "5s")
    assert code == 0
    assert "Succeeded" in out

    await set_status(k8s.kube, phase="Failed", lastAppliedSpec=revision, lastPromotedSpec="old")
    code, _, _ = await serinus(k8s, "status", "podinfo", "-n", NS, "--wait", "--timeout", "5s")
    assert code == 1

    await set_status(k8s.kube, phase="Progressing", canaryWeight=30)
    code, out, err = await serinus(k8s, "status", "podinfo", "-n", NS, "--wait", "--timeout", "2s")
    assert code == 3
    assert "timed out after 2s: podinfo.prod is Progressing at canary weight 30" in err
    assert "Progressing, canary weight 30%, step 3 of 5" in out


async def test_wait_does_not_take_the_previous_runs_outcome_for_the_new_revisions(k8s: Cluster):
    revision = await current_hash(k8s.kube)
    await set_status(
        k8s.kube, phase="Succeeded", lastAppliedSpec=revision, lastPromotedSpec=revision
    )
    changed = await k8s.kube.get(*DEPLOYMENT, "podinfo", NS)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "stefanprodan/podinfo:2.1.1"
    await k8s.kube.replace(changed)  # kubectl set image; the operator has not ticked yet
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "serinus", "status", "podinfo", "-n", NS, "--wait",
        "--timeout", "30s", "--kubeconfig", str(k8s.kubeconfig),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None

    async def line_with(word: str) -> str:
        while True:
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            assert line, f"the CLI ended before printing {word}: exit {await process.wait()}"
            if word in line:
                return line

    # a progress line is printed only after the outcome was judged not yet known
    await line_with("Succeeded")  # still Succeeded, but about the previous revision
    assert process.returncode is None
    new = await current_hash(k8s.kube)
    await set_status(k8s.kube, phase="Progressing", lastAppliedSpec=new)
    await line_with("Progressing")
    await set_status(k8s.kube, phase="Failed")
    await line_with("Failed")
    assert await asyncio.wait_for(process.wait(), 30) == 1


async def status_process(k8s: Cluster, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "serinus", "status", "podinfo", "-n", NS, *args,
        "--kubeconfig", str(k8s.kubeconfig),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def last_phases(k8s: Cluster, revision: str) -> None:
    """Promoting, Finalising and Succeeded within a few milliseconds, as one operator tick can."""
    for phase in ("Promoting", "Finalising", "Succeeded"):
        await set_status(k8s.kube, phase=phase, lastPromotedSpec=revision)


async def test_watch_shows_every_phase_even_one_shorter_than_a_second(k8s: Cluster):
    revision = await progressing(k8s)
    process = await status_process(k8s, "-w", "-o", "json")
    assert process.stdout is not None
    try:
        first = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
        assert first["phase"] == "Progressing"
        await last_phases(k8s, revision)
        phases = []
        while not phases or phases[-1] != "Succeeded":
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, f"status -w ended: exit {await process.wait()}"
            phases.append(json.loads(line)["phase"])
    finally:
        process.kill()
        await process.wait()
    assert phases == ["Promoting", "Finalising", "Succeeded"]


async def test_wait_prints_every_phase_the_run_passed_through(k8s: Cluster):
    revision = await progressing(k8s)
    process = await status_process(k8s, "--wait", "--timeout", "30s")
    assert process.stdout is not None
    first = await asyncio.wait_for(process.stdout.readline(), 30)
    assert b"Progressing" in first
    await last_phases(k8s, revision)
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    printed = out.decode()
    assert "podinfo.prod Promoting" in printed
    assert "podinfo.prod Finalising" in printed
    assert printed.index("Promoting") < printed.index("Finalising")


async def test_wait_on_a_missing_canary_exits_4(k8s: Cluster):
    code, _, err = await serinus(k8s, "status", "nope", "-n", NS, "--wait", "--timeout", "5s")
    assert code == 4
    assert 'canaries.flagger.app "nope" not found in prod' in err
    code, _, err = await serinus(k8s, "status", "nope", "-n", NS)
    assert code == 1
    assert "not found" in err


async def test_report_writes_a_standalone_page_with_the_timeline(k8s: Cluster, tmp_path):
    await progressing(k8s)
    target = tmp_path / "run.html"
    code, out, err = await serinus(k8s, "report", "podinfo", "-n", NS, "-o", str(target))
    assert code == 0, err
    assert out.strip() == f"{target}: run 1 of 1 of podinfo.prod"
    page = target.read_text()
    assert "<svg" in page
    assert "canary weight (%)" in page
    assert "<script" not in page
    assert "http://" not in page.split("<svg", 1)[0].replace("http://www.w3.org", "")
    code, _, err = await serinus(k8s, "report", "podinfo", "-n", NS, "--run", "5")
    assert code == 2
    assert "expected a run between 1 and 1" in err


async def test_promote_on_a_succeeded_canary_is_refused_and_writes_nothing(k8s: Cluster):
    revision = await current_hash(k8s.kube)
    await set_status(
        k8s.kube, phase="Succeeded", lastAppliedSpec=revision, lastPromotedSpec=revision
    )
    code, _, err = await serinus(k8s, "promote", "podinfo", "-n", NS)
    assert code == 1
    assert err.strip() == (
        "Error: promote podinfo.prod: refused, the run Succeeded already: nothing to promote"
    )
    stored = await k8s.kube.get(*CANARY, "podinfo", NS)
    assert ANNOTATION not in (stored["metadata"].get("annotations") or {})


async def test_abort_writes_the_request_naming_the_caller(k8s: Cluster):
    await progressing(k8s)
    code, out, err = await serinus(k8s, "abort", "podinfo", "-n", NS, "--no-wait")
    assert code == 0, err
    assert out.strip() == "abort podinfo.prod: requested (by kubernetes-admin)"
    stored = await k8s.kube.get(*CANARY, "podinfo", NS)
    request = json.loads(stored["metadata"]["annotations"][ANNOTATION])
    assert (request["action"], request["by"]) == ("abort", "kubernetes-admin")
    # nobody answers (no operator here): exit 3 after the timeout, the request stays written
    code, _, err = await serinus(k8s, "pause", "podinfo", "-n", NS, "--timeout", "1s")
    assert code == 3
    assert "did not answer within 1s" in err
