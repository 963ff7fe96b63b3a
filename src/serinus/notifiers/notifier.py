"""The notifiers the controller is given: per-Canary AlertProviders, one fixed channel, or none.

Three classes implement :class:`serinus.ports.Notifier`:

* :class:`AlertNotifier`, the operator's notifier. For a Canary with ``analysis.alerts`` it posts to
  every AlertProvider whose severity admits the alert (:mod:`serinus.notifiers.routing`). For a
  Canary without, it hands the alert to the global notifier configured by the operator's flags
  (Flagger's ``-slack-url``, ``-slack-token``, ``-slack-channel``, ``-slack-user``,
  ``-slack-proxy-url``, ``-msteams-url``, ``-msteams-proxy-url``, ``-cluster-name``): Microsoft
  Teams when its URL is set, else Slack when a URL or token is set, else nothing at all.
* :class:`ChannelNotifier`, which posts every alert to one destination (the global one).
* :class:`NullNotifier` (in :mod:`serinus.notifiers.nop`), which drops every alert, so that "no
  notifier" is an object and never a None check.

All AlertProviders of an alert are tried even when one fails; then the failure is raised (several
failures are joined into one :class:`~serinus.errors.NotifierError`). Whether a gate's alert is
muted (``muteAlert``) is the controller's decision: it simply does not call :meth:`alert`.
"""

from __future__ import annotations

import httpx

from serinus.apis.analysis import Severity
from serinus.apis.canary import Canary
from serinus.errors import NotifierError, SerinusError
from serinus.notifiers import msteams, slack
from serinus.notifiers.base import DEFAULT_CHANNEL, DEFAULT_USERNAME, Destination, Format
from serinus.notifiers.delivery import Sender
from serinus.notifiers.nop import NullNotifier
from serinus.notifiers.routing import admits, resolve
from serinus.ports import Clock, Notifier, Resources


class ChannelNotifier:
    """Posts every alert to one destination; implements :class:`serinus.ports.Notifier`."""

    def __init__(
        self, sender: Sender, *, render: Format, destination: Destination, label: str
    ) -> None:
        self._sender = sender
        self._render = render
        self._destination = destination
        self.label = label

    async def alert(
        self, canary: Canary, message: str, *, severity: Severity, details: bool = False
    ) -> None:
        await self._sender.send(
            canary,
            message,
            severity=severity,
            details=details,
            render=self._render,
            destination=self._destination,
            label=self.label,
        )


class AlertNotifier:
    """Routes alerts to a Canary's AlertProviders, or to the global notifier.

    Implements :class:`serinus.ports.Notifier`. The keyword arguments after ``clock`` are the
    operator's global settings, as the CLI read them from its flags.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        resources: Resources,
        clock: Clock | None = None,
        cluster_name: str = "",
        slack_url: str = "",
        slack_token: str = "",
        slack_channel: str = DEFAULT_CHANNEL,
        slack_user: str = DEFAULT_USERNAME,
        slack_proxy_url: str = "",
        msteams_url: str = "",
        msteams_proxy_url: str = "",
    ) -> None:
        self._resources = resources
        self._sender = Sender(client, clock=clock, cluster_name=cluster_name)
        self.fallback: Notifier = NullNotifier()
        """The global notifier, used for Canaries without analysis.alerts."""
        if msteams_url:
            self.fallback = ChannelNotifier(
                self._sender,
                render=msteams.render,
                destination=Destination(address=msteams_url, proxy=msteams_proxy_url or None),
                label="global msteams notifier",
            )
        elif slack_url or slack_token:
            destination = Destination(
                address=slack_url,
                channel=slack_channel or DEFAULT_CHANNEL,
                username=slack_user or DEFAULT_USERNAME,
                token=slack_token or None,
                proxy=slack_proxy_url or None,
            )
            self.fallback = ChannelNotifier(
                self._sender,
                render=slack.render,
                destination=destination,
                label="global slack notifier",
            )

    async def alert(
        self, canary: Canary, message: str, *, severity: Severity, details: bool = False
    ) -> None:
        """Deliver to every admitting AlertProvider (or the global notifier); raise on failure."""
        analysis = canary.spec.effective_analysis
        entries = analysis.alerts if analysis is not None else None
        if not entries:
            await self.fallback.alert(canary, message, severity=severity, details=details)
            return
        failures: list[SerinusError] = []
        for entry in entries:
            if not admits(entry.severity, severity):
                continue
            try:
                route = await resolve(self._resources, canary, entry)
                await self._sender.send(
                    canary,
                    message,
                    severity=severity,
                    details=details,
                    render=route.render,
                    destination=route.destination,
                    label=route.label,
                )
            except SerinusError as error:
                failures.append(error)
        _raise_failures(failures)

    async def aclose(self) -> None:
        """Close the HTTP clients made for proxies."""
        await self._sender.aclose()


def _raise_failures(failures: list[SerinusError]) -> None:
    if len(failures) == 1:
        raise failures[0]
    if failures:
        joined = "; ".join(str(failure) for failure in failures)
        raise NotifierError(f"{len(failures)} alert providers failed: {joined}") from failures[0]
