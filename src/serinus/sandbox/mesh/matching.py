"""Gateway API request matching: which HTTPRoute rule a request belongs to.

An HTTPRoute rule holds matches (path, method, headers, query parameters; all of one match must
hold, any match of a rule may); a request goes to the rule of the most specific match among every
route attached to the Service port. Specificity follows the Gateway API precedence, in order: an
exact path over a prefix, the longer prefix, a method match, more header matches, more query
matches; ties go to the older route, then to the route's ``namespace/name`` alphabetically, then
to rule order. That is what makes Flagger's A/B routes work: the rule with the ``x-canary`` header
match outranks the catch-all rule to the primary with the same ``/`` prefix.

Regular expressions (paths, headers, query values) use Python's ``re`` with search semantics,
so anchors in the pattern are honoured and an unanchored pattern matches anywhere, as Linkerd's
Rust regex ``is_match`` does.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Literal, Protocol

PathType = Literal["Exact", "PathPrefix", "RegularExpression"]
_PATH_RANK: dict[str, int] = {"Exact": 3, "PathPrefix": 2, "RegularExpression": 1}


class RequestView(Protocol):
    """What matching reads from a request (aiohttp's ``web.BaseRequest`` fits)."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def query(self) -> Mapping[str, str]: ...


@dataclasses.dataclass(frozen=True)
class ValueMatch:
    """One header or query parameter condition: the named value equals, or matches a regex."""

    name: str
    value: str
    regex: bool = False

    def test(self, actual: str | None) -> bool:
        if actual is None:
            return False
        if self.regex:
            return re.search(self.value, actual) is not None
        return actual == self.value


@dataclasses.dataclass(frozen=True)
class Match:
    """One entry of an HTTPRoute rule's ``matches``; every condition must hold."""

    path_type: PathType = "PathPrefix"
    path: str = "/"
    method: str | None = None
    headers: tuple[ValueMatch, ...] = ()
    query: tuple[ValueMatch, ...] = ()

    def test(self, request: RequestView) -> bool:
        """Whether ``request`` satisfies every condition of this match."""
        if self.method is not None and request.method.upper() != self.method:
            return False
        if not self._path_matches(request.path):
            return False
        if not all(match.test(request.headers.get(match.name)) for match in self.headers):
            return False
        return all(match.test(request.query.get(match.name)) for match in self.query)

    def _path_matches(self, path: str) -> bool:
        if self.path_type == "Exact":
            return path == self.path
        if self.path_type == "RegularExpression":
            return re.search(self.path, path) is not None
        prefix = self.path.rstrip("/")
        return not prefix or path == prefix or path.startswith(prefix + "/")

    def specificity(self) -> tuple[int, int, int, int, int]:
        """Higher sorts first: path kind, prefix length, method, header and query counts."""
        return (
            _PATH_RANK[self.path_type],
            len(self.path.rstrip("/")) if self.path_type == "PathPrefix" else 0,
            1 if self.method is not None else 0,
            len(self.headers),
            len(self.query),
        )


def check_regex(pattern: str, *, field: str) -> str:
    """``pattern`` if it compiles, else a :class:`ValueError` naming ``field``."""
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"{field}: invalid regular expression {pattern!r}: {error}") from None
    return pattern
