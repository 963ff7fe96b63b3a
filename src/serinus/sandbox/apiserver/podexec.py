"""``pods/<name>/exec``: running a command in a "container", as ``kubectl exec`` asks for it.

The server runs nothing itself: a pluggable :data:`ExecSource` (the sandbox's workload runner)
starts the command where the pod's container really runs, and hands back something shaped like an
``asyncio.subprocess.Process``. The server carries the streams over the Kubernetes WebSocket
protocol that kubectl speaks first (``v5.channel.k8s.io``, or ``v4``): binary messages whose first
byte is the channel (0 stdin, 1 stdout, 2 stderr, 3 the final Status, 4 terminal resize, and in
v5 255 to close a channel). The final Status carries the exit code, which kubectl turns into its
own (``command terminated with exit code 3``). When the client goes away (Ctrl-C) or the server
stops, the command is killed. A request that does not upgrade to WebSocket (the older SPDY
transport) is refused with "Upgrade request required".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiohttp import WSMsgType, web

from serinus.sandbox.apiserver.objects import Obj, dig, metadata
from serinus.sandbox.apiserver.responses import encode
from serinus.sandbox.apiserver.status import bad_request

logger = logging.getLogger(__name__)

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
_TRUE = ("true", "1", "True")


@dataclass(frozen=True)
class ExecRequest:
    namespace: str
    pod: str
    container: str
    command: tuple[str, ...]
    stdin: bool = False
    stdout: bool = True
    stderr: bool = True
    tty: bool = False
    pod_object: Obj | None = None


class ExecProcess(Protocol):
    """What a source hands back; ``asyncio.subprocess.Process`` fits as it is.

    When the client goes away the server calls ``kill()`` if the object has one; a source
    whose commands start children should make it stop them all (a process group), or their
    pipes stay open.
    """

    stdin: asyncio.StreamWriter | None
    stdout: asyncio.StreamReader | None
    stderr: asyncio.StreamReader | None

    async def wait(self) -> int: ...


ExecSource = Callable[[ExecRequest], Awaitable[ExecProcess | None]]
"""Starts the command of a request, or answers None for pods it does not run."""


class ExecSources:
    """The registered sources, asked in order."""

    def __init__(self) -> None:
        self._sources: list[ExecSource] = []

    def add(self, source: ExecSource) -> None:
        self._sources.append(source)

    def remove(self, source: ExecSource) -> None:
        if source in self._sources:
            self._sources.remove(source)

    async def start(self, request: ExecRequest) -> ExecProcess | None:
        for source in self._sources:
            process = await source(request)
            if process is not None:
                return process
        return None


def exec_request(pod: Obj, query: Mapping[str, str], command: Sequence[str]) -> ExecRequest:
    """The decoded request; 400 for a missing command or a container the pod does not have."""
    fields = metadata(pod)
    names = [str(c.get("name")) for c in dig(pod, ("spec", "containers")) or []]
    container = query.get("container") or (names[0] if len(names) == 1 else "")
    if not container:
        raise bad_request(
            f"a container name must be specified for pod {fields.get('name')}, "
            f"choose one of: [{' '.join(names)}]"
        )
    if container not in names:
        raise bad_request(f"container {container} is not valid for pod {fields.get('name')}")
    if not command:
        raise bad_request("you must specify at least 1 command")
    return ExecRequest(
        namespace=str(fields.get("namespace", "")),
        pod=str(fields.get("name", "")),
        container=container,
        command=tuple(command),
        stdin=query.get("stdin") in _TRUE,
        stdout=query.get("stdout", "true") in _TRUE,
        stderr=query.get("stderr", "true") in _TRUE,
        tty=query.get("tty") in _TRUE,
        pod_object=pod,
    )


async def serve_exec(
    request: web.Request, sources: ExecSources, run: ExecRequest, closing: asyncio.Event
) -> web.WebSocketResponse:
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise bad_request("Upgrade request required")
    socket = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True)
    await socket.prepare(request)
    process = await sources.start(run)
    if process is None:
        refusal = bad_request(f'container "{run.container}" in pod "{run.pod}" is not running')
        await socket.send_bytes(bytes([ERROR]) + encode(refusal.status()))
        await socket.close()
        return socket
    pumps = [
        asyncio.ensure_future(_pump(process.stdout, STDOUT, socket)),
        asyncio.ensure_future(_pump(process.stderr, STDERR, socket)),
    ]
    feeder = asyncio.ensure_future(_feed(socket, process))
    stop = asyncio.ensure_future(closing.wait())
    done = asyncio.ensure_future(_finish(process, pumps))
    try:
        await asyncio.wait({done, stop, feeder}, return_when=asyncio.FIRST_COMPLETED)
        if done.done():
            await socket.send_bytes(bytes([ERROR]) + encode(_status(run, done.result())))
        else:  # the client went away or the server is stopping: the command goes too
            _kill(process)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(done), timeout=5)
    finally:
        for task in (feeder, stop, done, *pumps):
            task.cancel()
        await socket.close()
    return socket


async def _finish(process: ExecProcess, pumps: Sequence[asyncio.Future[None]]) -> int:
    code = await process.wait()
    await asyncio.gather(*pumps, return_exceptions=True)
    return code


async def _pump(
    reader: asyncio.StreamReader | None, channel: int, socket: web.WebSocketResponse
) -> None:
    if reader is None:
        return
    while chunk := await reader.read(65536):
        await socket.send_bytes(bytes([channel]) + chunk)


async def _feed(socket: web.WebSocketResponse, process: ExecProcess) -> None:
    """Client messages: stdin data, stdin close (v5) and terminal resizes."""
    async for message in socket:
        if message.type != WSMsgType.BINARY or not message.data:
            continue
        channel, payload = message.data[0], message.data[1:]
        if channel == STDIN and process.stdin is not None and payload:
            process.stdin.write(payload)
            with contextlib.suppress(ConnectionError):
                await process.stdin.drain()
        elif channel == CLOSE and payload[:1] == bytes([STDIN]) and process.stdin is not None:
            process.stdin.close()
        elif channel == RESIZE:
            _resize(process, payload)


def _kill(process: ExecProcess) -> None:
    kill = getattr(process, "kill", None)
    if kill is not None:
        with contextlib.suppress(ProcessLookupError):
            kill()


def _resize(process: ExecProcess, payload: bytes) -> None:
    resize = getattr(process, "resize", None)
    if resize is None:
        return
    try:
        size = json.loads(payload)
        resize(int(size["Width"]), int(size["Height"]))
    except (ValueError, KeyError, TypeError):
        logger.debug("ignoring a malformed terminal resize: %r", payload)


def _status(run: ExecRequest, code: int) -> Obj:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
        f"{list(run.command)}, exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }
