r"""``kubectl exec`` into the sandbox's pods: the API server's exec source.

The seed generates its faults from inside the load tester's pod::

    kubectl -n prod exec -it \
      $(kubectl -n prod get pods -o name | grep -m1 load-tester | cut -d'/' -f 2) bash

:class:`PodExec` makes that work: the ``apiserver`` part plugs it into the API server, which
carries the streams over kubectl's WebSocket protocol. A pod's "container" is a local process, so
the command runs where that process runs: in the pod's directory, behind the private
``/etc/hosts`` of the pod's namespace (Service names resolve as in the pod), with the container's
volumes and ServiceAccount token at their mount paths, the pod's name as ``HOSTNAME``, the
sandbox's kubeconfig and its marker (``down`` ends it too). With
``-t`` it gets a pseudo-terminal (echo, prompts, Ctrl-C, resizes), as ``bash`` needs.

Only pods the sandbox runs qualify (their directory exists and they are Running); for others
the source answers None and the server says the container is not running. It reads files and
the pod object only, so it works from the API server's own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pathlib
import pty
import signal
import struct
import sys
import termios

from serinus.apis.base import Manifest
from serinus.sandbox import names
from serinus.sandbox.apiserver import ExecProcess, ExecRequest
from serinus.sandbox.orchestration.state import MARKER
from serinus.sandbox.workloads import SandboxDir, serviceaccount, volumes

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class PodExec:
    """An :data:`~serinus.sandbox.apiserver.ExecSource` for the pods of one sandbox."""

    def __init__(self, directory: pathlib.Path) -> None:
        self.directory = directory
        self.layout = SandboxDir(directory)

    async def __call__(self, request: ExecRequest) -> ExecProcess | None:
        pod = request.pod_object or {}
        phase = (pod.get("status") or {}).get("phase")
        home = self.layout.pod(request.namespace, request.pod)
        if phase != "Running" or not await asyncio.to_thread(home.is_dir):
            return None
        isolation = await names.detect()
        hosts = self.layout.hosts(request.namespace)
        mounts = await asyncio.to_thread(_mounts, self.layout, pod, request.container or None)
        command = isolation.wrap(list(request.command), hosts, own_pids=False, mounts=mounts)
        env = {
            "PATH": f"{pathlib.Path(sys.executable).parent}:{SYSTEM_PATH}",
            "HOME": str(home),
            "HOSTNAME": request.pod,
            "KUBECONFIG": str(self.layout.kubeconfig),
            "TERM": "xterm",
            MARKER: str(self.directory),
        }
        if request.tty:
            return await TerminalProcess.start(command, env=env, cwd=home)
        return await _GroupProcess.start(command, env=env, cwd=home, stdin=request.stdin)


def _mounts(layout: SandboxDir, pod: Manifest, container: str | None) -> list[volumes.Mount]:
    """The container's mounts as its process has them: its volumes and, when the pod was given
    one, its ServiceAccount token, ordered so that none hides the source of another."""
    found = volumes.mounts(layout, pod, container)
    meta = pod.get("metadata") or {}
    account = layout.pod(str(meta.get("namespace")), str(meta.get("name"))) / "serviceaccount"
    if account.is_dir():
        found = [(account.resolve(), serviceaccount.MOUNT), *found]
    return volumes.ordered(found)


class _GroupProcess:
    """A plain subprocess in its own session; ``kill`` ends its whole process group."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stdin = process.stdin
        self.stdout = process.stdout
        self.stderr = process.stderr

    @classmethod
    async def start(
        cls, command: list[str], *, env: dict[str, str], cwd: pathlib.Path, stdin: bool
    ) -> _GroupProcess:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        return cls(process)

    async def wait(self) -> int:
        return await self.process.wait()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


class TerminalProcess:
    """A subprocess on a pseudo-terminal: its output (stdout and stderr) comes as one stream."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        master: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.process = process
        self.master = master
        self.stdin: asyncio.StreamWriter | None = writer
        self.stdout: asyncio.StreamReader | None = reader
        self.stderr: asyncio.StreamReader | None = None

    @classmethod
    async def start(
        cls, command: list[str], *, env: dict[str, str], cwd: pathlib.Path
    ) -> TerminalProcess:
        master, slave = pty.openpty()
        try:
            # setsid -c: a session of its own with the pty as its controlling terminal, so the
            # shell gets job control and Ctrl-C reaches what runs in it.
            process = await asyncio.create_subprocess_exec(
                "setsid", "-c", *command, stdin=slave, stdout=slave, stderr=slave, env=env,
                cwd=cwd,
            )  # fmt: skip
        finally:
            os.close(slave)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(
            lambda: _EndOnEio(reader), os.fdopen(os.dup(master), "rb", buffering=0)
        )
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(os.dup(master), "wb", buffering=0)
        )
        writer = asyncio.StreamWriter(transport, protocol, None, loop)
        return cls(process, master, reader, writer)

    async def wait(self) -> int:
        code = await self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self.master)
        return code

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def resize(self, width: int, height: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


class _EndOnEio(asyncio.StreamReaderProtocol):
    """A pty master reads EIO once the last process on the terminal is gone: that is the end."""

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(None if isinstance(exc, OSError) else exc)
