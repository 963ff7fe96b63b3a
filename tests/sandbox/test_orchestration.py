"""The pieces ``serinus sandbox up``/``down``/``status`` are built from, with real processes.

Covers: ``state.json`` round trip, refusal of a file that is not one (naming it), and removal;
processes started by ``spawn`` carry the sandbox marker, are found by ``marked`` (a grandchild
that left their process group too), report the ports they listen on, and are stopped by
``stop`` (SIGTERM, or SIGKILL after the grace period for one that ignores it), after which their
ports can be bound again; a zombie does not count as alive; ``down`` stops recorded parts and
stragglers and removes the state, and says when there is nothing to stop; ``up`` refuses a
directory whose sandbox still runs; bundled manifests fill their ``${...}`` fields, keep
Kubernetes' ``$(VAR)`` references and name a missing field; the CRDs include Flagger's and the
mesh's; each sandbox picks its own /24 of loopback Service addresses; the Prometheus command
scrapes the mesh proxy; ``shell`` says when no sandbox or no such namespace exists.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import yaml

from serinus.errors import SerinusError
from serinus.sandbox import manifests
from serinus.sandbox.orchestration import down, parts, processes, shell, state, up

SERVER = textwrap.dedent(
    """
    import signal, socket, sys, time
    if sys.argv[2] == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    server = socket.socket()
    server.bind(("127.0.0.1", int(sys.argv[1])))
    server.listen()
    print("listening", flush=True)
    time.sleep(600)
    """
)
ESCAPER = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                             start_new_session=True)
    print(child.pid, flush=True)
    time.sleep(600)
    """
)


def wait_for_line(log: pathlib.Path) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if text.endswith("\n"):
            return text.strip()
        time.sleep(0.05)
    raise AssertionError(f"{log}: nothing printed")


def start_server(directory: pathlib.Path, name: str, mode: str = "polite") -> tuple[int, int]:
    port = processes.free_port()
    log = directory / "logs" / f"{name}.log"
    pid = processes.spawn(
        [sys.executable, "-c", SERVER, str(port), mode],
        log=log,
        directory=directory,
        env=os.environ,
    )
    assert wait_for_line(log) == "listening"
    return pid, port


def bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def directory(tmp_path: pathlib.Path) -> pathlib.Path:
    return state.canonical(tmp_path)


def test_state_round_trip_and_bad_files(directory: pathlib.Path) -> None:
    assert state.load(directory) is None
    recorded = state.SandboxState(directory, "127.100.3.0/24", "2026-01-01T00:00:00+00:00")
    recorded.add(state.Part("mesh", 42, ("serinus", "sandbox", "mesh"), "logs/mesh.log",
                            "127.0.0.1", 4191, "http://127.0.0.1:4191/metrics"))  # fmt: skip
    recorded.details["prometheus"] = "http://127.0.0.1:9090"
    recorded.save()
    loaded = state.load(directory)
    assert loaded == recorded
    assert loaded.parts["mesh"].endpoint == "http://127.0.0.1:4191/metrics"

    (directory / state.STATE_FILE).write_text("{not json")
    with pytest.raises(SerinusError, match=r"state\.json: not a sandbox state file"):
        state.load(directory)
    (directory / state.STATE_FILE).write_text('{"format": 99}')
    with pytest.raises(SerinusError, match="format 99"):
        state.load(directory)
    state.remove(directory)
    assert state.load(directory) is None


def test_spawned_processes_are_marked_listed_and_stopped(directory: pathlib.Path) -> None:
    polite, polite_port = start_server(directory, "polite")
    stubborn, stubborn_port = start_server(directory, "stubborn", "stubborn")
    assert processes.alive(polite)
    assert processes.marked(directory) == sorted([polite, stubborn])
    assert processes.marked(directory / "elsewhere") == []
    assert ("127.0.0.1", polite_port) in processes.listening([polite])
    assert processes.listening([polite]).isdisjoint(processes.listening([stubborn]))

    assert processes.stop([polite], grace=5) == []
    assert processes.stop([stubborn], grace=0.5) == [stubborn]
    assert not processes.alive(polite)
    assert not processes.alive(stubborn)
    assert bindable(polite_port)
    assert bindable(stubborn_port)
    assert processes.marked(directory) == []


