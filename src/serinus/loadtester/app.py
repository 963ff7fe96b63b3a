"""The load tester's HTTP routes (aiohttp), answering exactly as Flagger's load tester does.

``POST /`` runs a task from the webhook payload's ``metadata``; ``/gate/{approve,halt,check,open,
close}`` and ``/rollback/{check,open,close}`` are the manual gates; ``/healthz`` and ``/metrics``
serve the probes and Prometheus. Status codes are the contract Canaries rely on: Flagger counts
a hook as passed when it answers 200-202, so ``/gate/check`` answers 200 for an open gate and 403
for a closed one, and ``/gate/open`` answers 202.

Checks on ``POST /`` run in this order and stop at the first refusal, before anything runs: the body
(400), ``--namespace-regexp`` (403), ``metadata`` present (400, Flagger's "metadata not found in
payload"), a known ``type`` (400), a ``cmd`` (400), ``--allow-command`` (403). The namespace rule
also guards the gate endpoints that read a payload (``approve`` and ``halt`` read none).

:func:`create_app` builds the app from :class:`Settings`; :func:`serve` runs it until an event is
set, then stops every running command (their whole process groups) before returning.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import pathlib

from aiohttp import web

from serinus.errors import UnknownProviderError
from serinus.loadtester import tasks
from serinus.loadtester.authz import Policy
from serinus.loadtester.gates import GateStore
from serinus.loadtester.metrics import CONTENT_TYPE, LoadTesterMetrics
from serinus.loadtester.payload import Payload, PayloadError, parse_payload

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the load tester is configured with (built by the CLI from its flags)."""

    timeout: float = 3600.0
    """Seconds a task may run before its process group is killed (Flagger's ``-timeout``)."""
    policy: Policy = dataclasses.field(default_factory=Policy)
    state_file: pathlib.Path | None = None
    """Where open gates are kept across restarts; None keeps them in memory only."""


