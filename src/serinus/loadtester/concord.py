"""``type: concord``: start a process on a Concord server and wait for it to end, as Flagger does.

The metadata Flagger's load tester reads: ``server`` (the Concord base URL), ``org``,
``project``, ``repo``, ``entrypoint``, ``apiKeyPath`` (a file on the load tester, such as a mounted
Secret, that holds the API key), ``endpoint`` (handed to the flow as ``arguments.endpoint``),
``pollInterval`` and ``pollTimeout`` (whole seconds, 5 and 30 when unset), and any
``arguments.<name>`` entries. The exchange, with the key sent as the ``Authorization`` header on
every request:

1. ``POST <server>/api/v1/process``, ``multipart/form-data`` with the fields ``org``, ``project``,
   ``repo``, ``entryPoint``, ``arguments.endpoint`` and every ``arguments.<name>``; the answer's
   ``instanceId`` names the process;
2. ``GET <server>/api/v1/process/<instanceId>`` every ``pollInterval`` seconds until ``status`` is
   ``FINISHED`` (passed) or ``FAILED``, ``CANCELLED`` or ``TIMED_OUT`` (failed), for at most
   ``pollTimeout`` seconds in all.

Differences from Flagger, on purpose: Flagger decodes any answer as JSON whatever its status and
keeps polling a process that was cancelled; here an answer other than 2xx fails the task with its
status and the start of its body, a cancelled or timed-out process fails it, and
``pollTimeout`` bounds the whole wait (in Flagger it restarts at every poll, so only the task
timeout ends a stuck process). The key file is read when the task runs, never at the request, so a
caller refused by the allow-list learns nothing about the load tester's files; the key never
appears in a log line or a response. Metadata that does not fit is a 400 naming the key.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shlex
import urllib.parse
from collections.abc import Mapping
from typing import Any

import httpx

from serinus import logs, outbound
from serinus.errors import InvalidCanaryError
from serinus.loadtester.payload import PayloadError, quote
from serinus.loadtester.process import Outcome

_log = logging.getLogger(__name__)

PROCESS_PATH = "/api/v1/process"
DEFAULT_POLL_INTERVAL = 5
DEFAULT_POLL_TIMEOUT = 30
REQUIRED = ("server", "org", "project", "repo", "entrypoint", "apiKeyPath", "endpoint")
ARGUMENT_PREFIX = "arguments."
FINISHED = "FINISHED"
FAILED = frozenset({"FAILED", "CANCELLED", "TIMED_OUT"})
REQUEST_SECONDS = 30.0


@dataclasses.dataclass(frozen=True)
class ConcordProcess:
    """One Concord process to start and follow, from a webhook's metadata."""

    canary: str
    server: str
    org: str
    project: str
    repo: str
    entrypoint: str
    api_key_path: str
    endpoint: str
    arguments: tuple[tuple[str, str], ...]
    poll_interval: float
    poll_timeout: float

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], *, canary: str) -> ConcordProcess:
        """Read and check Flagger's keys; PayloadError names the first one that is wrong."""
        for key in REQUIRED:
            if not metadata.get(key, "").strip():
                raise PayloadError(f"metadata.{key}: required with type concord")
        if f"{ARGUMENT_PREFIX}endpoint" in metadata:
            raise PayloadError(
                "metadata.arguments.endpoint: set `endpoint` instead (it is sent as "
                "arguments.endpoint)"
            )
        arguments = tuple(
            sorted(
                (key.removeprefix(ARGUMENT_PREFIX), value)
                for key, value in metadata.items()
                if key.startswith(ARGUMENT_PREFIX)
            )
        )
        return cls(
            canary=canary,
            server=_http_url(metadata["server"]),
            org=metadata["org"],
            project=metadata["project"],
            repo=metadata["repo"],
            entrypoint=metadata["entrypoint"],
            api_key_path=metadata["apiKeyPath"],
            endpoint=metadata["endpoint"],
            arguments=arguments,
            poll_interval=_seconds(metadata, "pollInterval", DEFAULT_POLL_INTERVAL),
            poll_timeout=_seconds(metadata, "pollTimeout", DEFAULT_POLL_TIMEOUT),
        )

    @property
    def line(self) -> str:
        """What logs show and ``--allow-command`` rules match (the key file's path, not the key)."""
        words = [
            "concord",
            f"server={self.server}",
            f"org={self.org}",
            f"project={self.project}",
            f"repo={self.repo}",
            f"entrypoint={self.entrypoint}",
            f"apiKeyPath={self.api_key_path}",
            f"endpoint={self.endpoint}",
            *(f"{ARGUMENT_PREFIX}{key}={value}" for key, value in self.arguments),
        ]
        return shlex.join(words)

    def fields(self) -> list[tuple[str, str]]:
        """The form fields of the start request, in Flagger's order."""
        return [
            ("org", self.org),
            ("project", self.project),
            ("repo", self.repo),
            ("entryPoint", self.entrypoint),
            (f"{ARGUMENT_PREFIX}endpoint", self.endpoint),
            *((f"{ARGUMENT_PREFIX}{key}", value) for key, value in self.arguments),
        ]

    async def run(self, http: httpx.AsyncClient, *, time_limit: float) -> Outcome:
        """Start the process and wait for its end; the outcome says how it went."""
        log = logs.CanaryLogger(_log, canary=self.canary)
        try:
            headers = {"Authorization": self._api_key()}
        except OSError as error:
            return Outcome.failed(f"cannot read the Concord API key (apiKeyPath): {error}")
        try:
            async with asyncio.timeout(min(time_limit, self.poll_timeout)):
                instance = await self._start(http, headers, log)
                return await self._wait(http, headers, instance, log)
        except TimeoutError:
            seconds = int(min(time_limit, self.poll_timeout))
            return Outcome.failed(
                f"concord process timed out, after {seconds} seconds", timed_out=True
            )
        except _Failure as failure:
            return Outcome.failed(str(failure))

    def _api_key(self) -> str:
        with open(self.api_key_path, encoding="utf-8") as stream:
            return stream.read(4096).strip()

    async def _start(
        self, http: httpx.AsyncClient, headers: dict[str, str], log: logs.CanaryLogger
    ) -> str:
        url = urllib.parse.urljoin(self.server, PROCESS_PATH)
        log.info("calling endpoint %s", url)
        files = [(name, (None, value.encode("utf-8"))) for name, value in self.fields()]
        answer = await _request(http, "POST", url, "start", headers=headers, files=files)
        instance = answer.get("instanceId")
        if not isinstance(instance, str) or not instance:
            raise _Failure("concord answered the start request without an instanceId")
        log.info("created process id [%s] OK status is %s", instance, answer.get("ok") is True)
        return instance

    async def _wait(
        self,
        http: httpx.AsyncClient,
        headers: dict[str, str],
        instance: str,
        log: logs.CanaryLogger,
    ) -> Outcome:
        url = urllib.parse.urljoin(self.server, f"{PROCESS_PATH}/{urllib.parse.quote(instance)}")
        while True:
            await asyncio.sleep(self.poll_interval)
            log.info("calling endpoint %s", url)
            status = (await _request(http, "GET", url, "status", headers=headers)).get("status")
            log.info("process id [%s] current status is %s", instance, status)
            if status == FINISHED:
                return Outcome.succeeded(f"concord process {instance} finished")
            if status in FAILED:
                raise _Failure(f"concord instanceID: {instance} failed ({status})")