def test_a_zombie_is_not_alive(directory: pathlib.Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while processes.alive(child.pid):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert pathlib.Path(f"/proc/{child.pid}").exists()  # not reaped yet: a zombie
    child.wait()


async def test_down_stops_parts_and_stragglers(directory: pathlib.Path) -> None:
    assert down.stop(directory) == down.DownReport(found=False)
    pid, port = start_server(directory, "apiserver")
    log = directory / "logs" / "escaper.log"
    escaper = processes.spawn(
        [sys.executable, "-c", ESCAPER], log=log, directory=directory, env=os.environ
    )
    grandchild = int(wait_for_line(log))
    recorded = state.SandboxState(directory, "127.100.4.0/24", "now")
    recorded.add(state.Part("apiserver", pid, ("server",), "logs/apiserver.log", "127.0.0.1", port))
    recorded.add(state.Part("escaper", escaper, ("escaper",), str(log)))

    with pytest.raises(up.SandboxRunningError, match="already runs"):
        await up.start(directory, environment=os.environ)

    report = down.stop(directory)
    assert report.stopped == ("apiserver", "escaper")
    assert grandchild in report.stragglers
    assert report.leftovers == ()
    assert not processes.alive(grandchild)
    assert bindable(port)
    assert state.load(directory) is None


def test_manifests_fill_fields_and_name_missing_ones() -> None:
    fields = {"version": "9.9.9", "kubeconfig": "/x/kubeconfig", "prometheus": "http://p:1"}
    (operator,) = manifests.load("operator.yaml", fields)
    container = operator["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "serinus/operator:9.9.9"
    assert "--kubeconfig=/x/kubeconfig" in container["args"]
    assert "--metrics-server=http://p:1" in container["args"]
    assert "--host=$(POD_IP)" in container["args"]
    with pytest.raises(SerinusError, match=r"operator.yaml: no value for \$\{prometheus\}"):
        manifests.load("operator.yaml", {"version": "1", "kubeconfig": "k"})
    kinds = {(m["kind"], m["metadata"]["name"]) for m in manifests.load("loadtester.yaml", fields)}
    assert kinds == {("Deployment", "load-tester"), ("Service", "load-tester")}
    (canary,) = manifests.load("canary.yaml")
    assert canary["apiVersion"] == "flagger.app/v1alpha3"
    assert canary["spec"]["canaryAnalysis"]["webhooks"][0]["url"] == "http://load-tester.prod/"
    names = {crd["metadata"]["name"] for crd in manifests.crds()}
    assert {"canaries.flagger.app", "trafficsplits.split.smi-spec.io",
            "httproutes.gateway.networking.k8s.io"} <= names  # fmt: skip


def test_service_ranges_and_prometheus_config(directory: pathlib.Path) -> None:
    picked = {parts.pick_service_cidr() for _ in range(50)}
    assert len(picked) > 40
    for cidr in picked:
        network = ipaddress.ip_network(cidr)
        assert network.prefixlen == 24
        assert network.subnet_of(parts.SERVICE_RANGE)
        assert network.network_address != parts.SERVICE_RANGE.network_address
    command = parts.prometheus_command(directory, port=19090, mesh_metrics="127.0.0.1:4191")
    assert "--web.listen-address=127.0.0.1:19090" in command
    config = yaml.safe_load((directory / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:4191"]
    assert job["honor_labels"] is True


async def test_shell_needs_a_sandbox_and_a_namespace(directory: pathlib.Path) -> None:
    with pytest.raises(SerinusError, match="no sandbox in"):
        await shell.command(directory, "prod", ["true"])
    state.SandboxState(directory, "127.100.5.0/24", "now").save()
    with pytest.raises(SerinusError, match="namespace 'prod' has no Service names"):
        await shell.command(directory, "prod", ["true"])
    env = shell.environment(directory, os.environ)
    assert env["KUBECONFIG"] == str(directory / "kubeconfig")
    assert env[state.MARKER] == str(directory)
    assert str(pathlib.Path(sys.executable).parent) in env["PATH"].split(os.pathsep)
