"""Operating a run by hand in a real sandbox: the CLI, ``kubectl serinus``, the dashboard in a real
headless Chromium, and the alerts in the sandbox's Prometheus.

One sandbox for the module; each test releases a new image of podinfo (2 s interval, 5% steps up
to 50%, the seed's load test) and acts on that run. Covers:

- ``serinus pause`` holds the weight (status and TrafficSplit) for three intervals, ``resume``
  continues it; ``serinus abort`` ends it Failed with all traffic on the primary on the first tick
  after the request, and the operator's log shows no step in between; a ``status --wait`` started
  with the run exits 1; ``--wait --timeout`` exits 3 while a run is under way;
- through ``kubectl serinus``: ``--wait --timeout`` exits 3 while a run is under way, ``abort``
  ends it and a ``status --wait`` started with it exits 1, then ``retry`` runs the same revision
  again from zero, ``pause`` holds it for three intervals and ``resume`` continues it, ``promote``
  ends it Succeeded with the new image on the primary, a ``status --wait`` started with the retry
  exits 0, ``promote`` again is
  refused (exit 1, "nothing to promote"), and ``get canaries -A`` and ``status -o json`` read the
  same Canary;
- the dashboard, in Chromium: a ServiceAccount allowed in ``prod`` signs in with its token, sees
  the run live (two screenshots, the weight shown on the page larger in the second, the bar
  wider), presses abort, and the run is rolled back (Failed, 100% to the primary); a request
  without a token is 401 and one with a token bound only in ``staging`` is 403, and that user's
  page shows nothing of ``prod``;
- the PrometheusRule, loaded into the sandbox's Prometheus scraping the operator: the Failed run
  fires SerinusCanaryFailed for podinfo.prod;
- ``serinus skip-analysis`` during a run promotes that revision without further analysis
  (Flagger's "Canary analysis was skipped" line).
"""

from __future__ import annotations

import json
import pathlib
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import yaml

from tests.e2e.operating import (
    INTERVAL,
    background,
    deploy,
    eventually,
    grant,
    kubectl_serinus,
    operator_address,
    release,
    serinus_cli,
    split,
    status,
)
from tests.e2e.support import Sandbox, operator_log, sandbox

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
REPO = pathlib.Path(__file__).parents[2]
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("operating")
    with sandbox(directory / "sandbox") as running:
        deploy(running, directory)
        yield running


def weight(box: Sandbox) -> int:
    return int(status(box).get("canaryWeight") or 0)


def hold(box: Sandbox, held: int) -> None:
    """The weight stays at ``held``, in the status and the TrafficSplit, for three intervals."""
    deadline = time.monotonic() + 3 * INTERVAL + 1
    while time.monotonic() < deadline:
        assert weight(box) == held
        assert split(box) == (100 - held, held)
        time.sleep(0.25)


def test_pause_resume_abort_and_wait_through_the_cli(box: Sandbox) -> None:
    release(box, "3.0.1")
    waiting = background(
        box, sys.executable, "-m", "serinus", "status", "podinfo", "-n", "prod", "--wait"
    )
    eventually("weight 10", lambda: weight(box), lambda w: w >= 10)

    timed_out = serinus_cli(box, "status", "podinfo", "-n", "prod", "--wait", "--timeout", "3s")
    assert timed_out.returncode == 3, timed_out.stderr
    assert "timed out after 3s: podinfo.prod is Progressing" in timed_out.stderr

    paused = serinus_cli(box, "pause", "podinfo", "-n", "prod")
    assert paused.returncode == 0, paused.stderr
    held = weight(box)
    assert f"Pause of podinfo.prod at canary weight {held} requested by kubernetes-admin" in (
        paused.stdout
    )
    hold(box, held)
    shown = serinus_cli(box, "status", "podinfo", "-n", "prod")
    assert "paused by kubernetes-admin" in shown.stdout

    resumed = serinus_cli(box, "resume", "podinfo", "-n", "prod")
    assert resumed.returncode == 0, resumed.stderr
    eventually("the weight moves again", lambda: weight(box), lambda w: w > held)

    started = time.monotonic()
    aborted = serinus_cli(box, "abort", "podinfo", "-n", "prod")
    took = time.monotonic() - started
    assert aborted.returncode == 0, aborted.stderr
    assert "now Failed, canary weight 0" in aborted.stdout
    assert status(box)["phase"] == "Failed"
    assert split(box) == (100, 0)
    log = operator_log(box)
    asked = max(i for i, m in enumerate(log) if m.startswith("Rollback of podinfo.prod requested"))
    failed = log.index("Canary failed! Scaling down podinfo.prod", asked)
    between = log[asked + 1 : failed]
    assert between[0] == "Rolling back podinfo.prod manual abort requested by kubernetes-admin"
    assert not [m for m in between if m.startswith(("Advance", "Halt"))], between
    print(f"abort: Failed with 100% to the primary {took:.1f}s after the command started")

    out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 1, out + err