class _Refusal(Exception):
    """A request refused before anything ran: HTTP status, text, and the metric reason."""

    def __init__(self, status: int, text: str, reason: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.reason = reason


class Api:
    """The route handlers. One instance per app; it owns the runner, the gates and the metrics."""

    def __init__(self, settings: Settings) -> None:
        self.metrics = LoadTesterMetrics()
        self.runner = tasks.TaskRunner(timeout=settings.timeout, metrics=self.metrics)
        self.gates = GateStore(settings.state_file)
        self.policy = settings.policy

    async def run_task(self, request: web.Request) -> web.Response:
        """``POST /``: run ``metadata.cmd`` as ``metadata.type`` says."""
        try:
            payload = await self._payload(request)
            task = self._task(payload)
        except _Refusal as refusal:
            return self._refuse(request, refusal)
        if not task.type.blocking:
            started = self.runner.start(task)
            return web.Response(status=202, text="Task started" if started else "Task running")
        outcome = await self.runner.run(task)
        if not outcome.ok:
            return web.Response(
                status=500, text=f"command {task.command_line} failed: {outcome.failure()}"
            )
        body = outcome.stdout if payload.flag("returnCmdOutput") else ""
        return web.Response(status=200, text=body)

    def _refuse(self, request: web.Request, refusal: _Refusal) -> web.Response:
        self.metrics.rejected.labels(reason=refusal.reason).inc()
        _log.warning("Refused %s %s: %s", request.method, request.path, refusal.text)
        return web.Response(status=refusal.status, text=refusal.text)

    async def _payload(self, request: web.Request) -> Payload:
        try:
            payload = parse_payload(await request.read())
        except PayloadError as error:
            raise _Refusal(400, str(error), "bad_request") from None
        denial = self.policy.namespace_denial(payload.namespace)
        if denial is not None:
            raise _Refusal(403, denial, "namespace")
        return payload

    def _task(self, payload: Payload) -> tasks.Task:
        metadata = payload.metadata
        if not metadata:
            raise _Refusal(400, "metadata not found in payload", "bad_request")
        type_name = metadata.get("type", tasks.DEFAULT_TYPE)
        try:
            kind = tasks.task_type(type_name)
        except UnknownProviderError:
            supported = ", ".join(sorted(tasks.TASK_TYPES))
            text = f"unknown task type {type_name!r} in metadata.type; supported: {supported}"
            raise _Refusal(400, text, "bad_request") from None
        command = metadata.get("cmd", "")
        if not command.strip():
            raise _Refusal(400, "cmd not found in metadata", "bad_request")
        try:
            line = kind.command_line(command)
            log_output = payload.flag("logCmdOutput")
            payload.flag("returnCmdOutput")
        except PayloadError as error:
            raise _Refusal(400, str(error), "bad_request") from None
        except ValueError as error:  # shlex: unbalanced quotes
            raise _Refusal(
                400, f"metadata.cmd: cannot split {command!r}: {error}", "bad_request"
            ) from None
        denial = self.policy.command_denial(line)
        if denial is not None:
            raise _Refusal(403, denial, "command")
        return tasks.Task(
            canary=payload.canary, type=kind, command_line=line, log_output=log_output
        )

    async def approve(self, request: web.Request) -> web.Response:
        """``/gate/approve``: always open."""
        return web.Response(status=200, text="Approved")

    async def halt(self, request: web.Request) -> web.Response:
        """``/gate/halt``: always closed."""
        return web.Response(status=403, text="Forbidden")

    async def check_gate(self, request: web.Request) -> web.Response:
        return await self._check(request, prefix="")

    async def open_gate(self, request: web.Request) -> web.Response:
        return await self._change(request, prefix="", is_open=True)

    async def close_gate(self, request: web.Request) -> web.Response:
        return await self._change(request, prefix="", is_open=False)

    async def check_rollback(self, request: web.Request) -> web.Response:
        return await self._check(request, prefix="rollback.")

    async def open_rollback(self, request: web.Request) -> web.Response:
        return await self._change(request, prefix="rollback.", is_open=True)

    async def close_rollback(self, request: web.Request) -> web.Response:
        return await self._change(request, prefix="rollback.", is_open=False)

    async def _check(self, request: web.Request, *, prefix: str) -> web.Response:
        try:
            payload = await self._payload(request)
        except _Refusal as refusal:
            return self._refuse(request, refusal)
        key = prefix + payload.canary
        approved = self.gates.is_open(key)
        _log.debug("Gate %s checked: %s", key, "open" if approved else "closed")
        if approved:
            return web.Response(status=200, text="Approved")
        return web.Response(status=403, text=f"Forbidden: gate {key} is closed")

    async def _change(self, request: web.Request, *, prefix: str, is_open: bool) -> web.Response:
        try:
            payload = await self._payload(request)
        except _Refusal as refusal:
            return self._refuse(request, refusal)
        key = prefix + payload.canary
        if is_open:
            self.gates.open(key)
        else:
            self.gates.close(key)
        state = "opened" if is_open else "closed"
        _log.info("Gate %s %s", key, state, extra={"canary": payload.canary})
        return web.Response(status=202, text=f"Gate {key} {state}")

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="OK")

    async def serve_metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


API_KEY = web.AppKey("api", Api)


def create_app(settings: Settings) -> web.Application:
    """The load tester app. Stopping it (``on_shutdown``) stops every running command."""
    api = Api(settings)
    app = web.Application()
    app[API_KEY] = api
    app.router.add_post("/", api.run_task)
    app.router.add_route("*", "/healthz", api.healthz)
    app.router.add_get("/metrics", api.serve_metrics)
    routes = {
        "/gate/approve": api.approve,
        "/gate/halt": api.halt,
        "/gate/check": api.check_gate,
        "/gate/open": api.open_gate,
        "/gate/close": api.close_gate,
        "/rollback/check": api.check_rollback,
        "/rollback/open": api.open_rollback,
        "/rollback/close": api.close_rollback,
    }
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    app.on_shutdown.append(_stop_commands)
    return app


async def _stop_commands(app: web.Application) -> None:
    await app[API_KEY].runner.stop()


async def serve(app: web.Application, *, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve ``app`` on ``host:port`` until ``stop`` is set, then shut down cleanly."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    for address in _addresses(runner):
        _log.info("Load tester listening on http://%s", address)
    try:
        await stop.wait()
    finally:
        _log.info("Load tester stopping")
        await runner.cleanup()


def _addresses(runner: web.AppRunner) -> list[str]:
    found = []
    for address in runner.addresses:
        host, port = address[0], address[1]
        found.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    return found
