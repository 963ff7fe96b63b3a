"""The machine's kubectl against a test API server: :class:`Kubectl`.

Each one points at one server's kubeconfig and keeps a private discovery cache: kubectl caches
discovery per host:port for six hours, and a cache left by an earlier server on a reused port
would point it at resources the new server does not serve.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import shutil
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Kubectl:
    """The machine's kubectl, pointed at one test server, with a private cache."""

    kubeconfig: pathlib.Path
    cache: pathlib.Path
    timeout: float = 30.0
    """Seconds a command may take before the test fails."""

    def _command(self, args: tuple[str, ...]) -> list[str]:
        binary = shutil.which("kubectl")
        assert binary is not None, "kubectl is not installed"
        return [binary, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache), *args]

    async def run(self, *args: str, stdin: str | None = None, check: bool = True) -> Result:
        process = await asyncio.create_subprocess_exec(
            *self._command(args),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "KUBECACHEDIR": str(self.cache)},
        )
        out, err = await asyncio.wait_for(
            process.communicate(stdin.encode() if stdin is not None else None),
            timeout=self.timeout,
        )
        result = Result(process.returncode or 0, out.decode(), err.decode())
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    async def apply(self, *documents: dict[str, Any], extra: tuple[str, ...] = ()) -> Result:
        return await self.run("apply", *extra, "-f", "-", stdin=yaml.safe_dump_all(documents))

    async def start(self, *args: str) -> asyncio.subprocess.Process:
        """A long-running kubectl (``get -w``) whose output lines the test reads."""
        return await asyncio.create_subprocess_exec(
            *self._command(args),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "KUBECACHEDIR": str(self.cache)},
        )
