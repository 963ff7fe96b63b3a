"""Request match conditions, as Canaries write them (Istio's HTTPMatchRequest), for other meshes.

``spec.service.match`` and ``spec.analysis.match`` use Istio's shape whatever the provider::

    - headers: {x-canary: {exact: insider}, cookie: {regex: "^(.*?;)?(canary=always)(;.*)?$"}}
      queryParams: {beta: {exact: "1"}}
      uri: {prefix: /api}
      method: {exact: GET}

Istio takes them as they are; :func:`gateway_matches` turns them into Gateway API
``HTTPRouteMatch`` objects (the nginx router reads the headers itself). Gateway API has exact and
regular-expression header and query matches only, so a prefix becomes ``^<prefix>.*`` and a
suffix ``.*<suffix>$``, with the text escaped. What Gateway API cannot express at all
(``sourceLabels``, ``port``, a method by prefix, ...) is an InvalidCanaryError naming the field,
never a condition quietly dropped: a dropped condition would send every request to the canary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from serinus.apis.base import Manifest
from serinus.errors import InvalidCanaryError

_GATEWAY_FIELDS = ("uri", "headers", "queryParams", "method")
_PATH_TYPES = {"exact": "Exact", "prefix": "PathPrefix", "regex": "RegularExpression"}


def string_match(condition: Any, *, field: str) -> tuple[str, str]:
    """The kind (exact, prefix, suffix, regex) and text of one Istio StringMatch."""
    if not isinstance(condition, dict) or len(condition) != 1:
        raise InvalidCanaryError(
            f"{field}: expected one of exact, prefix, suffix or regex with a text, found "
            f"{condition!r}"
        )
    ((kind, text),) = condition.items()
    if kind not in ("exact", "prefix", "suffix", "regex") or not isinstance(text, str):
        raise InvalidCanaryError(
            f"{field}: expected one of exact, prefix, suffix or regex with a text, found "
            f"{condition!r}"
        )
    return kind, text


def as_regex(kind: str, text: str) -> str:
    """A prefix, suffix or exact match as a regular expression (a regex stays as written)."""
    if kind == "regex":
        return text
    escaped = re.escape(text)
    if kind == "prefix":
        return f"^{escaped}.*"
    if kind == "suffix":
        return f".*{escaped}$"
    return f"^{escaped}$"


def gateway_matches(matches: Iterable[Manifest] | None, *, field: str) -> list[Manifest]:
    """Istio-style match requests as Gateway API HTTPRouteMatch objects (empty ones dropped)."""
    found: list[Manifest] = []
    for index, match in enumerate(matches or []):
        at = f"{field}[{index}]"
        unknown = sorted(set(match) - {*_GATEWAY_FIELDS, "name"})
        if unknown:
            raise InvalidCanaryError(
                f"{at}.{unknown[0]}: Gateway API matches on {', '.join(_GATEWAY_FIELDS)} only, "
                f"found {unknown[0]}"
            )
        result: Manifest = {}
        if "uri" in match:
            result["path"] = _path(match["uri"], field=f"{at}.uri")
        if "method" in match:
            kind, text = string_match(match["method"], field=f"{at}.method")
            if kind != "exact":
                raise InvalidCanaryError(f"{at}.method: expected an exact method, found {kind}")
            result["method"] = text
        headers = _value_matches(match.get("headers"), field=f"{at}.headers")
        if headers:
            result["headers"] = headers
        query = _value_matches(match.get("queryParams"), field=f"{at}.queryParams")
        if query:
            result["queryParams"] = query
        if result:
            found.append(result)
    return found


def merge_gateway(analysis: list[Manifest], service: list[Manifest]) -> list[Manifest]:
    """Every A/B condition combined with every route condition (the A/B one wins on a field)."""
    if not analysis:
        return service
    if not service:
        return analysis
    return [{**route, **ab} for ab in analysis for route in service]


def merge_istio(analysis: list[Manifest], service: list[Manifest]) -> list[Manifest]:
    """A/B conditions given the route's uri condition, as Flagger merges them for Istio."""
    uri = next((m["uri"] for m in service if "uri" in m), None)
    if uri is None:
        return [dict(m) for m in analysis]
    return [{**m, "uri": uri} for m in analysis]


def _path(condition: Any, *, field: str) -> Manifest:
    kind, text = string_match(condition, field=field)
    if kind not in _PATH_TYPES:
        raise InvalidCanaryError(
            f"{field}: Gateway API matches a path exactly, by prefix or by regex, found {kind}"
        )
    return {"type": _PATH_TYPES[kind], "value": text}


def _value_matches(conditions: Any, *, field: str) -> list[Manifest]:
    if conditions is None:
        return []
    if not isinstance(conditions, dict):
        raise InvalidCanaryError(f"{field}: expected a map of name to match, found {conditions!r}")
    found: list[Manifest] = []
    for name, condition in sorted(conditions.items()):
        kind, text = string_match(condition, field=f"{field}.{name}")
        if kind == "exact":
            found.append({"name": name, "type": "Exact", "value": text})
        else:
            found.append({"name": name, "type": "RegularExpression", "value": as_regex(kind, text)})
    return found
