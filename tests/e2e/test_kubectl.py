"""kubectl against a running sandbox, as the README walks a user through the seed.

Covers: ``kubectl apply`` of podinfo and of the seed's v1alpha3 Canary; ``kubectl -n prod get
pods`` listing pods with their readiness; ``kubectl patch`` of the Canary; ``kubectl -n prod get
canary -w`` printing rows as the operator initialises it; ``kubectl -n prod get canary`` with
the STATUS and WEIGHT columns; ``kubectl describe canary`` with the operator's Events;
``kubectl -n prod get deploy,svc`` with the load tester and the objects the operator created;
``kubectl logs deployment/serinus -n serinus-system`` giving the operator's JSON lines; the seed's
``kubectl -n prod get pods -o name | grep -m1 load-tester`` finding the load tester's pod, and
``kubectl exec`` into it: a command that reaches ``podinfo:9898`` by its Service name, standard
input with ``-i``, the exit code passed on, and ``-it bash`` on a terminal of its own (the
pod's name as host name, Ctrl-C stopping what runs in it).
"""

from __future__ import annotations

import pathlib
import subprocess
import time

import pytest

from serinus.sandbox import manifests
from tests.e2e.support import Sandbox, operator_log, phase, sandbox, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

BUNDLED = pathlib.Path(manifests.__file__).parent


def wait_for(what: str, check, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {within}s"
        time.sleep(0.3)


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines() if line.strip()]


def test_kubectl_walks_the_seed_in_the_sandbox(tmp_path: pathlib.Path) -> None:
    with sandbox(tmp_path / "sandbox") as box:
        applied = box.kubectl("apply", "-f", str(BUNDLED / "podinfo.yaml"))
        assert applied.strip() == "deployment.apps/podinfo created"
        wait_for("podinfo ready", lambda: ready_pods(box, "podinfo-") == ["1/1"])
        header = rows(box.kubectl("-n", "prod", "get", "pods"))[0]
        assert header[:3] == ["NAME", "READY", "STATUS"]

        watching = box.watch("-n", "prod", "get", "canary")
        try:
            box.kubectl("apply", "-f", str(BUNDLED / "canary.yaml"))
            patch = '{"spec":{"canaryAnalysis":{"interval":"2s"}}}'
            patched = box.kubectl("-n", "prod", "patch", "canary", "podinfo", "--type", "merge",
                                  "-p", patch)  # fmt: skip
            assert patched.strip() == "canary.flagger.app/podinfo patched"
            wait_for("Initialized", lambda: phase(box) == "Initialized")
        finally:
            watched = rows(stop(watching))
        assert watched[0][:3] == ["NAME", "STATUS", "WEIGHT"]
        assert ["podinfo", "Initialized", "0"] in [row[:3] for row in watched]

        table = rows(box.kubectl("-n", "prod", "get", "canary"))
        assert table[0][:3] == ["NAME", "STATUS", "WEIGHT"]
        assert table[1][:3] == ["podinfo", "Initialized", "0"]

        def described() -> str:
            return box.kubectl("-n", "prod", "describe", "canary", "podinfo")

        # the Event is written in the background, right after the status that says Initialized
        wait_for("the Event", lambda: "Initialization done! podinfo.prod" in described())
        assert "Canary Analysis:" in described()

        objects = box.kubectl("-n", "prod", "get", "deploy,svc", "-o", "name").split()
        for name in (
            "deployment.apps/load-tester",
            "deployment.apps/podinfo",
            "deployment.apps/podinfo-primary",
            "service/load-tester",
            "service/podinfo",
            "service/podinfo-canary",
            "service/podinfo-primary",
        ):
            assert name in objects
        assert ready_pods(box, "podinfo-primary-") == ["1/1"]
        assert ready_pods(box, "load-tester-") == ["1/1"]

        messages = operator_log(box)
        assert "Initialization done! podinfo.prod" in messages

        names = box.kubectl("-n", "prod", "get", "pods", "-o", "name").split()
        tester = next(name for name in names if "load-tester" in name)
        assert tester.startswith("pod/load-tester-")
        check_exec(box, tester.removeprefix("pod/"))


def check_exec(box: Sandbox, pod: str) -> None:
    load = box.kubectl("-n", "prod", "exec", pod, "--", "hey", "-n", "20", "-c", "2",
                       "http://podinfo:9898/")  # fmt: skip
    assert "[200]\t20 responses" in load, load
    piped = subprocess.run(
        ["kubectl", "-n", "prod", "exec", "-i", pod, "--", "sh"],
        input="echo $HOSTNAME; exit 3\n", capture_output=True, text=True, env=box.env,
        timeout=30, check=False,
    )  # fmt: skip
    assert piped.stdout.strip() == pod
    assert piped.returncode == 3
    assert "command terminated with exit code 3" in piped.stderr
    # -it: a terminal of its own. `script` gives kubectl the terminal it wants locally.
    typed = "tty; echo $HOSTNAME; sleep 30\n"
    session = subprocess.Popen(
        ["script", "-qfc", f"kubectl -n prod exec -it {pod} -- bash", "/dev/null"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=box.env,
    )  # fmt: skip
    assert session.stdin is not None
    time.sleep(2)
    session.stdin.write(typed)
    session.stdin.flush()
    time.sleep(2)
    session.stdin.write("\x03")  # Ctrl-C ends the sleep, not the shell
    session.stdin.flush()
    time.sleep(1)
    output, _ = session.communicate("echo $((6 * 7))-alive; exit\n", timeout=30)
    assert "/dev/pts/" in output
    assert pod in output
    assert "42-alive" in output  # computed by the shell: it outlived the Ctrl-C


def ready_pods(box: Sandbox, prefix: str) -> list[str]:
    listed = rows(box.kubectl("-n", "prod", "get", "pods"))[1:]
    return [row[1] for row in listed if row[0].startswith(prefix) and row[2] == "Running"]
