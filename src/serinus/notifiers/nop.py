"""The notifier that sends nothing: what the operator uses when no alert channel is configured.

Flagger's ``NopNotifier``: an object that accepts every alert and drops it, so callers never
check for a missing notifier.
"""

from __future__ import annotations

from serinus.apis.analysis import Severity
from serinus.apis.canary import Canary


class NullNotifier:
    """Drops every alert; implements :class:`serinus.ports.Notifier`."""

    async def alert(
        self, canary: Canary, message: str, *, severity: Severity, details: bool = False
    ) -> None:
        return None
