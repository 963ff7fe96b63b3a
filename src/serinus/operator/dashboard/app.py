"""The dashboard: every Canary the caller may see, one Canary's live timeline, its control buttons.

Served by the operator on ``--dashboard-port`` (off unless given), over TLS when given a
certificate. The page (``static/``) is plain HTML, CSS and one script, with no data in it; the
data comes from the JSON API below, which checks every request (:class:`Guard`):

* ``GET /api/whoami``: who the token belongs to;
* ``GET /api/canaries``: the Canaries the caller may ``get``, with phase, weight and step;
* ``GET /api/canaries/{ns}/{name}``: one Canary: the view ``serinus status`` prints, the runs
  kept in its history, the drawing of the current run, and which buttons make sense now;
* ``GET /api/canaries/{ns}/{name}/stream``: the same, again each time the Canary moves (Server-Sent
  Events; woken by the operator's own ticks, and read every few seconds on a replica that does
  not lead); the caller's access is checked again every :data:`RECHECK` seconds;
* ``GET /api/canaries/{ns}/{name}/runs/{n}`` and ``.../runs/{n}/report``: an older run's drawing,
  and its standalone page (``serinus report``);
* ``POST /api/canaries/{ns}/{name}/requests`` ``{"action": "abort"}``: the control buttons; needs
  ``patch`` on the Canary, writes the same request annotation as the CLI, naming the user the
  token belongs to.

Responses carry a strict Content-Security-Policy (scripts and styles from the dashboard only, no
frames) and ``Cache-Control: no-store``. The timeline drawing is made on the server with every
text escaped; everything else reaches the page as JSON and is shown as text.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib.resources
import json
import logging
import re
import ssl
from typing import Any

from aiohttp import web

from serinus import errors
from serinus.apis.canary import Canary
from serinus.apis.control import Action
from serinus.apis.history import History
from serinus.controller import manual
from serinus.kube.client import Kube
from serinus.kube.reviews import User
from serinus.kube.status import API_VERSION, KIND, canary_from
from serinus.operating import charts, reading, report, requests, view
from serinus.operator.dashboard.guard import Guard
from serinus.operator.history import Changes

logger = logging.getLogger(__name__)

RECHECK = 30.0
POLL = 2.0
NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
STATIC = {"app.js": "text/javascript", "style.css": "text/css", "index.html": "text/html"}
SECURITY = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def _static(name: str) -> bytes:
    return (importlib.resources.files("serinus.operator.dashboard") / "static" / name).read_bytes()


@web.middleware
async def _secure(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as error:
        error.headers.update(SECURITY)
        raise
    if not response.prepared:
        response.headers.update(SECURITY)
    return response


class Dashboard:
    """The dashboard's web server."""

    def __init__(
        self,
        kube: Kube,
        changes: Changes,
        *,
        host: str,
        port: int,
        provider: str,
        tls: ssl.SSLContext | None = None,
        guard: Guard | None = None,
        namespaces: tuple[str, ...] = (),
    ) -> None:
        self.kube = kube
        self.namespaces = namespaces
        """The namespaces the operator watches (all when empty)."""
        self.changes = changes
        self.guard = guard or Guard(kube)
        self.provider = provider
        self._host, self.port, self._tls = host, port, tls
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_secure], client_max_size=4096)
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{file}", self._file)
        app.router.add_get("/favicon.ico", self._no_icon)
        app.router.add_get("/api/whoami", self._whoami)
        app.router.add_get("/api/canaries", self._list)
        one = "/api/canaries/{namespace}/{name}"
        app.router.add_get(one, self._one)
        app.router.add_get(f"{one}/stream", self._stream)
        app.router.add_get(f"{one}/runs/{{run}}", self._run)
        app.router.add_get(f"{one}/runs/{{run}}/report", self._report)
        app.router.add_post(f"{one}/requests", self._request)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self.port, ssl_context=self._tls)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        scheme = "https" if self._tls else "http"
        logger.info("dashboard serving on %s://%s:%d", scheme, self._host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- the page ------------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(body=_static("index.html"), content_type="text/html")

    async def _no_icon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _file(self, request: web.Request) -> web.Response:
        name = request.match_info["file"]
        if name not in STATIC or name == "index.html":
            raise web.HTTPNotFound()
        body = _static(name)
        if name == "style.css":  # the timeline drawing's look, written once, in charts
            body += charts.STYLE.encode()
        return web.Response(body=body, content_type=STATIC[name])

    # --- reading -------------------------------------------------------------------------------

    async def _whoami(self, request: web.Request) -> web.Response:
        user = await self.guard.user(request)
        return web.json_response({"user": user.name, "groups": list(user.groups)})

    async def _list(self, request: web.Request) -> web.Response:
        user = await self.guard.user(request)
        canaries: list[Canary] = []
        for scope in self.namespaces or (None,):
            canaries += await reading.canaries(self.kube, scope)
        namespaces = {c.namespace for c in canaries}
        seen = {ns for ns in namespaces if await self.guard.may(user, "get", ns)}
        now = datetime.datetime.now(datetime.UTC)
        items = []
        for canary in canaries:
            if canary.namespace in seen or await self.guard.may(
                user, "get", canary.namespace, canary.name
            ):
                found = view.build(canary, events=[], history=None, now=now, provider=self.provider)
                items.append(found.document())
        return web.json_response({"user": user.name, "items": items})

    async def _allowed(self, request: web.Request, verb: str) -> tuple[User, str, str]:
        user = await self.guard.user(request)
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        if not NAME.match(namespace) or not NAME.match(name):
            raise web.HTTPNotFound()
        await self.guard.require(user, verb, namespace, name)
        return user, namespace, name

    async def snapshot(self, user: User, namespace: str, name: str) -> dict[str, Any]:
        """Everything the page shows about one Canary, read now."""
        manifest = await self.kube.get(API_VERSION, KIND, name, namespace)
        if manifest is None:
            raise web.HTTPNotFound(
                text='{"error": "no such Canary"}', content_type="application/json"
            )
        canary = canary_from(manifest)
        history = await self._read_history(namespace, name)
        found = view.build(
            canary,
            events=await reading.events(self.kube, namespace, name),
            history=history,
            now=datetime.datetime.now(datetime.UTC),
            provider=self.provider,
        )
        may_patch = await self.guard.may(user, "patch", namespace, name)
        return {
            "view": found.document(),
            "runs": _runs(history),
            "timeline": charts.svg(history.runs[-1]) if history and history.runs else None,
            "actions": _actions(canary) if may_patch else [],
            "may_control": may_patch,
        }

    async def _one(self, request: web.Request) -> web.Response:
        user, namespace, name = await self._allowed(request, "get")
        return web.json_response(await self.snapshot(user, namespace, name))

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        user, namespace, name = await self._allowed(request, "get")
        response = web.StreamResponse(
            headers={**SECURITY, "Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        key = (namespace, name)
        loop = asyncio.get_running_loop()
        checked = loop.time()
        version = self.changes.version(key)
        try:
            while True:
                if loop.time() - checked > RECHECK:
                    if not await self.guard.may(user, "get", namespace, name):
                        await response.write(b"event: denied\ndata: {}\n\n")
                        break
                    checked = loop.time()
                try:
                    document = await self.snapshot(user, namespace, name)
                except web.HTTPNotFound:
                    await response.write(b"event: gone\ndata: {}\n\n")
                    break
                except errors.SerinusError as error:
                    logger.warning("dashboard: reading %s.%s failed: %s", name, namespace, error)
                    document = {"error": "the operator could not read the Canary just now"}
                payload = json.dumps(document, separators=(",", ":"))
                await response.write(f"event: view\ndata: {payload}\n\n".encode())
                version = await self.changes.wait(key, after=version, within=POLL)
        except ConnectionResetError:
            pass  # the browser went away
        return response

    async def _read_history(self, namespace: str, name: str) -> History | None:
        """The newest history: points the operator has not written yet included."""
        unwritten = self.changes.unwritten((namespace, name))
        return unwritten or await reading.history(self.kube, namespace, name)

    async def _history(self, request: web.Request) -> tuple[History, int, str]:
        _, namespace, name = await self._allowed(request, "get")
        history = await self._read_history(namespace, name)
        try:
            wanted = int(request.match_info["run"])
            if history is None:
                raise ValueError("no run is recorded yet")
            return history, report.run_index(history, wanted), name
        except ValueError as error:
            raise web.HTTPNotFound(
                text=json.dumps({"error": str(error)}), content_type="application/json"
            ) from None

    async def _run(self, request: web.Request) -> web.Response:
        history, index, _ = await self._history(request)
        run = history.runs[index]
        return web.json_response({"run": _runs(history)[index], "timeline": charts.svg(run)})

    async def _report(self, request: web.Request) -> web.Response:
        history, index, name = await self._history(request)
        disposition = f'attachment; filename="{name}-run-{index + 1}.html"'
        return web.Response(
            text=report.page(history, index),
            content_type="text/html",
            headers={"Content-Disposition": disposition},
        )

    # --- control -------------------------------------------------------------------------------

    async def _request(self, request: web.Request) -> web.Response:
        user, namespace, name = await self._allowed(request, "patch")
        try:
            body = await request.json()
            action = Action(str(body.get("action")))
        except (ValueError, AttributeError):
            choices = ", ".join(a.value for a in Action)
            raise web.HTTPBadRequest(
                text=json.dumps({"error": f"action: expected one of {choices}"}),
                content_type="application/json",
            ) from None
        try:
            sent = await requests.send(self.kube, namespace, name, action, by=user.name)
        except requests.RefusedError as error:
            raise web.HTTPConflict(
                text=json.dumps({"error": str(error)}), content_type="application/json"
            ) from None
        except errors.NotFoundError:
            raise web.HTTPNotFound() from None
        logger.info(
            "dashboard: %s of %s.%s requested by %s", action.value, name, namespace, user.name
        )
        return web.json_response(
            {"id": sent.id, "action": action.value, "by": user.name}, status=202
        )


def _actions(canary: Canary) -> list[str]:
    """The buttons that make sense for the Canary now."""
    return [a.value for a in Action if manual.refusal(canary.status, a) is None]


def _runs(history: History | None) -> list[dict[str, Any]]:
    if history is None:
        return []
    return [
        {
            "index": index + 1,
            "revision": run.revision,
            "started": run.started,
            "ended": run.ended,
            "outcome": run.outcome,
            "requests": [r.dump() for r in run.requests],
        }
        for index, run in enumerate(history.runs)
    ]