def test_retry_and_promote_through_kubectl_serinus(box: Sandbox) -> None:
    release(box, "3.0.2")
    failing = background(box, "kubectl", "serinus", "status", "podinfo", "-n", "prod", "--wait")
    eventually("weight 5", lambda: weight(box), lambda w: w >= 5)
    timed_out = kubectl_serinus(box, "status", "podinfo", "-n", "prod", "--wait", "--timeout", "2s")
    assert timed_out.returncode == 3, timed_out.stderr
    assert kubectl_serinus(box, "abort", "podinfo", "-n", "prod").returncode == 0
    failed = status(box)
    assert failed["phase"] == "Failed"
    out, err = failing.communicate(timeout=30)
    assert failing.returncode == 1, out + err

    retried = kubectl_serinus(box, "retry", "podinfo", "-n", "prod")
    assert retried.returncode == 0, retried.stderr
    assert "Retry of podinfo.prod revision" in retried.stdout
    again = eventually(
        "the retried run", lambda: status(box), lambda s: s.get("phase") == "Progressing"
    )
    assert again["lastAppliedSpec"] == failed["lastAppliedSpec"]  # the same revision
    assert again["analysisStartTime"] != failed["analysisStartTime"]
    waiting = background(box, "kubectl", "serinus", "status", "podinfo", "-n", "prod", "--wait")
    eventually("weight 5 again", lambda: weight(box), lambda w: w >= 5)
    assert kubectl_serinus(box, "pause", "podinfo", "-n", "prod").returncode == 0
    held = weight(box)
    hold(box, held)
    assert kubectl_serinus(box, "resume", "podinfo", "-n", "prod").returncode == 0
    eventually("weight moves on", lambda: weight(box), lambda w: w > held)

    promoted = kubectl_serinus(box, "promote", "podinfo", "-n", "prod")
    assert promoted.returncode == 0, promoted.stderr
    eventually("Succeeded", lambda: status(box).get("phase"), lambda p: p == "Succeeded")
    primary = box.kubectl("-n", "prod", "get", "deploy", "podinfo-primary",
                          "-o", "jsonpath={.spec.template.spec.containers[0].image}")  # fmt: skip
    assert primary == "stefanprodan/podinfo:3.0.2"
    assert split(box) == (100, 0)
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, out + err

    refused = kubectl_serinus(box, "promote", "podinfo", "-n", "prod")
    assert refused.returncode == 1
    assert "nothing to promote" in refused.stderr
    listed = kubectl_serinus(box, "get", "canaries", "-A")
    assert listed.stdout.splitlines()[1].split()[:3] == ["prod", "podinfo", "Succeeded"]
    shown = json.loads(kubectl_serinus(box, "status", "podinfo", "-n", "prod", "-o", "json").stdout)
    last = shown["last_request"]  # the refusal above was the CLI's own: nothing was written
    assert (last["action"], last["by"], last["accepted"]) == ("promote", "kubernetes-admin", True)


def _get(url: str, token: str | None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_dashboard_in_chromium(box: Sandbox, tmp_path: pathlib.Path) -> None:
    from playwright.sync_api import sync_playwright

    deployer = grant(box, "prod", "deployer", "get,list,patch")
    stager = grant(box, "staging", "stager", "get,list,patch")
    url = f"http://{operator_address(box)}:9090"
    api = f"{url}/api/canaries/prod/podinfo"
    assert _get(api, None)[0] == 401
    code, body = _get(api, stager)
    assert code == 403
    assert "podinfo" not in body

    release(box, "3.0.3")
    eventually("weight 5", lambda: weight(box), lambda w: w >= 5)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1400})
            page.goto(url)
            page.fill("#token", deployer)
            page.click("#token-form button")
            page.wait_for_selector("#canaries td a")
            assert "system:serviceaccount:prod:deployer" in page.inner_text("#who")
            page.click("#canaries td a")
            # the page's CSP forbids eval, so its state is read from here, not awaited inside it
            eventually("a weight shown", lambda: page.inner_text("#weight"), lambda t: "%" in t)
            page.wait_for_selector("#timeline svg polyline.weight")
            first = _shown_weight(page)
            first_bar = _width(page, "#bar-fill")
            page.screenshot(path=str(tmp_path / "dashboard-1.png"), full_page=True)
            eventually("the weight moves on the page", lambda: _shown_weight(page),
                       lambda w: w > first, within=60)  # fmt: skip
            second = _shown_weight(page)
            second_bar = eventually("the bar grows", lambda: _width(page, "#bar-fill"),
                                    lambda w: w > first_bar, within=5)  # fmt: skip
            page.screenshot(path=str(tmp_path / "dashboard-2.png"), full_page=True)
            assert second > first
            assert second_bar > first_bar
            assert (tmp_path / "dashboard-2.png").stat().st_size > 10_000
            print(f"dashboard: canary weight {first}% then {second}% (screenshots in {tmp_path})")

            page.on("dialog", lambda dialog: dialog.accept())
            page.click("#controls button[data-action=abort]")
            eventually("Failed on the page", lambda: page.inner_text("#phase"),
                       lambda phase: phase == "Failed", within=30)  # fmt: skip
            told = (
                "abort requested by system:serviceaccount:prod:deployer: accepted by the operator."
            )
            eventually("the outcome on the page", lambda: page.inner_text("#control-result"),
                       lambda text: text == told, within=10)  # fmt: skip
            assert status(box)["phase"] == "Failed"
            assert split(box) == (100, 0)
            page.screenshot(path=str(tmp_path / "dashboard-3-aborted.png"), full_page=True)

            other = browser.new_page()
            other.goto(url)
            other.fill("#token", stager)
            other.click("#token-form button")
            other.wait_for_selector("#list:not([hidden])")
            other.wait_for_timeout(500)
            assert "podinfo" not in other.content()
            other.goto(f"{url}/#/prod/podinfo")
            eventually("a refusal on the page", lambda: other.inner_text("#error"), bool)
            assert other.inner_text("#error") == "You may not see this Canary."
            assert "podinfo" not in other.inner_text("main")
        finally:
            browser.close()


