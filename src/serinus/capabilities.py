"""What a router can do with traffic, and what a Canary asks of it in vain.

Meshes and ingresses move traffic differently, and nothing above the routers may guess from a
provider's name. A router says what it can do for a Canary as :class:`Capabilities` (for a
Canary: Istio routes a TCP service by weight only):

* ``weights``: it splits traffic by weight between primary and canary. Without (the
  ``kubernetes`` provider, whose only switch is the apex Service's selector) every release runs
  as blue/green and traffic moves only at promotion, as in Flagger;
* ``matching``: it routes requests by their content for A/B testing (``analysis.match``, written
  in Istio's HTTPMatchRequest shape whatever the provider); :class:`Matching` says which fields,
  which kinds of string match and how many header and cookie conditions it can express;
* ``mirroring``: it copies requests to the canary (``analysis.mirror``);
* ``session_affinity``: it pins a client to the canary with a cookie (``analysis.sessionAffinity``).

:func:`refusals` holds a Canary against them and names every field the Canary asks for in vain.
The operator shows them on the Canary before any tick acts on it and ``serinus validate`` prints
them, so no router has to refuse on every tick. A router without weights is held to ``match``
and ``mirror`` too: Flagger quietly runs such a Canary as plain blue/green, where serinus names the
field and the provider, since the A/B test or the mirror the user asked for would never happen.

One value fits each router Flagger has: Istio (anything; mirrors), Gateway API (uri, headers,
query parameters, method; mirrors), NGINX (one header and one cookie by name), Contour (headers,
no regular expressions), App Mesh (one header), Gloo (headers), SMI, Kuma, Traefik, Skipper,
Apisix and Knative (weights only), kubernetes (no weights).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from serinus.apis.canary import Canary

STRING_KINDS = frozenset({"exact", "prefix", "suffix", "regex"})
"""How an Istio StringMatch compares; a condition is ``{<kind>: <text>}``."""
MAP_FIELDS = frozenset({"headers", "queryParams", "withoutHeaders"})
"""Fields of a match request that map names to string matches."""
COOKIE = "cookie"


@dataclasses.dataclass(frozen=True)
class Matching:
    """Which A/B conditions a router can express (see the module docstring)."""

    label: str
    """How messages name the router's matching: ``Gateway API``, ``NGINX``."""
    fields: Mapping[str, frozenset[str]] | None = None
    """Each field of a match request it can use, with the string match kinds it takes there;
    None: every field of Istio's HTTPMatchRequest, as written."""
    headers: int | None = None
    """How many different header conditions it takes in all (a cookie aside); None: any."""
    cookie: frozenset[str] | None = None
    """When set, a ``cookie`` header condition is a cookie of its own (NGINX's
    ``canary-by-cookie``): one at most, compared by these kinds. None: a header like another."""

    def problems(self, matches: Sequence[Mapping[str, Any]], *, field: str) -> list[str]:
        """What of ``matches`` the router cannot express, each naming its field."""
        found: list[str] = []
        seen = _Seen()
        for index, match in enumerate(matches):
            at = f"{field}[{index}]"
            for name, condition in match.items():
                if name == "name" or self.fields is None:
                    continue
                if name not in self.fields:
                    found.append(
                        f"{at}.{name}: {self.label} matches on {', '.join(self.fields)} only, "
                        f"found {name}"
                    )
                elif name in MAP_FIELDS:
                    found += self._named(condition, self.fields[name], f"{at}.{name}", seen)
                else:
                    found += self._kind(condition, self.fields[name], f"{at}.{name}")
        return found

    def _named(self, conditions: Any, kinds: frozenset[str], at: str, seen: _Seen) -> list[str]:
        """Problems of a map of name to string match (``headers``, ``queryParams``)."""
        if not isinstance(conditions, dict):
            return [f"{at}: expected a map of name to match, found {conditions!r}"]
        found: list[str] = []
        header = at.endswith(".headers")
        for name, condition in conditions.items():
            where = f"{at}.{name}"
            cookie = header and self.cookie is not None and name.lower() == COOKIE
            problems = self._kind(condition, (self.cookie or kinds) if cookie else kinds, where)
            if problems:
                found += problems
                continue
            if cookie:
                too_many = seen.cookie(condition) > 1
            else:
                too_many = header and self._too_many(seen.header(name, condition))
            if too_many:
                found.append(
                    f"{where}: {self.label} matches {self._limits()} only, found a second one"
                )
        return found

    def _kind(self, condition: Any, kinds: frozenset[str], where: str) -> list[str]:
        if not (isinstance(condition, dict) and len(condition) == 1):
            return [f"{where}: {_EXPECTED}, found {condition!r}"]
        ((kind, text),) = condition.items()
        if kind not in STRING_KINDS or not isinstance(text, str):
            return [f"{where}: {_EXPECTED}, found {condition!r}"]
        if kind not in kinds:
            allowed = [k for k in ("exact", "prefix", "suffix", "regex") if k in kinds]
            words = " or ".join([", ".join(allowed[:-1]), allowed[-1]] if allowed[1:] else allowed)
            return [f"{where}: {self.label} matches it by {words} only, found {kind}"]
        return []

    def _too_many(self, headers: int) -> bool:
        return self.headers is not None and headers > self.headers

    def _limits(self) -> str:
        headers = "any headers" if self.headers is None else _count(self.headers, "header")
        return f"on {headers}{' and one cookie' if self.cookie is not None else ''}"


