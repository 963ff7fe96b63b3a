"""The JSONPath subset that CRD printer columns use, and Go's way of printing what it finds.

``additionalPrinterColumns`` name cells by JSONPath: ``.status.phase``, ``.spec.analysis.
stepWeights``, ``.status.conditions[?(@.type=="Ready")].status``, ``.items[0].name``,
``.metadata.labels['app.kubernetes.io/name']``. This evaluator covers fields, quoted keys,
indexes, ``[*]`` and equality filters, which is what CRDs in the wild use. Values are printed the
way the real server's ``text/template`` printing does (``[10 20 30]`` for a list), so a column
shows what it would show on a cluster.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_$-]+)
      |\[(?P<quote>['"])(?P<key>.*?)(?P=quote)\]
      |\[(?P<index>-?\d+)\]
      |\[\*\]|\.\*(?P<star>)
      |\[\?\(@\.(?P<filter>[A-Za-z0-9_.-]+)\s*(?P<op>==|!=)\s*(?P<value>'[^']*'|"[^"]*"|[^)\s]+)\)\]
    """,
    re.VERBOSE,
)


def find(obj: Any, path: str) -> list[Any]:
    """Every value ``path`` selects in ``obj`` (empty when nothing matches)."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    current = [obj]
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return []
        current = _step(current, match)
        position = match.end()
    return [value for value in current if value is not None]


def _step(values: list[Any], match: re.Match[str]) -> list[Any]:
    found: list[Any] = []
    key = match["field"] if match["field"] is not None else match["key"]
    for value in values:
        if key is not None:
            if isinstance(value, dict) and key in value:
                found.append(value[key])
        elif match["index"] is not None:
            index = int(match["index"])
            if isinstance(value, list) and -len(value) <= index < len(value):
                found.append(value[index])
        elif match["filter"] is not None:
            found.extend(_filtered(value, match))
        elif isinstance(value, list):
            found.extend(value)
        elif isinstance(value, dict):
            found.extend(value.values())
    return found


def _filtered(value: Any, match: re.Match[str]) -> list[Any]:
    if not isinstance(value, list):
        return []
    wanted = match["value"].strip("'\"")
    kept = []
    for item in value:
        current: Any = item
        for part in match["filter"].split("."):
            current = current.get(part) if isinstance(current, dict) else None
        same = current is not None and show(current) == wanted
        if same == (match["op"] == "=="):
            kept.append(item)
    return kept


def show(value: Any) -> str:
    """A value as Go's ``fmt.Print`` renders decoded JSON: ``[1 2]``, ``map[a:b]``, ``true``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list):
        return "[" + " ".join(show(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{show(v)}" for k, v in sorted(value.items())) + "]"
    if value is None:
        return "<nil>"
    return str(value)


def as_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
