"""Session affinity: the cookies that keep a client on the side that first served it.

Flagger's Istio and Gateway API routers pin clients by cookie (``analysis.sessionAffinity``),
and so do serinus's. While the canary has traffic, the weighted route's canary backend answers
with ``Set-Cookie: <cookieName>=<token>; Max-Age=<maxAge>...`` and a route before it sends every
request carrying that cookie to the canary; with a ``primaryCookieName``, the primary backend
sets its own cookie (for one analysis interval) and a second route keeps those clients on the
primary. Once the canary has no traffic (the run ended), a route answers requests that still
carry the run's canary cookie with that cookie expired (``Max-Age=-1``), so they do not stay
pinned to a canary that is gone. Routes match a cookie with the regular expression
``.*<name>.*<token>.*``, as Flagger's do.

The cookies live in the Canary's status (``sessionAffinityCookie``,
``primarySessionAffinityCookie``, ``previousSessionAffinityCookie``, Flagger's fields), written by
the controller when a run starts and ends. Their tokens are derived from the run (the Canary's
uid, the revision and the run's start time, :meth:`serinus.apis.canary.Canary.session_cookies`),
so a router asked to write routes before the status holds them writes the cookies the status
will hold.

:func:`sticky_routes` puts the cookie routes and the weighted one in order; each router says, as a
:class:`CookieRoutes`, how its API spells a cookie condition, a route to one side and a Set-Cookie.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from serinus.apis.analysis import SessionAffinity
from serinus.apis.base import Manifest, parse_duration
from serinus.apis.canary import Canary
from serinus.apis.status import CanaryStatus
from serinus.ports import Routes
from serinus.routers.names import ServiceNames

COOKIE_HEADER = "Cookie"
SET_COOKIE_HEADER = "Set-Cookie"


@dataclasses.dataclass(frozen=True)
class Cookies:
    """The cookies the routes of one write use."""

    affinity: SessionAffinity
    canary: str | None = None
    """``name=token`` the canary sets while it has traffic."""
    primary: str | None = None
    """``name=token`` the primary sets while the canary has traffic (``primaryCookieName``)."""
    expire: str | None = None
    """``name=token`` of the run that ended, answered expired while the canary has no traffic."""
    interval_seconds: int = 60

    @property
    def canary_set_cookie(self) -> str:
        max_age = self.affinity.max_age or 86400
        return self.affinity.set_cookie(self.canary or "", max_age)

    @property
    def primary_set_cookie(self) -> str:
        return self.affinity.set_cookie(self.primary or "", self.interval_seconds)

    @property
    def expired_set_cookie(self) -> str:
        return f"{self.expire}; Max-Age=-1"


def applies(canary: Canary) -> bool:
    """Whether the Canary's routes pin clients: session affinity without A/B testing, whose
    routes take precedence (as in Flagger)."""
    analysis = canary.spec.effective_analysis
    return analysis is not None and analysis.session_affinity is not None and not analysis.match


def cookies(canary: Canary, routes: Routes) -> Cookies | None:
    """The cookies for ``routes``; None when session affinity does not apply."""
    analysis = canary.spec.effective_analysis
    if analysis is None or analysis.session_affinity is None or not applies(canary):
        return None
    affinity = analysis.session_affinity
    status = canary.status or CanaryStatus()
    interval = int(parse_duration(analysis.interval)) if analysis.interval else 60
    if routes.canary <= 0:
        expire = status.session_affinity_cookie or status.previous_session_affinity_cookie
        return Cookies(affinity, expire=expire, interval_seconds=interval)
    derived = canary.session_cookies() or ("", None)
    primary = None
    if affinity.primary_cookie_name:
        primary = status.primary_session_affinity_cookie or derived[1]
    return Cookies(
        affinity,
        canary=status.session_affinity_cookie or derived[0],
        primary=primary,
        interval_seconds=interval,
    )


def match_regex(cookie: str) -> str:
    """The regular expression a route matches the ``Cookie`` header with (Flagger's)."""
    name, _, token = cookie.partition("=")
    return f".*{name}.*{token}.*"


class CookieRoutes(Protocol):
    """How one router's API spells the pieces of the cookie routes (an HTTPRoute's rules, a
    VirtualService's HTTP routes)."""

    def on_cookie(self, route: Manifest, cookie: str) -> Manifest:
        """A copy of ``route`` for the requests that carry ``cookie`` (``name=token``)."""
        ...

    def pinned(self, route: Manifest, *, canary: int) -> Manifest:
        """A copy of ``route`` sending ``canary`` percent to the canary, the rest to the primary."""
        ...

    def answering(self, route: Manifest, set_cookie: str) -> Manifest:
        """A copy of ``route`` whose responses carry ``Set-Cookie: <set_cookie>``."""
        ...

    def set_cookie(self, route: Manifest, backend: str, set_cookie: str) -> None:
        """Make the responses of ``route``'s backend ``backend`` carry ``set_cookie``, in place."""
        ...


def sticky_routes(
    cookies: Cookies, weighted: Manifest, api: CookieRoutes, names: ServiceNames
) -> list[Manifest]:
    """The cookie routes, then ``weighted`` (last, where the weights are read back from), which
    gets its backends' Set-Cookie answers in place (see the module docstring)."""
    if cookies.canary is None:
        if cookies.expire is None:
            return [weighted]
        expired = api.on_cookie(weighted, cookies.expire)
        return [api.answering(expired, cookies.expired_set_cookie), weighted]
    sticky = [api.pinned(api.on_cookie(weighted, cookies.canary), canary=100)]
    api.set_cookie(weighted, names.canary, cookies.canary_set_cookie)
    if cookies.primary is not None:
        sticky.append(api.pinned(api.on_cookie(weighted, cookies.primary), canary=0))
        api.set_cookie(weighted, names.primary, cookies.primary_set_cookie)
    return [*sticky, weighted]