_EXPECTED = "expected one of exact, prefix, suffix or regex with a text"


def _count(number: int, thing: str) -> str:
    words = {1: "one", 2: "two", 3: "three"}
    return f"{words.get(number, str(number))} {thing}{'' if number == 1 else 's'}"


class _Seen:
    """The different header and cookie conditions met so far across the match requests."""

    def __init__(self) -> None:
        self._headers: set[tuple[str, str]] = set()
        self._cookies: set[str] = set()

    def header(self, name: str, condition: dict[str, str]) -> int:
        self._headers.add((name.lower(), repr(sorted(condition.items()))))
        return len(self._headers)

    def cookie(self, condition: dict[str, str]) -> int:
        self._cookies.add(repr(sorted(condition.items())))
        return len(self._cookies)


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What a router can do with the traffic of one Canary (see the module docstring)."""

    weights: bool = True
    matching: Matching | None = None
    mirroring: bool = False
    session_affinity: bool = False
    limitation: str = ""
    """What the router does instead, when it does less for this Canary than for others (``routes
    spec.service.appProtocol tcp by weight only``); the refusals say it."""


Able = Mapping[str, Sequence[str]]
"""For ``matching``, ``mirroring`` and ``session affinity``: the providers that can, by name."""


def refusals(canary: Canary, capabilities: Capabilities, *, provider: str, able: Able) -> list[str]:
    """What ``canary`` asks of ``provider``'s router that it cannot do, each naming the field.

    Args:
        able: which providers could, to name them in the messages.
    """
    analysis = canary.spec.effective_analysis
    if analysis is None:
        return []
    found: list[str] = []
    if analysis.match:
        if capabilities.matching is None:
            found.append(
                "spec.analysis.match: A/B testing needs a provider that matches requests "
                f"({_names(able, 'matching')}), found provider {provider}, which "
                f"{capabilities.limitation or 'splits traffic by weight only'}"
            )
        else:
            found += capabilities.matching.problems(analysis.match, field="spec.analysis.match")
    if analysis.mirror and not capabilities.mirroring:
        found.append(
            "spec.analysis.mirror: traffic mirroring needs a provider that mirrors requests "
            f"({_names(able, 'mirroring')}), found provider {provider}, which "
            f"{capabilities.limitation or 'cannot mirror'}"
        )
    if analysis.session_affinity is not None and not capabilities.session_affinity:
        if able.get("session affinity"):
            found.append(
                "spec.analysis.sessionAffinity: session affinity needs a provider that pins "
                f"clients by cookie ({_names(able, 'session affinity')}), found provider "
                f"{provider}"
            )
        else:
            found.append(
                f"spec.analysis.sessionAffinity: not supported by serinus's {provider} router yet"
            )
    return found


def always(capabilities: Capabilities) -> Callable[[Canary], Capabilities]:
    """The capabilities of a router that can do the same for every Canary."""

    def same(canary: Canary) -> Capabilities:
        return capabilities

    return same


def _names(able: Able, what: str) -> str:
    return ", ".join(able.get(what) or ()) or "none of serinus's providers yet"
