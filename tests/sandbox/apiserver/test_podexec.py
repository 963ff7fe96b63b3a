"""``kubectl exec`` through a pluggable exec source, over the Kubernetes WebSocket protocol.

Covers: kubectl exec prints the command's output; `-i` carries stdin (closed at its end);
stdout and stderr arrive on their channels; a non-zero exit code becomes kubectl's own exit code;
the source is told the pod, container and command; when kubectl goes away (Ctrl-C) the
command is killed; a pod no source runs, a missing command and
a request that does not upgrade to WebSocket are refused with a 400 Status.
"""

from __future__ import annotations

import asyncio

import httpx

from serinus.sandbox.apiserver import ApiServer, ExecProcess, ExecRequest
from tests.sandbox.apiserver.support import Kubectl

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "load-tester", "namespace": "default"},
    "spec": {"containers": [{"name": "tester", "image": "loadtester"}]},
}


class LocalRunner:
    """An exec source that runs commands as local processes (as the workload runner will)."""

    def __init__(self) -> None:
        self.requests: list[ExecRequest] = []
        self.processes: list[asyncio.subprocess.Process] = []

    async def __call__(self, request: ExecRequest) -> ExecProcess | None:
        if request.pod != "load-tester":
            return None
        self.requests.append(request)
        pipe = asyncio.subprocess.PIPE
        process = await asyncio.create_subprocess_exec(
            *request.command,
            stdin=pipe if request.stdin else asyncio.subprocess.DEVNULL,
            stdout=pipe,
            stderr=pipe,
        )
        self.processes.append(process)
        return process


async def test_kubectl_exec(api: ApiServer, kubectl: Kubectl) -> None:
    runner = LocalRunner()
    api.execs.add(runner)
    await kubectl.apply(POD)
    echoed = await kubectl.run("exec", "load-tester", "--", "echo", "hello from the tester")
    assert echoed.stdout == "hello from the tester\n"
    request = runner.requests[0]
    assert (request.namespace, request.pod, request.container) == (
        "default",
        "load-tester",
        "tester",
    )
    assert request.command == ("echo", "hello from the tester")
    piped = await kubectl.run("exec", "-i", "load-tester", "--", "cat", stdin="line 1\nline 2\n")
    assert piped.stdout == "line 1\nline 2\n"
    failed = await kubectl.run(
        "exec", "load-tester", "--", "sh", "-c", "echo oops >&2; exit 3", check=False
    )
    assert failed.returncode == 3
    assert "oops" in failed.stderr
    assert "command terminated with exit code 3" in failed.stderr


async def test_exec_refusals(api: ApiServer, http: httpx.AsyncClient, kubectl: Kubectl) -> None:
    await kubectl.apply(POD)
    nobody = await kubectl.run("exec", "load-tester", "--", "true", check=False)
    assert nobody.returncode == 1
    assert 'container "tester" in pod "load-tester" is not running' in nobody.stderr
    api.execs.add(LocalRunner())
    url = "/api/v1/namespaces/default/pods/load-tester/exec"
    plain = await http.post(url, params={"command": "true"})
    assert plain.status_code == 400
    assert plain.json()["message"] == "Upgrade request required"
    commandless = await http.post(url)
    assert commandless.json()["message"] == "you must specify at least 1 command"


async def test_command_dies_with_the_client(api: ApiServer, kubectl: Kubectl) -> None:
    runner = LocalRunner()
    api.execs.add(runner)
    await kubectl.apply(POD)
    client = await kubectl.start(
        "exec", "load-tester", "--", "sh", "-c", "echo started; exec sleep 60"
    )
    assert client.stdout is not None
    assert await asyncio.wait_for(client.stdout.readline(), timeout=20) == b"started\n"
    client.kill()
    await client.communicate()
    code = await asyncio.wait_for(runner.processes[0].wait(), timeout=20)
    assert code != 0
