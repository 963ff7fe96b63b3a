"""Reading resource documents: YAML text in, models and problems out.

Used by ``serinus validate`` and by the operator, so both report a bad Canary the same way: one
:class:`Problem` per mistake, naming the field path, what was expected and what was found. Parsing
never stops at the first problem; pydantic collects every error of a document and this module turns
each into a Problem. Kinds other than Canary, MetricTemplate and AlertProvider are skipped, so a
file may hold the Deployment next to its Canary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from serinus.apis.alert_provider import AlertProvider
from serinus.apis.base import describe
from serinus.apis.canary import GROUP, Canary
from serinus.apis.metric_template import MetricTemplate

KINDS: dict[str, type[BaseModel]] = {
    "Canary": Canary,
    "MetricTemplate": MetricTemplate,
    "AlertProvider": AlertProvider,
}


@dataclasses.dataclass(frozen=True)
class Problem:
    """One mistake in one document."""

    path: str
    expected: str
    found: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}expected {self.expected}, found {self.found}"


@dataclasses.dataclass
class Document:
    """One resource document of a file, parsed or not."""

    index: int
    """1-based position in the file."""
    kind: str
    namespace: str
    name: str
    model: BaseModel | None
    problems: list[Problem]

    @property
    def title(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.name else self.kind


def parse(manifest: dict[str, Any]) -> tuple[BaseModel | None, list[Problem]]:
    """A model for a flagger.app object, or the problems that prevent one."""
    model_type = KINDS.get(str(manifest.get("kind")))
    if model_type is None:
        return None, [Problem("kind", f"one of {', '.join(KINDS)}", describe(manifest.get("kind")))]
    try:
        return model_type.model_validate(manifest), []
    except ValidationError as error:
        return None, [problem_from(detail) for detail in error.errors()]


def parse_canary(manifest: dict[str, Any]) -> tuple[Canary | None, list[Problem]]:
    model, problems = parse({**manifest, "kind": "Canary"})
    return (model if isinstance(model, Canary) else None), problems


def problem_from(detail: ErrorDetails) -> Problem:
    """A pydantic error as a Problem with a Kubernetes-style field path."""
    loc = list(detail["loc"])
    ctx = detail.get("ctx") or {}
    if ctx.get("field"):
        loc.append(ctx["field"])
    path = _path(loc)
    error_type = detail["type"]
    found = describe(detail.get("input")) if error_type != "missing" else "nothing"
    if error_type == "serinus":
        return Problem(path, ctx["expected"], ctx["found"])
    if error_type == "extra_forbidden":
        return Problem(path, "no such field (is it misspelled?)", f"field {loc[-1]!s}")
    return Problem(path, _expected(error_type, ctx, detail["msg"]), found)


def _expected(error_type: str, ctx: dict[str, Any], message: str) -> str:
    simple = {
        "missing": "a value (the field is required)",
        "int_parsing": "an integer",
        "int_type": "an integer",
        "int_from_float": "an integer",
        "float_parsing": "a number",
        "float_type": "a number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "string_type": "a string",
        "dict_type": "a mapping",
        "list_type": "a list",
        "model_type": "a mapping",
        "model_attributes_type": "a mapping",
    }
    if error_type in simple:
        return simple[error_type]
    if error_type in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        signs = {
            "greater_than_equal": ">=",
            "greater_than": ">",
            "less_than_equal": "<=",
            "less_than": "<",
        }
        bound = next(iter(ctx.values()))
        return f"a number {signs[error_type]} {bound}"
    if error_type in ("literal_error", "enum"):
        return f"one of {ctx.get('expected', '')}"
    if error_type == "string_pattern_mismatch":
        return f"text matching {ctx.get('pattern')}"
    if error_type == "string_too_short":
        return "a non-empty string"
    return message[0].lower() + message[1:] if message else error_type


def _path(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in ("function-after", "tagged-union") or "[" in str(part):
            continue
        else:
            text += f".{part}" if text else str(part)
    return text


def load_documents(text: str) -> Iterator[Document]:
    """Every flagger.app document of a multi-document YAML text, parsed."""
    try:
        raw = list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        yield Document(1, "YAML", "", "", None, [Problem("", "valid YAML", _yaml_error(error))])
        return
    for index, manifest in enumerate(raw, start=1):
        if manifest is None:
            continue
        if isinstance(manifest, dict) and manifest.get("kind") == "List":
            # `kubectl get ... -o yaml` wraps objects in a List: check each item
            for item in manifest.get("items") or []:
                yield from _documents(index, item)
            continue
        yield from _documents(index, manifest)


def _documents(index: int, manifest: object) -> Iterator[Document]:
    """The one flagger.app document ``manifest`` is, if it is one."""
    if not isinstance(manifest, dict):
        yield Document(index, "YAML", "", "", None, [Problem("", "a mapping", describe(manifest))])
        return
    if not str(manifest.get("apiVersion", "")).startswith(f"{GROUP}/"):
        return
    raw_metadata = manifest.get("metadata")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    model, problems = parse(manifest)
    yield Document(
        index=index,
        kind=str(manifest.get("kind")),
        namespace=str(metadata.get("namespace") or "default"),
        name=str(metadata.get("name") or ""),
        model=model,
        problems=problems,
    )


def _yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{getattr(error, 'problem', None) or error}{where}"
