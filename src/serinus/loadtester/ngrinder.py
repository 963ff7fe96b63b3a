"""``type: ngrinder``: clone an nGrinder performance test, start it and follow it, as Flagger does.

The metadata Flagger's load tester reads: ``server`` (the nGrinder controller's base URL),
``clone`` (the id of an existing test to copy), ``username`` and ``passwd`` (base64, for HTTP basic
authentication) and ``pollInterval`` (a duration, 1s when unset). The task runs in the background
(202 at once), one at a time per namespace and line, like ``cmd``, so posting it every analysis
interval keeps exactly one test going. Against the controller, with basic authentication:

1. ``POST <server>/perftest/api/<clone>/clone_and_start`` (no body); the answer's ``id`` is the new
   test, and an answer with ``"success": false`` is a failure;
2. ``GET <server>/perftest/api/<id>/status`` every ``pollInterval``, until ``status[0].status_id``
   is ``FINISHED`` (passed) or ``STOP_BY_ERROR``, ``CANCELED`` or ``UNKNOWN`` (failed); a poll that
   fails is tried again at the next interval;
3. when the task's time limit (``--timeout``) runs out first: ``PUT
   <server>/perftest/api/<id>?action=stop``, and the task fails.

The paths are relative, as in Flagger: a ``server`` of ``http://ngrinder:8080/ngrinder/`` puts the
API under ``/ngrinder/``. The password is never logged or shown; the task's line (what logs show and
``--allow-command`` rules match) is ``ngrinder server=<server> clone=<id> username=<user>``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import logging
import shlex
import urllib.parse
from collections.abc import Mapping
from typing import Any

import httpx

from serinus import logs, outbound
from serinus.apis.base import parse_duration
from serinus.errors import InvalidCanaryError
from serinus.loadtester.payload import PayloadError, quote
from serinus.loadtester.process import Outcome

_log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 1.0
FINISHED = "FINISHED"
FAILED = frozenset({"STOP_BY_ERROR", "CANCELED", "UNKNOWN"})
STOP_SECONDS = 10.0
"""How long the stop request after a timeout may take."""
REQUEST_SECONDS = 30.0


@dataclasses.dataclass(frozen=True)
class NGrinderTest:
    """One nGrinder test to clone, start and follow, from a webhook's metadata."""

    canary: str
    server: str
    clone: int
    username: str
    password: str = dataclasses.field(repr=False)
    poll_interval: float = DEFAULT_POLL_INTERVAL

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], *, canary: str) -> NGrinderTest:
        """Read and check Flagger's keys; PayloadError names the one that is wrong."""
        if not all(metadata.get(key) for key in ("server", "clone", "username", "passwd")):
            raise PayloadError("server, clone, username and passwd are required metadata")
        server = metadata["server"].strip()
        parts = urllib.parse.urlsplit(server)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PayloadError(
                f"metadata.server: expected an http:// or https:// URL, got {quote(server)}"
            )
        clone = metadata["clone"]
        if not clone.isascii() or not clone.isdigit():
            raise PayloadError(f"metadata.clone: expected the id of a test, got {quote(clone)}")
        try:
            password = base64.b64decode(metadata["passwd"], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise PayloadError("metadata.passwd: expected the password in base64") from None
        return cls(
            canary=canary,
            server=server,
            clone=int(clone),
            username=metadata["username"],
            password=password,
            poll_interval=_interval(metadata.get("pollInterval")),
        )

    @property
    def line(self) -> str:
        """What logs show and ``--allow-command`` rules match (never the password)."""
        words = [
            "ngrinder",
            f"server={self.server}",
            f"clone={self.clone}",
            f"username={self.username}",
        ]
        return shlex.join(words)

    def url(self, path: str) -> str:
        """``path`` (relative) under the server's base URL, as Go's ResolveReference makes it."""
        return urllib.parse.urljoin(self.server, path)

    async def run(self, http: httpx.AsyncClient, *, time_limit: float) -> Outcome:
        """Clone and start the test, then follow it until it ends or ``time_limit`` passes."""
        log = logs.CanaryLogger(_log, canary=self.canary)
        auth = httpx.BasicAuth(self.username, self.password)
        start_url = self.url(f"perftest/api/{self.clone}/clone_and_start")
        test_id: int | None = None
        try:
            async with asyncio.timeout(time_limit):
                try:
                    answer = await _request(http, "POST", start_url, auth)
                    test_id = _test_id(answer)
                except _Failure as failure:
                    log.error("failed to clone and start ngrinder test %s: %s", start_url, failure)
                    return Outcome.failed(f"ngrinder: {failure}")
                log.info("ngrinder test %d started from test %d", test_id, self.clone)
                return await self._follow(http, auth, test_id, log)
        except TimeoutError:
            if test_id is not None:
                log.warning("timed out, stopping ngrinder test %d", test_id)
                await self._stop(http, auth, test_id)
            return Outcome.failed(
                f"ngrinder test timed out after {time_limit:g}s and was stopped", timed_out=True
            )

    async def _follow(
        self, http: httpx.AsyncClient, auth: httpx.BasicAuth, test_id: int, log: logs.CanaryLogger
    ) -> Outcome:
        status_url = self.url(f"perftest/api/{test_id}/status")
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                status = _status(await _request(http, "GET", status_url, auth))
            except _Failure as failure:
                log.debug("status of ngrinder test %d unknown: %s", test_id, failure)
                continue
            log.debug("status of ngrinder task %d is %s", test_id, status)
            if status == FINISHED:
                log.info("ngrinder test %d finished", test_id)
                return Outcome.succeeded(f"ngrinder test {test_id} finished")
            if status in FAILED:
                return Outcome.failed(f"ngrinder test {test_id} ended with {status}")

    async def _stop(self, http: httpx.AsyncClient, auth: httpx.BasicAuth, test_id: int) -> None:
        with contextlib.suppress(_Failure, TimeoutError):
            async with asyncio.timeout(STOP_SECONDS):
                await _request(http, "PUT", self.url(f"perftest/api/{test_id}?action=stop"), auth)


class _Failure(Exception):
    """A request to nGrinder went wrong; the message says how."""


async def _request(
    http: httpx.AsyncClient, method: str, url: str, auth: httpx.BasicAuth
) -> dict[str, Any]:
    try:
        response = await outbound.send(
            http, method, url, timeout_seconds=REQUEST_SECONDS, field="metadata.server", auth=auth
        )
    except (outbound.NoAnswer, InvalidCanaryError) as error:
        raise _Failure(f"{method} {url}: no answer: {error}") from None
    text = outbound.excerpt(response.text)
    if not response.is_success:
        raise _Failure(f"{method} {url} answered HTTP {response.status_code}: {text}")
    try:
        document = response.json()
    except ValueError:
        raise _Failure(f"{method} {url} answered something other than JSON: {text}") from None
    if not isinstance(document, dict):
        raise _Failure(f"{method} {url} answered JSON that is not an object: {text}")
    if document.get("success") is False:
        raise _Failure(f"{method} {url} answered success false: {text}")
    return document


def _test_id(answer: dict[str, Any]) -> int:
    test_id = answer.get("id")
    if isinstance(test_id, bool) or not isinstance(test_id, int | float):
        raise _Failure("the clone_and_start answer has no numeric id")
    return int(test_id)


def _status(answer: dict[str, Any]) -> str:
    statuses = answer.get("status")
    if not isinstance(statuses, list) or not statuses or not isinstance(statuses[0], dict):
        raise _Failure("the status answer has no status list")
    return str(statuses[0].get("status_id", ""))


def _interval(text: str | None) -> float:
    if not text:
        return DEFAULT_POLL_INTERVAL
    try:
        seconds = parse_duration(text)
    except ValueError:
        raise PayloadError(
            f"metadata.pollInterval: expected a duration such as 5s, got {quote(text)}"
        ) from None
    if not 0 < seconds <= 3600:
        raise PayloadError(f"metadata.pollInterval: expected 1ms to 1h, got {quote(text)}")
    return seconds