def _width(page: object, selector: str) -> float:
    box = page.locator(selector).bounding_box()  # type: ignore[attr-defined]
    return float(box["width"]) if box else 0.0


def _shown_weight(page: object) -> int:
    text = page.inner_text("#weight")  # type: ignore[attr-defined]
    return int(text.rsplit(" ", 1)[-1].rstrip("%"))


def test_a_failed_run_fires_the_alert_in_the_sandbox_prometheus(box: Sandbox) -> None:
    if status(box).get("phase") != "Failed":
        release(box, "3.0.4")
        eventually("weight 5", lambda: weight(box), lambda w: w >= 5)
        assert serinus_cli(box, "abort", "podinfo", "-n", "prod").returncode == 0
    state = json.loads((box.directory / "state.json").read_text())
    prometheus = state["details"]["prometheus"]
    home = box.directory / "prometheus"
    rules = yaml.safe_load((REPO / "deploy" / "monitoring" / "prometheus-rules.yaml").read_text())
    (home / "serinus-rules.yaml").write_text(yaml.safe_dump({"groups": rules["spec"]["groups"]}))
    config = yaml.safe_load((home / "prometheus.yml").read_text())
    config["rule_files"] = [str(home / "serinus-rules.yaml")]
    config["scrape_configs"].append({
        "job_name": "serinus", "static_configs": [{"targets": [f"{operator_address(box)}:8080"]}],
    })  # fmt: skip
    (home / "prometheus.yml").write_text(yaml.safe_dump(config))
    reloaded = urllib.request.urlopen(
        urllib.request.Request(f"{prometheus}/-/reload", method="POST"), timeout=10
    )
    assert reloaded.status == 200

    def firing() -> list[dict]:
        _, body = _get(f"{prometheus}/api/v1/alerts", None)
        alerts = json.loads(body)["data"]["alerts"]
        return [a for a in alerts if a["state"] == "firing"]

    found = eventually("SerinusCanaryFailed firing", firing, lambda alerts: any(
        a["labels"]["alertname"] == "SerinusCanaryFailed" for a in alerts), within=60)  # fmt: skip
    alert = next(a for a in found if a["labels"]["alertname"] == "SerinusCanaryFailed")
    assert (alert["labels"]["name"], alert["labels"]["namespace"]) == ("podinfo", "prod")
    assert alert["annotations"]["summary"] == "Canary podinfo.prod failed and was rolled back"
    assert not any(a["labels"]["alertname"] == "SerinusNotTicking" for a in found)


def test_skip_analysis_promotes_the_running_revision_through_the_cli(box: Sandbox) -> None:
    release(box, "3.0.5")
    eventually("weight 5", lambda: weight(box), lambda w: w >= 5)
    skipped = serinus_cli(box, "skip-analysis", "podinfo", "-n", "prod")
    assert skipped.returncode == 0, skipped.stderr
    eventually("Succeeded", lambda: status(box).get("phase"), lambda p: p == "Succeeded")
    primary = box.kubectl("-n", "prod", "get", "deploy", "podinfo-primary",
                          "-o", "jsonpath={.spec.template.spec.containers[0].image}")  # fmt: skip
    assert primary == "stefanprodan/podinfo:3.0.5"
    assert split(box) == (100, 0)
    log = operator_log(box)
    asked = max(i for i, m in enumerate(log) if m.startswith("Skipping the analysis of podinfo"))
    assert "Promotion completed! Canary analysis was skipped for podinfo.prod" in log[asked:]
