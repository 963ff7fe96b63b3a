"""The README's install path, proven in one bare sandbox: Helm, then the kustomize trees.

``serinus sandbox up --install-with none`` starts a bare cluster (the namespaces a Linkerd cluster
has, and linkerd-viz's Prometheus). Then, as a platform engineer would:

1. the README's two ``helm upgrade --install`` commands, verbatim (read from the README), install
   the operator in ``linkerd`` and the load tester in ``prod``; the operator runs in-cluster as
   its chart's ServiceAccount, so the chart's RBAC is what lets it work (a missing permission
   shows in its log as the API server's "is forbidden" and fails the test), and the load tester runs
   locked down as the chart installs it, so the seed's ``hey`` must pass its rules;
2. podinfo and the seed's Canary are applied; 2.1.1 is promoted by the chart-installed operator
   with the chart-installed load tester's ``hey``; 2.1.2, with the seed's HTTP 500s sent from a
   ``kubectl exec`` into the load tester, is rolled back; ``helm list -A`` shows both releases
   deployed;
3. ``helm uninstall`` of both releases leaves none of the objects the charts created (nor their
   pods or Helm's release Secrets); the CRDs and the Canary stay, as Helm keeps a chart's
   ``crds/``;
4. docs/install.md's ``kubectl apply -k`` commands install the same again from the kustomize
   trees, whose operator takes the Canary over and promotes and rolls back the next two releases;
   ``kubectl delete -k`` removes every object the trees hold, the CRDs included, and with the
   Canary everything the operator made for it.

The chart's operator clamps analysis intervals to Flagger's 10 s, so each release takes several
ticks of 10 s. The test's Canary differs from the seed's only where that keeps the run short: one
50% step (the seed: 5% steps, about 4 minutes per release), metric windows of 30 s (the seed: 1 m)
and a threshold of 2 (the seed: 5). The first release's first check fails with "no values found",
as with Flagger: the seed's load test is a rollout webhook, so its ``hey`` starts in that same
tick and the canary has no series yet; the next check passes. Before the kustomize operator judges
2.1.3, the test waits for 2.1.2's 500s to leave the 30 s window in Prometheus (as a user waits
before the next release), so 2.1.3 is judged on its own traffic.
"""

from __future__ import annotations

import json
import pathlib
import shlex
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from serinus.sandbox import manifests
from serinus.sandbox.orchestration import install
from tests.e2e.support import Sandbox, serinus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = pathlib.Path(__file__).resolve().parents[2]
BUNDLED = pathlib.Path(manifests.__file__).parent
Object = tuple[str, str, str]
"""(kind, namespace or "" for cluster-scoped kinds, name)."""
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace"}
BY_CANARY = [
    ("Deployment", "prod", "podinfo-primary"),
    ("Service", "prod", "podinfo"),
    ("Service", "prod", "podinfo-primary"),
    ("Service", "prod", "podinfo-canary"),
    ("TrafficSplit", "prod", "podinfo"),
    ("ConfigMap", "prod", "podinfo-serinus-history"),
]
"""What the operator makes for the seed's Canary (owned by it, so gone with it)."""


