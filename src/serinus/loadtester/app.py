"""The load tester's HTTP routes (aiohttp), answering exactly as Flagger's load tester does.

``POST /`` runs a task from the webhook payload's ``metadata``; ``/gate/{approve,halt,check,open,
close}`` and ``/rollback/{check,open,close}`` are the manual gates; ``/healthz`` and ``/metrics``
serve the probes and Prometheus. Status codes are the contract Canaries rely on: Flagger counts
a hook as passed when it answers 200-202, so ``/gate/check`` answers 200 for an open gate and 403
for a closed one, and ``/gate/open`` answers 202.

Checks on ``POST /`` run in this order and stop at the first refusal, before anything runs: the
body's size (413), its signature when ``--signing-secret`` is set (401), the body (400),
``--namespace-regexp`` (403), the task's metadata (400, e.g. Flagger's "metadata not found in
payload"), ``--allow-command`` (403), the caps on running tasks (429). The gate endpoints that read
a payload go through the same first four (``approve`` and ``halt`` read nothing and answer
unsigned calls too). No answer quotes more than a short prefix of what the caller sent.

:func:`create_app` builds the app from :class:`Settings`; :func:`serve` runs it until an event is
set, then stops every running command (their whole process groups) before returning.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import pathlib
import time
from typing import Literal

from aiohttp import web

from serinus import signing
from serinus.loadtester import runner as task_runner
from serinus.loadtester import tasks
from serinus.loadtester.authz import Policy
from serinus.loadtester.gates import DEFAULT_LIMIT, Gate, GateStore, TooManyGates
from serinus.loadtester.metrics import CONTENT_TYPE, LoadTesterMetrics
from serinus.loadtester.payload import MAX_BODY_BYTES, Payload, PayloadError, parse_payload

_log = logging.getLogger(__name__)

FAILURE_LIMIT = 2048
"""Characters of a failure reason (a command's stderr) in a 500 answer."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the load tester is configured with (built by the CLI from its flags)."""

    timeout: float = 3600.0
    """Seconds a task may run before its process group is killed (Flagger's ``-timeout``)."""
    policy: Policy = dataclasses.field(default_factory=Policy)
    state_file: pathlib.Path | None = None
    """Where open gates are kept across restarts; None keeps them in memory only."""
    max_running: int = task_runner.DEFAULT_MAX_RUNNING
    max_per_namespace: int = task_runner.DEFAULT_MAX_PER_NAMESPACE
    max_gates: int = DEFAULT_LIMIT
    signing_key: bytes | None = dataclasses.field(default=None, repr=False)
    """When set, every request that reads a payload must be signed with it (serinus.signing)."""
    signing_max_age: float = signing.DEFAULT_MAX_AGE_SECONDS


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
        self.runner = task_runner.TaskRunner(
            timeout=settings.timeout,
            metrics=self.metrics,
            max_running=settings.max_running,
            max_per_namespace=settings.max_per_namespace,
        )
        self.gates = GateStore(settings.state_file, limit=settings.max_gates)
        self.policy = settings.policy
        self.settings = settings

    async def run_task(self, request: web.Request) -> web.Response:
        """``POST /``: run the task ``metadata`` describes."""
        try:
            payload = await self._payload(request)
            task = self._task(payload)
            return_output = self._flag(payload, "returnCmdOutput")
            if not task.blocking:
                started = self.runner.start(task)
                return web.Response(status=202, text="Task started" if started else "Task running")
            outcome = await self.runner.run(task)
        except _Refusal as refusal:
            return self._refuse(request, refusal)
        except task_runner.Busy as busy:
            return self._refuse(request, _Refusal(429, str(busy), "busy"))
        if not outcome.ok:
            failure = outcome.failure()[:FAILURE_LIMIT]
            return web.Response(status=500, text=f"command {task.line[:256]} failed: {failure}")
        body = outcome.stdout if return_output else ""
        return web.Response(status=200, text=body)

    def _refuse(self, request: web.Request, refusal: _Refusal) -> web.Response:
        if refusal.reason != "busy":  # the runner counted those
            self.metrics.rejected.labels(reason=refusal.reason).inc()
        _log.warning("Refused %s %s: %s", request.method, request.path, refusal.text)
        return web.Response(status=refusal.status, text=refusal.text)

    async def _payload(self, request: web.Request) -> Payload:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            text = f"payload: larger than {MAX_BODY_BYTES} bytes"
            raise _Refusal(413, text, "bad_request") from None
        self._check_signature(request, body)
        try:
            payload = parse_payload(body)
        except PayloadError as error:
            raise _Refusal(400, str(error), "bad_request") from None
        denial = self.policy.namespace_denial(payload.namespace)
        if denial is not None:
            raise _Refusal(403, denial, "namespace")
        return payload

    def _check_signature(self, request: web.Request, body: bytes) -> None:
        key = self.settings.signing_key
        if key is None:
            return
        try:
            signing.verify(
                body,
                request.headers,
                key=key,
                now=time.time(),
                path=request.raw_path,
                max_age=self.settings.signing_max_age,
            )
        except signing.SignatureError as error:
            raise _Refusal(401, f"signature refused: {error}", "signature") from None

    def _task(self, payload: Payload) -> tasks.Task:
        try:
            task = tasks.build(payload, locked=self.policy.locked)
        except PayloadError as error:
            raise _Refusal(400, str(error), "bad_request") from None
        if task.argv is not None:
            denial = self.policy.command_denial(task.argv)
        else:
            denial = self.policy.task_denial(task.line)
        if denial is not None:
            raise _Refusal(403, denial, "command")
        return task

    def _flag(self, payload: Payload, key: str) -> bool:
        try:
            return payload.flag(key)
        except PayloadError as error:
            raise _Refusal(400, str(error), "bad_request") from None

    async def approve(self, request: web.Request) -> web.Response:
        """``/gate/approve``: always open."""
        return web.Response(status=200, text="Approved")

    async def halt(self, request: web.Request) -> web.Response:
        """``/gate/halt``: always closed."""
        return web.Response(status=403, text="Forbidden")

    async def check_gate(self, request: web.Request) -> web.Response:
        return await self._check(request, kind="gate")

    async def open_gate(self, request: web.Request) -> web.Response:
        return await self._change(request, kind="gate", is_open=True)

    async def close_gate(self, request: web.Request) -> web.Response:
        return await self._change(request, kind="gate", is_open=False)

    async def check_rollback(self, request: web.Request) -> web.Response:
        return await self._check(request, kind="rollback")

    async def open_rollback(self, request: web.Request) -> web.Response:
        return await self._change(request, kind="rollback", is_open=True)

    async def close_rollback(self, request: web.Request) -> web.Response:
        return await self._change(request, kind="rollback", is_open=False)

    async def _check(
        self, request: web.Request, *, kind: Literal["gate", "rollback"]
    ) -> web.Response:
        try:
            payload = await self._payload(request)
        except _Refusal as refusal:
            return self._refuse(request, refusal)
        gate = Gate(kind, payload.namespace, payload.name)
        approved = self.gates.is_open(gate)
        _log.debug("Gate %s checked: %s", gate, "open" if approved else "closed")
        if approved:
            return web.Response(status=200, text="Approved")
        return web.Response(status=403, text=f"Forbidden: gate {gate} is closed")

    async def _change(
        self, request: web.Request, *, kind: Literal["gate", "rollback"], is_open: bool
    ) -> web.Response:
        try:
            payload = await self._payload(request)
            gate = Gate(kind, payload.namespace, payload.name)
            if is_open:
                self.gates.open(gate)
            else:
                self.gates.close(gate)
        except _Refusal as refusal:
            return self._refuse(request, refusal)
        except TooManyGates as full:
            return self._refuse(request, _Refusal(429, str(full), "gates"))
        state = "opened" if is_open else "closed"
        _log.info("Gate %s %s", gate, state, extra={"canary": payload.canary})
        return web.Response(status=202, text=f"Gate {gate} {state}")

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="OK")

    async def serve_metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


API_KEY = web.AppKey("api", Api)


def create_app(settings: Settings) -> web.Application:
    """The load tester app. Stopping it (``on_shutdown``) stops every running command."""
    api = Api(settings)
    app = web.Application(client_max_size=MAX_BODY_BYTES)
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
    app.on_shutdown.append(_stop)
    return app


async def _stop(app: web.Application) -> None:
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
