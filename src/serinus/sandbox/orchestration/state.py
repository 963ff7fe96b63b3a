"""What a running sandbox is made of: ``<dir>/state.json``, written by ``up``, read by the rest.

``serinus sandbox up`` records every part it starts (its pid, which is also its process group,
the command, the log file, and the address and port it serves) as soon as the part is started,
so that ``serinus sandbox down`` can stop a sandbox whose start-up failed half-way, and
``serinus sandbox status`` can say what runs and where without asking anything but the kernel
and the parts themselves. The file is replaced atomically at every write, so a reader never sees
half of it.

Every process of a sandbox, pods and their children included, carries the environment variable
:data:`MARKER` set to the sandbox directory; ``down`` finds stragglers by it (see
:mod:`processes`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import tempfile
from typing import Any

from serinus.errors import SerinusError

STATE_FILE = "state.json"
MARKER = "SERINUS_SANDBOX"
"""Environment variable set to the sandbox directory in every process of a sandbox."""
FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Part:
    """One process started by ``up`` (in its own session: its pid is its process group)."""

    name: str
    pid: int
    command: tuple[str, ...]
    log: str
    address: str = ""
    port: int = 0
    url: str = ""
    restarts: int = 0
    """How many times the supervisor started it again."""
    last_exit: str = ""
    """How its last run ended (``exit code 1``, ``signal SIGKILL``), when it was restarted."""
    last_exit_at: str = ""

    @property
    def endpoint(self) -> str:
        return self.url or (f"{self.address}:{self.port}" if self.port else "")


@dataclasses.dataclass
class SandboxState:
    """The sandbox in one directory: its settings and the parts started so far."""

    directory: pathlib.Path
    service_cidr: str
    started: str
    parts: dict[str, Part] = dataclasses.field(default_factory=dict)
    details: dict[str, str] = dataclasses.field(default_factory=dict)
    """What users need besides the parts: kubeconfig, Prometheus URL, ..."""
    supervisor: int = 0
    """The pid of the process restarting the parts (``up``, or its detached supervisor)."""

    @property
    def path(self) -> pathlib.Path:
        return self.directory / STATE_FILE

    @property
    def kubeconfig(self) -> pathlib.Path:
        return self.directory / "kubeconfig"

    @property
    def logs(self) -> pathlib.Path:
        return self.directory / "logs"

    def add(self, part: Part) -> None:
        self.parts[part.name] = part
        self.save()

    def save(self) -> None:
        document = {
            "format": FORMAT,
            "directory": str(self.directory),
            "service_cidr": self.service_cidr,
            "started": self.started,
            "parts": {name: dataclasses.asdict(part) for name, part in self.parts.items()},
            "details": self.details,
            "supervisor": self.supervisor,
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".state.", dir=self.directory)
        try:
            with os.fdopen(handle, "w") as out:
                json.dump(document, out, indent=2)
                out.write("\n")
            os.replace(temporary, self.path)
        except BaseException:
            pathlib.Path(temporary).unlink(missing_ok=True)
            raise


def load(directory: pathlib.Path) -> SandboxState | None:
    """The state recorded in ``directory``, or None when no sandbox was started there."""
    path = directory / STATE_FILE
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise SerinusError(f"{path}: not a sandbox state file ({error})") from None
    try:
        return _decode(directory, document)
    except (KeyError, TypeError, ValueError) as error:
        raise SerinusError(f"{path}: not a sandbox state file (bad field {error})") from None


def _decode(directory: pathlib.Path, document: dict[str, Any]) -> SandboxState:
    if document.get("format") != FORMAT:
        raise ValueError(f"format {document.get('format')!r}, expected {FORMAT}")
    parts = {
        name: Part(
            name=str(raw["name"]),
            pid=int(raw["pid"]),
            command=tuple(str(word) for word in raw["command"]),
            log=str(raw["log"]),
            address=str(raw.get("address", "")),
            port=int(raw.get("port", 0)),
            url=str(raw.get("url", "")),
            restarts=int(raw.get("restarts", 0)),
            last_exit=str(raw.get("last_exit", "")),
            last_exit_at=str(raw.get("last_exit_at", "")),
        )
        for name, raw in dict(document["parts"]).items()
    }
    return SandboxState(
        directory=directory,
        service_cidr=str(document["service_cidr"]),
        started=str(document["started"]),
        parts=parts,
        details={str(k): str(v) for k, v in dict(document.get("details") or {}).items()},
        supervisor=int(document.get("supervisor", 0)),
    )


def canonical(directory: pathlib.Path) -> pathlib.Path:
    """The absolute, symlink-free form of ``directory``: the one written into markers and files."""
    return pathlib.Path(os.path.realpath(directory))


def remove(directory: pathlib.Path) -> None:
    (directory / STATE_FILE).unlink(missing_ok=True)