class _Failure(Exception):
    """The Concord exchange went wrong; the message says how."""


async def _request(
    http: httpx.AsyncClient, method: str, url: str, what: str, **request: Any
) -> dict[str, Any]:
    """One request to Concord; its JSON object, or _Failure saying what went wrong."""
    try:
        response = await outbound.send(
            http, method, url, timeout_seconds=REQUEST_SECONDS, field="metadata.server", **request
        )
    except (outbound.NoAnswer, InvalidCanaryError) as error:
        raise _Failure(f"concord did not answer the {what} request: {error}") from None
    if not response.is_success:
        text = outbound.excerpt(response.text)
        raise _Failure(
            f"concord answered the {what} request with HTTP {response.status_code}: {text}"
        )
    try:
        document = response.json()
    except ValueError:
        raise _Failure(
            f"concord answered the {what} request with something other than JSON"
        ) from None
    if not isinstance(document, dict):
        raise _Failure(f"concord answered the {what} request with JSON that is not an object")
    return document


def _http_url(value: str) -> str:
    parts = urllib.parse.urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PayloadError(
            f"metadata.server: expected an http:// or https:// URL, got {quote(value)}"
        )
    return value.strip()


def _seconds(metadata: Mapping[str, str], key: str, default: int) -> float:
    text = metadata.get(key)
    if text is None:
        return float(default)
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= 86400:
        raise PayloadError(
            f"metadata.{key}: expected whole seconds from 1 to 86400, got {quote(text)}"
        )
    return float(text)
