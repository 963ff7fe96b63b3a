"""The podinfo stand-in's routes (aiohttp), answering as podinfo's HTTP API does.

JSON replies are indented by two spaces with ``Content-Type: application/json; charset=utf-8`` and
``X-Content-Type-Options: nosniff``. An unknown path gets the plain-text ``404 page not found``
of Go's mux, a known path with the wrong method an empty 405. ``/status/{code}`` answers exactly
that code (200 to 599) with ``{"status": code}``; ``/delay/{seconds}`` sleeps whole seconds first.
The probes answer ``{"status": "OK"}`` or an empty 503, and ``POST /readyz/disable`` (``enable``)
flips readiness, which is how a test or a demo makes a pod fail its readiness probe on purpose.
"""

from __future__ import annotations

import asyncio
import datetime
import html
import json
from typing import Any

from aiohttp import web

from serinus.sandbox.podinfo import tokens
from serinus.sandbox.podinfo.info import Podinfo
from serinus.sandbox.podinfo.metrics import CONTENT_TYPE, Handler, Metrics


def json_response(body: Any, *, status: int = 200) -> web.Response:
    response = web.Response(
        status=status,
        body=json.dumps(body, indent=2).encode(),
        content_type="application/json",
        charset="utf-8",
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def error_response(code: int, message: str) -> web.Response:
    """podinfo's error body; like podinfo, it is sent with HTTP 200."""
    return json_response({"code": code, "message": message})


def _canonical(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


@web.middleware
async def mux_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Go mux's answers for unknown paths and wrong methods."""
    missing = request.match_info.http_exception
    if isinstance(missing, web.HTTPNotFound):
        return web.Response(status=404, text="404 page not found\n")
    if isinstance(missing, web.HTTPMethodNotAllowed):
        return web.Response(status=405)
    return await handler(request)


class PodinfoApi:
    """The route handlers and the mutable probe state of one app."""

    def __init__(self, settings: Podinfo, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.ready = settings.ready
        self.healthy = settings.healthy

    async def index(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("User-Agent", "").startswith("Mozilla"):
            return web.Response(text=self._page(), content_type="text/html", charset="utf-8")
        return await self.info(request)

    async def info(self, request: web.Request) -> web.StreamResponse:
        return json_response(self.settings.info(tasks=len(asyncio.all_tasks())))

    async def version(self, request: web.Request) -> web.StreamResponse:
        return json_response(self.settings.version_info())

    async def status(self, request: web.Request) -> web.StreamResponse:
        code = int(request.match_info["code"])
        if not 200 <= code <= 599:
            return error_response(400, f"status code {code} is not between 200 and 599")
        return json_response({"status": code}, status=code)

    async def delay(self, request: web.Request) -> web.StreamResponse:
        seconds = int(request.match_info["seconds"])
        await asyncio.sleep(seconds)
        return json_response({"delay": seconds})

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        return json_response({"status": "OK"}) if self.healthy else web.Response(status=503)

    async def readyz(self, request: web.Request) -> web.StreamResponse:
        return json_response({"status": "OK"}) if self.ready else web.Response(status=503)

    async def enable_ready(self, request: web.Request) -> web.StreamResponse:
        self.ready = True
        return web.Response(status=202)

    async def disable_ready(self, request: web.Request) -> web.StreamResponse:
        self.ready = False
        return web.Response(status=202)

    async def token(self, request: web.Request) -> web.StreamResponse:
        user = (await request.text()).strip() if request.method == "POST" else ""
        issued = tokens.issue(user or "anonymous", secret=self.settings.jwt_secret, now=_now())
        return json_response({"token": issued.token, "expires_at": _timestamp(issued)})

    async def validate_token(self, request: web.Request) -> web.StreamResponse:
        scheme, _, text = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not text:
            return error_response(401, "authorization bearer header required")
        try:
            found = tokens.validate(text.strip(), secret=self.settings.jwt_secret, now=_now())
        except tokens.TokenError as error:
            return error_response(401, f"invalid token: {error}")
        return json_response({"token_name": found.name, "expires_at": _timestamp(found)})

    async def env(self, request: web.Request) -> web.StreamResponse:
        pairs = sorted(f"{key}={value}" for key, value in self.settings.environment.items())
        return json_response(pairs)

    async def headers(self, request: web.Request) -> web.StreamResponse:
        found: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            found.setdefault(_canonical(name), []).append(value)
        found["X-Api-Version"] = [self.settings.bare_version]
        found["X-Api-Revision"] = [self.settings.revision]
        return json_response(found)

    async def prometheus(self, request: web.Request) -> web.StreamResponse:
        response = web.Response(body=self.metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    def _page(self) -> str:
        settings = self.settings
        color = html.escape(settings.ui_color())
        return (
            "<!DOCTYPE html><html><head><title>podinfo</title></head>"
            f'<body style="background:{color};color:white;font-family:sans-serif">'
            f"<h1>{html.escape(settings.ui_message())}</h1>"
            f"<p>{html.escape(settings.hostname)} v{html.escape(settings.bare_version)}</p>"
            "</body></html>"
        )


STATE_KEY = web.AppKey("podinfo", PodinfoApi)


def _now() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.UTC)


def _timestamp(token: tokens.Token) -> str:
    return token.expires_at.isoformat().replace("+00:00", "Z")


def create_app(settings: Podinfo) -> web.Application:
    """The podinfo stand-in as an aiohttp application."""
    metrics = Metrics()
    api = PodinfoApi(settings, metrics)
    app = web.Application(middlewares=[mux_errors, metrics.middleware])
    app[STATE_KEY] = api
    router = app.router
    router.add_get("/", api.index)
    router.add_get("/api/info", api.info)
    router.add_get("/version", api.version)
    status = router.add_resource(r"/status/{code:[0-9]+}", name="status")
    for method in ("GET", "POST", "PUT"):
        status.add_route(method, api.status)
    router.add_resource(r"/delay/{seconds:[0-9]+}", name="delay").add_route("GET", api.delay)
    router.add_get("/healthz", api.healthz)
    router.add_get("/readyz", api.readyz)
    router.add_post("/readyz/enable", api.enable_ready)
    router.add_post("/readyz/disable", api.disable_ready)
    router.add_route("GET", "/token", api.token)
    router.add_route("POST", "/token", api.token)
    router.add_get("/token/validate", api.validate_token)
    for method in ("GET", "POST"):
        router.add_route(method, "/env", api.env)
        router.add_route(method, "/headers", api.headers)
    router.add_get("/metrics", api.prometheus)
    return app
