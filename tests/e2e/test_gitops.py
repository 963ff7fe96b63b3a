"""The seed's GitOps steps in the sandbox: a release is a Git commit (``serinus sandbox up
--gitops DIR``), as the README walks it.

One sandbox for the module, its repository in the test's directory; the user's steps are the
README's commands (``cp``, ``git add -A && git commit``, ``sed`` on the image tag), with the
seed's Canary at a 3 s interval and steps of 25 to keep the run short. Covers:
- ``up --gitops`` makes the directory a Git repository and the applier follows it:
  ``kubectl get kustomizations -A`` shows ``Applied revision: main@sha1:<commit>`` for each
  commit, and ``serinus sandbox status`` shows the repository, the branch and the revision;
- "prep canary" (podinfo 2.1.0) then "add canary" bring the Deployment and the Canary, and the
  operator initializes it, scaling the target to zero;
- the operator's scale to zero is not undone by the next sync (asked for with ``flux
  reconcile``'s annotation): the manifest leaves ``replicas`` out, so ``spec.replicas`` stays
  the operator's (``managedFields`` says ``serinus``);
- the applier killed (SIGKILL) is restarted by the supervisor and picks up where it was;
- "update podinfo" (the tag edited to 2.1.1 and committed) starts the canary run, which ends
  Succeeded with the primary on 2.1.1, and the target at zero again after the next sync;
- "automated rollback": 2.1.2 committed, then the seed's ``hey`` of HTTP 500s at
  ``podinfo-canary`` run by ``kubectl exec`` in the load tester's pod: the run is rolled back
  (Flagger's log lines), the primary keeps 2.1.1, and the next sync leaves the target at zero
  though Git says 2.1.2;
- the counter-case, documented in docs/gitops.md: a manifest that sets ``replicas: 1`` has the
  applier take ``spec.replicas`` back at its next sync and scale the idle target up, as Flux
  does (Flagger issue 1121).
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
from collections.abc import Iterator

import pytest

from serinus.sandbox import manifests
from serinus.sandbox.orchestration import state
from tests.e2e.support import Sandbox, operator_log, phase, sandbox, stop, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

BUNDLED = pathlib.Path(manifests.__file__).parent
IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


@pytest.fixture
def box(tmp_path: pathlib.Path) -> Iterator[Sandbox]:
    options = ("--gitops", str(tmp_path / "fleet"), "--gitops-interval", "1h")
    with sandbox(tmp_path / "sandbox", *options) as it:
        yield it


def fleet(box: Sandbox) -> pathlib.Path:
    return box.directory.parent / "fleet"


def shell(box: Sandbox, script: str) -> str:
    """A step of the README, run in the repository as a user would type it."""
    done = subprocess.run(
        ["bash", "-ec", script], cwd=fleet(box), capture_output=True, text=True,
        env={**box.env, **IDENTITY, "BUNDLED": str(BUNDLED)}, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def head(box: Sandbox) -> str:
    return shell(box, "git rev-parse HEAD").strip()


def applied(box: Sandbox, commit: str) -> None:
    expected = f"Applied revision: main@sha1:{commit}"

    def seen() -> bool:
        return expected in box.kubectl("get", "kustomizations", "-A")

    wait_for(f"commit {commit[:7]} applied", seen)


def replicas(box: Sandbox) -> int:
    found = box.kubectl("-n", "prod", "get", "deploy", "podinfo", "-o", "jsonpath={.spec.replicas}")
    return int(found)


def reconcile(box: Sandbox, value: str) -> None:
    """``flux reconcile kustomization flux-system``: the annotation it sets, and the wait."""
    box.kubectl(
        "-n", "flux-system", "annotate", "--overwrite", "kustomization/flux-system",
        f"reconcile.fluxcd.io/requestedAt={value}",
    )  # fmt: skip

    def handled() -> bool:
        found = box.kubectl(
            "-n", "flux-system", "get", "kustomization", "flux-system", "-o",
            "jsonpath={.status.lastHandledReconcileAt}",
        )  # fmt: skip
        return found == value

    wait_for("the reconcile request handled", handled, within=30)


def replicas_owner(box: Sandbox) -> list[str]:
    deployment = json.loads(
        box.kubectl("-n", "prod", "get", "deploy", "podinfo", "-o", "json", "--show-managed-fields")
    )
    return [
        entry["manager"]
        for entry in deployment["metadata"]["managedFields"]
        if "f:replicas" in json.dumps(entry.get("fieldsV1", {}).get("f:spec", {}))
    ]


def kill_the_applier(box: Sandbox) -> None:
    recorded = state.load(box.directory)
    assert recorded is not None
    os.kill(recorded.parts["gitops"].pid, signal.SIGKILL)

    def restarted() -> bool:
        now = state.load(box.directory)
        return now is not None and now.parts["gitops"].restarts == 1

    wait_for("the applier restarted", restarted, within=30)


def test_a_release_is_a_git_commit(box: Sandbox) -> None:
    assert (fleet(box) / ".git").is_dir()
    assert "Kustomization" in box.kubectl("api-resources")
    shell(box, 'cp "$BUNDLED/podinfo.yaml" . && git add -A && git commit -q -m "prep canary"')
    applied(box, head(box))
    shell(
        box,
        'cp "$BUNDLED/canary.yaml" . '
        "&& sed -i -e 's/interval: 10s/interval: 3s/' -e 's/stepWeight: 5/stepWeight: 25/' "
        "canary.yaml && git add -A && git commit -q -m 'add canary'",
    )
    applied(box, head(box))
    wait_for("Initialized", lambda: phase(box) == "Initialized")
    wait_for("the target scaled to zero", lambda: replicas(box) == 0)
    assert replicas_owner(box) == ["serinus"]

    reconcile(box, "before-release")
    assert replicas(box) == 0, "the sync scaled the operator's target back up"

    status = box.serinus("sandbox", "status")
    assert status.returncode == 0, status.stderr
    shown = status.stdout.replace("\n", "")
    assert f"gitops: {fleet(box)}, branch main" in shown
    assert f"last applied: main@sha1:{head(box)}" in shown

    kill_the_applier(box)
    shell(
        box,
        "sed -i 's/podinfo:2.1.0/podinfo:2.1.1/' podinfo.yaml "
        "&& git add -A && git commit -q -m 'update podinfo'",
    )
    applied(box, head(box))
    wait_for("the canary run", lambda: phase(box) in ("Progressing", "Promoting", "Finalising"))
    wait_for("Succeeded", lambda: phase(box) == "Succeeded", within=150)
    assert primary_image(box) == "stefanprodan/podinfo:2.1.1"
    wait_for("the target scaled to zero after the promotion", lambda: replicas(box) == 0)
    reconcile(box, "after-release")
    assert replicas(box) == 0
    assert "Promotion completed! Scaling down podinfo.prod" in operator_log(box)
    a_faulty_release_is_rolled_back(box)
    replicas_in_git_are_taken_back(box)


def primary_image(box: Sandbox) -> str:
    return box.kubectl(
        "-n", "prod", "get", "deploy", "podinfo-primary", "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    )  # fmt: skip


def a_faulty_release_is_rolled_back(box: Sandbox) -> None:
    """The seed's "automated rollback": a commit, then 500s sent from the load tester's pod."""
    shell(
        box,
        "sed -i 's/podinfo:2.1.1/podinfo:2.1.2/' podinfo.yaml "
        "&& git add -A && git commit -q -m 'update podinfo'",
    )
    applied(box, head(box))
    # kubectl -n prod exec -it $(kubectl -n prod get pods -o name | grep -m1 load-tester ...)
    names = box.kubectl("-n", "prod", "get", "pods", "-o", "name").split()
    tester = next(name for name in names if "load-tester" in name).removeprefix("pod/")
    faults = subprocess.Popen(
        ["kubectl", "-n", "prod", "exec", tester, "--",
         "hey", "-z", "1m", "-c", "5", "-q", "5", "http://podinfo-canary:9898/status/500"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=box.env,
    )  # fmt: skip
    try:
        wait_for("the canary run", lambda: phase(box) in ("Progressing", "Failed"))
        wait_for("the end of the run", lambda: phase(box) in ("Failed", "Succeeded"), within=120)
    finally:
        print(stop(faults))  # the exec'd hey ends with kubectl, as after Ctrl-C
    assert phase(box) == "Failed"
    messages = operator_log(box)
    assert "Rolling back podinfo.prod failed checks threshold reached 5" in messages
    assert "Canary failed! Scaling down podinfo.prod" in messages
    assert any(m.startswith("Halt podinfo.prod advancement success rate") for m in messages)
    assert primary_image(box) == "stefanprodan/podinfo:2.1.1"
    wait_for("the target scaled to zero after the rollback", lambda: replicas(box) == 0)
    reconcile(box, "after-rollback")
    assert replicas(box) == 0, "the sync scaled the rolled-back target up again"


def replicas_in_git_are_taken_back(box: Sandbox) -> None:
    """The counter-case: what Flagger's docs warn about, as it happens with Flux."""
    shell(
        box,
        "sed -i 's/^spec:$/spec:\\n  replicas: 1/' podinfo.yaml "
        "&& git add -A && git commit -q -m 'pin replicas'",
    )
    applied(box, head(box))
    assert replicas(box) == 1  # as Flux does: the repository owns spec.replicas now
    assert "kustomize-controller" in replicas_owner(box)