def wait_for(
    what: str, check: Callable[[], bool], within: float = 120, why: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {within}s\n{why()}"
        time.sleep(0.5)


def shell(box: Sandbox, line: str) -> str:
    """A documented command line, run as a user types it, from the checkout."""
    done = subprocess.run(
        ["bash", "-c", line], cwd=REPO, env=box.env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{line}: {done.stdout}{done.stderr}"
    return done.stdout


def status(box: Sandbox) -> dict[str, Any]:
    found = box.kubectl("-n", "prod", "get", "canary", "podinfo", "-o", "json", check=False)
    return dict(json.loads(found).get("status") or {}) if found else {}


def story(box: Sandbox, extra: str = "") -> str:
    """What the operator said and the Canary shows, for a failure message."""
    said = box.kubectl("-n", "linkerd", "logs", "deployment/serinus", "--tail=30", check=False)
    return f"--- operator ---\n{said}\n--- status ---\n{json.dumps(status(box))}\n{extra}"


def available(box: Sandbox, namespace: str, name: str) -> bool:
    path = "jsonpath={.status.availableReplicas}"
    found = box.kubectl("-n", namespace, "get", "deploy", name, "-o", path, check=False)
    return found.strip() not in ("", "0")


def errors_in_window(box: Sandbox) -> float:
    """The canary's HTTP errors that Prometheus still counts in the Canary's 30 s window."""
    where = "jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}"
    address = box.kubectl("-n", "linkerd-viz", "get", "endpoints", "prometheus", "-o", where)
    query = (
        'sum(increase(response_total{namespace="prod",deployment="podinfo",'
        'direction="inbound",classification="failure"}[30s]))'
    )
    url = f"http://{address}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return sum(float(sample["value"][1]) for sample in answer["data"]["result"])


def the_canary(box: Sandbox) -> None:
    """podinfo 2.1.0 and the seed's Canary, shortened as the module docstring says."""
    box.kubectl("apply", "-f", str(BUNDLED / "podinfo.yaml"))
    canary = yaml.safe_load((BUNDLED / "canary.yaml").read_text())
    analysis = canary["spec"]["canaryAnalysis"]
    analysis.update(stepWeight=50, maxWeight=50, threshold=2)
    for metric in analysis["metrics"]:
        metric["interval"] = "30s"
    applied = subprocess.run(
        ["kubectl", "apply", "-f", "-"], input=yaml.safe_dump(canary), env=box.env,
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr


def primary_image(box: Sandbox) -> str:
    path = "jsonpath={.spec.template.spec.containers[0].image}"
    return box.kubectl("-n", "prod", "get", "deploy", "podinfo-primary", "-o", path)


def release(box: Sandbox, version: str, *, broken: bool, log: pathlib.Path) -> None:
    """Set podinfo's image and wait for the verdict; with ``broken``, exec into the load tester
    once the analysis starts and send the seed's 500s to the canary, as the README does."""
    before = status(box).get("lastAppliedSpec")
    box.kubectl("-n", "prod", "set", "image", "deployment/podinfo",
                f"podinfo=stefanprodan/podinfo:{version}")  # fmt: skip

    def reached(*phases: str) -> Callable[[], bool]:
        def check() -> bool:
            now = status(box)
            return now.get("lastAppliedSpec") != before and now.get("phase") in phases

        return check

    if not broken:
        wait_for(f"{version} decided", reached("Succeeded", "Failed"), 150, lambda: story(box))
        assert status(box)["phase"] == "Succeeded", story(box)
        assert primary_image(box) == f"stefanprodan/podinfo:{version}"
        return
    wait_for(f"{version} progressing", reached("Progressing"), 60, lambda: story(box))
    names = box.kubectl("-n", "prod", "get", "pods", "-o", "name").split()
    tester = next(n for n in names if "load-tester" in n).removeprefix("pod/")
    with log.open("w") as out:
        errors = subprocess.Popen(
            ["kubectl", "-n", "prod", "exec", tester, "--", "hey", "-z", "1m", "-c", "5", "-q",
             "5", "http://podinfo-canary:9898/status/500"],
            stdout=out, stderr=subprocess.STDOUT, env=box.env,
        )  # fmt: skip
    try:
        wait_for(f"{version} decided", reached("Succeeded", "Failed"), 150,
                 lambda: story(box, f"--- kubectl exec hey ---\n{log.read_text()}"))  # fmt: skip
    finally:
        errors.terminate()
        errors.wait(timeout=30)
    assert status(box)["phase"] == "Failed", story(box, log.read_text())
    assert primary_image(box) != f"stefanprodan/podinfo:{version}"
    replicas = box.kubectl("-n", "prod", "get", "deploy", "podinfo", "-o",
                           "jsonpath={.spec.replicas}")  # fmt: skip
    assert replicas == "0"


def objects(rendered: str, namespace: str) -> list[Object]:
    """(kind, namespace, name) of every object in rendered manifests."""
    found = []
    for document in yaml.safe_load_all(rendered):
        if isinstance(document, dict):
            meta = document["metadata"]
            scoped = "" if document["kind"] in CLUSTER_SCOPED else meta.get("namespace", namespace)
            found.append((document["kind"], scoped, meta["name"]))
    return found


def exists(box: Sandbox, kind: str, namespace: str, name: str) -> bool:
    args = ["get", kind, name, "-o", "name", "--ignore-not-found"]
    return bool(box.kubectl(*(["-n", namespace] if namespace else []), *args).strip())


def pods(box: Sandbox, namespace: str, selector: str) -> list[str]:
    return box.kubectl("-n", namespace, "get", "pods", "-l", selector, "-o", "name").split()


def test_the_readme_install_path_runs_the_seed(tmp_path: pathlib.Path) -> None:
    directory = tmp_path / "sandbox"
    started = serinus("sandbox", "up", "--dir", str(directory), "--detach", "--install-with",
                      "none", timeout=180)  # fmt: skip
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        box = Sandbox(directory)
        with_helm(box, tmp_path)
        with_kustomize(box, tmp_path)
    finally:
        stopped = serinus("sandbox", "down", "--dir", str(directory))
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def with_helm(box: Sandbox, tmp_path: pathlib.Path) -> None:
    readme = " ".join((REPO / "README.md").read_text().replace("\\\n", " ").split())
    for line in [shlex.join(c) for c in install.commands("helm", REPO)]:
        assert line in readme
        shell(box, line)
    the_canary(box)
    wait_for("Initialized", lambda: status(box).get("phase") == "Initialized", 90,
             lambda: story(box))  # fmt: skip
    wait_for("chart operator", lambda: available(box, "linkerd", "serinus"), 30)
    wait_for("chart load tester", lambda: available(box, "prod", "load-tester"), 30)
    account = box.kubectl("-n", "linkerd", "get", "deploy", "serinus", "-o",
                          "jsonpath={.spec.template.spec.serviceAccountName}")  # fmt: skip
    assert account == "serinus"
    release(box, "2.1.1", broken=False, log=tmp_path / "hey-2.1.1.log")
    release(box, "2.1.2", broken=True, log=tmp_path / "hey-2.1.2.log")
    said = box.kubectl("-n", "linkerd", "logs", "deployment/serinus")
    assert "Promotion completed! Scaling down podinfo.prod" in said
    assert "Rolling back podinfo.prod failed checks threshold reached 2" in said
    assert "Canary failed! Scaling down podinfo.prod" in said
    assert "forbidden" not in said, "the chart's RBAC misses a permission the operator uses"
    listed = json.loads(shell(box, "helm list -A -o json"))
    assert {(r["name"], r["namespace"], r["status"]) for r in listed} == {
        ("serinus", "linkerd", "deployed"),
        ("load-tester", "prod", "deployed"),
    }

    created = [
        *objects(shell(box, "helm get manifest serinus -n linkerd"), "linkerd"),
        *objects(shell(box, "helm get manifest load-tester -n prod"), "prod"),
    ]
    kinds = {kind for kind, _, _ in created}
    assert {"ClusterRole", "ClusterRoleBinding", "ServiceAccount", "Service", "Deployment",
            "NetworkPolicy"} <= kinds  # fmt: skip
    shell(box, "helm uninstall serinus -n linkerd")
    shell(box, "helm uninstall load-tester -n prod")
    left = [obj for obj in created if exists(box, *obj)]
    assert left == [], f"orphans after helm uninstall: {left}"
    assert pods(box, "linkerd", "app.kubernetes.io/instance=serinus") == []
    assert pods(box, "prod", "app.kubernetes.io/instance=load-tester") == []
    assert box.kubectl("get", "secrets", "-A", "-l", "owner=helm", "-o", "name") == ""
    assert json.loads(shell(box, "helm list -A -o json")) == []
    assert status(box)["phase"] == "Failed", "the Canary stays: Helm keeps the chart's CRDs"


def with_kustomize(box: Sandbox, tmp_path: pathlib.Path) -> None:
    lines = [shlex.join(c) for c in install.commands("kustomize", REPO)]
    for line in lines:
        shell(box, line)
    wait_for("2.1.2's errors out of the window", lambda: errors_in_window(box) == 0, 60)
    release(box, "2.1.3", broken=False, log=tmp_path / "hey-2.1.3.log")
    release(box, "2.1.4", broken=True, log=tmp_path / "hey-2.1.4.log")
    said = box.kubectl("-n", "linkerd", "logs", "deployment/serinus")
    assert said.count("Promotion completed! Scaling down podinfo.prod") == 1
    assert said.count("Canary failed! Scaling down podinfo.prod") == 1
    assert "forbidden" not in said, "the tree's RBAC misses a permission the operator uses"

    created = []
    for line in lines:
        rendered = shell(box, line.replace("kubectl apply -k", "kubectl kustomize"))
        created += objects(rendered, "prod" if "-n prod" in line else "default")
    assert ("CustomResourceDefinition", "", "canaries.flagger.app") in created
    assert [obj for obj in BY_CANARY if not exists(box, *obj)] == []
    for line in lines:
        shell(box, line.replace("kubectl apply -k", "kubectl delete -k"))
    left = [obj for obj in created + BY_CANARY if exists(box, *obj)]
    assert left == [], f"left after kubectl delete -k: {left}"
    assert pods(box, "linkerd", "app.kubernetes.io/name=serinus") == []
    assert pods(box, "prod", "app.kubernetes.io/name=loadtester") == []
