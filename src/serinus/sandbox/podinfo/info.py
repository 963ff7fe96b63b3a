"""What the podinfo stand-in is configured with, and the info JSON it answers on ``/``.

Real podinfo's defaults changed across major versions and users see them in the JSON: the UI
colour was ``blue`` in 1.x and 2.x, ``cyan`` in 3.x and ``#34577c`` from 4.x; the ``logo`` field
appeared in 3.1. The stand-in picks them from ``--version`` so that a Deployment of
``stefanprodan/podinfo:2.1.0`` answers like 2.1.0 did. The CLI builds :class:`Podinfo` from its
flags and ``PODINFO_*`` variables (only the CLI reads the environment).
"""

from __future__ import annotations

import dataclasses
import os
import platform
import re
import sys
from collections.abc import Mapping
from typing import Any

_LOGO = "https://raw.githubusercontent.com/stefanprodan/podinfo/gh-pages/cuddle_clap.gif"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


@dataclasses.dataclass(frozen=True)
class Podinfo:
    """The settings of one podinfo stand-in process."""

    version: str = "6.0.0"
    """The version it reports (the image tag), with or without a leading ``v``."""
    revision: str = "unknown"
    """The commit it reports (real podinfo's build revision)."""
    hostname: str = "podinfo"
    """The ``hostname`` field: the pod name in a cluster."""
    color: str | None = None
    """UI colour; None picks the version's default."""
    message: str | None = None
    """UI message; None gives ``greetings from podinfo v<version>``."""
    logo: str | None = None
    """UI logo URL (3.1 and later report it); None gives podinfo's default."""
    environment: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """What ``/env`` lists (the process environment, passed in by the CLI)."""
    jwt_secret: str = "podinfo"
    """The HS256 key of ``/token``."""
    ready: bool = True
    """Readiness at start (``--unready`` starts not ready)."""
    healthy: bool = True
    """Liveness at start (``--unhealthy`` starts unhealthy)."""

    @property
    def bare_version(self) -> str:
        return self.version[1:] if self.version.startswith("v") else self.version

    @property
    def major_minor(self) -> tuple[int, int]:
        """(major, minor) of the version; unparsable tags (``latest``) count as the newest."""
        found = re.match(r"(\d+)(?:\.(\d+))?", self.bare_version)
        if found is None:
            return (99, 0)
        return (int(found.group(1)), int(found.group(2) or 0))

    def ui_color(self) -> str:
        if self.color:
            return self.color
        major = self.major_minor[0]
        if major <= 2:
            return "blue"
        return "cyan" if major == 3 else "#34577c"

    def ui_message(self) -> str:
        return self.message or f"greetings from podinfo v{self.bare_version}"

    def info(self, *, tasks: int) -> dict[str, Any]:
        """The info JSON of ``/`` and ``/api/info``, fields in podinfo's order."""
        body: dict[str, Any] = {
            "hostname": self.hostname,
            "version": self.bare_version,
            "revision": self.revision,
            "color": self.ui_color(),
        }
        if self.major_minor >= (3, 1):
            body["logo"] = self.logo or _LOGO
        body.update(
            {
                "message": self.ui_message(),
                "goos": sys.platform,
                "goarch": _ARCH.get(platform.machine(), platform.machine()),
                "runtime": f"python{platform.python_version()}",
                "num_goroutine": str(tasks),
                "num_cpu": str(os.cpu_count() or 1),
            }
        )
        return body

    def version_info(self) -> dict[str, str]:
        """The ``/version`` JSON (keys sorted, as Go's map encoding gives them)."""
        return {"commit": self.revision, "version": self.bare_version}
