"""Label and field selectors: parsing the query-string forms and matching objects.

Lists, watches, ``deletecollection`` and the garbage collector's owner lookups all filter through
here. The grammar is the real server's: labels take ``=``, ``==``, ``!=``, ``in (..)``,
``notin (..)``, ``key``, ``!key``, ``key>N`` and ``key<N``; fields take ``=``, ``==`` and ``!=``
on ``metadata.name``, ``metadata.namespace`` and the labels each resource declares (an unknown
field label is a 400, as on a real cluster, so a client bug shows up here and not in production).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from serinus.sandbox.apiserver.objects import Obj, dig
from serinus.sandbox.apiserver.status import bad_request

_KEY = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


@dataclass(frozen=True)
class Requirement:
    """One label requirement: ``key <operator> values``."""

    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        if self.operator in ("=", "in"):
            return present and value in self.values
        if self.operator in ("!=", "notin"):
            return not present or value not in self.values
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        try:
            number, bound = int(value), int(self.values[0])
        except ValueError:
            return False
        return present and (number > bound if self.operator == "gt" else number < bound)


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, obj: Obj) -> bool:
        labels = dig(obj, ("metadata", "labels"))
        found = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
        return all(requirement.matches(found) for requirement in self.requirements)


def parse_labels(text: str | None) -> LabelSelector:
    """Parse a ``labelSelector`` query value; 400 BadRequest when it is malformed."""
    if not text or not text.strip():
        return LabelSelector()
    return LabelSelector(tuple(_parse_requirement(part) for part in _split_top(text)))


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts]


_SET = re.compile(r"^(?P<key>\S+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_BINARY = re.compile(r"^(?P<key>[^=!<>\s]+)\s*(?P<op>==|=|!=|>|<)\s*(?P<value>.*)$")


def _parse_requirement(part: str) -> Requirement:
    if not part:
        raise bad_request("unable to parse requirement: found '', expected: identifier")
    if match := _SET.match(part):
        # As the real parser: "()" is the empty value, and so is an empty item of "(a,,b)".
        values = tuple(dict.fromkeys(v.strip() for v in match["values"].split(",")))
        return _checked(Requirement(match["key"], match["op"], values))
    if match := _BINARY.match(part):
        operator = {"==": "=", ">": "gt", "<": "lt"}.get(match["op"], match["op"])
        return _checked(Requirement(match["key"], operator, (match["value"].strip(),)))
    if part.startswith("!"):
        return _checked(Requirement(part[1:].strip(), "!"))
    return _checked(Requirement(part, "exists"))


def _checked(requirement: Requirement) -> Requirement:
    if not _KEY.match(requirement.key) or len(requirement.key.split("/")[-1]) > 63:
        raise bad_request(
            f"unable to parse requirement: invalid label key {requirement.key!r}: name part must "
            "consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
            "an alphanumeric character"
        )
    for value in requirement.values:
        if not _VALUE.match(value) or len(value) > 63:
            raise bad_request(
                f"unable to parse requirement: invalid label value {value!r}: a valid label "
                "must be an empty string or consist of alphanumeric characters, '-', '_' or '.'"
            )
    if requirement.operator in ("gt", "lt") and not requirement.values[0].lstrip("-").isdigit():
        raise bad_request(
            f"unable to parse requirement: for 'gt', 'lt' operators, the value must be an "
            f"integer, got {requirement.values[0]!r}"
        )
    return requirement


def format_label_selector(selector: object) -> str:
    """A structured ``LabelSelector`` (matchLabels/matchExpressions) as its string form."""
    if not isinstance(selector, dict):
        return ""
    labels = selector.get("matchLabels")
    parts = [f"{k}={v}" for k, v in sorted(labels.items())] if isinstance(labels, dict) else []
    expressions = selector.get("matchExpressions")
    for expression in expressions if isinstance(expressions, list) else []:
        if not isinstance(expression, dict):
            continue
        key, operator = expression.get("key", ""), expression.get("operator", "")
        listed = expression.get("values")
        values = ",".join(sorted(str(v) for v in listed)) if isinstance(listed, list) else ""
        parts.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }.get(operator, "")
        )
    return ",".join(part for part in parts if part)


@dataclass(frozen=True)
class FieldRequirement:
    path: str
    value: str
    equal: bool


# Field labels that are not plain paths into the object.
_FIELD_ALIASES = {"source": "source.component"}


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, obj: Obj) -> bool:
        return all((_field_value(obj, r.path) == r.value) == r.equal for r in self.requirements)


def _field_value(obj: Obj, path: str) -> str:
    value = dig(obj, _FIELD_ALIASES.get(path, path).split("."))
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_fields(text: str | None, *, allowed: Callable[[str], bool]) -> FieldSelector:
    """Parse a ``fieldSelector``; ``allowed`` says which field labels the resource supports."""
    if not text or not text.strip():
        return FieldSelector()
    requirements = []
    for part in _split_escaped(text):
        match = re.match(r"^([^=!]+)(==|=|!=)(.*)$", part.strip())
        if match is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        path, operator, value = match[1].strip(), match[2], _unescape(match[3].strip())
        if not allowed(path):
            raise bad_request(f"field label not supported: {path}")
        requirements.append(FieldRequirement(path, value, operator != "!="))
    return FieldSelector(tuple(requirements))


def _split_escaped(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)
