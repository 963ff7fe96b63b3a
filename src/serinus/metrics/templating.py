"""Query templates: the values a Canary gives them and the ``{{ ... }}`` renderer.

MetricTemplates (and the built-in queries of :mod:`serinus.metrics.queries`) are written in
Flagger's Go-template dialect. Flagger exposes the values as template *functions*, so a query says
``{{ namespace }}``, ``{{ target }}`` or ``{{ variables.direction }}``; the data-field form
``{{ .namespace }}`` does not work in Flagger (it renders ``<no value>``), so here it is an error
that says which form to write. Go's whitespace trimming (``{{-`` and ``-}}``) is honoured. Anything
else Go templates can do (pipelines, ``printf``, ``if``) is an error naming the action: no Flagger
example needs it, and half-supporting it would render wrong PromQL quietly.

The values (:meth:`QueryModel.values`), as Flagger computes them:

- ``name``, ``namespace``: the Canary's; ``target``: ``spec.targetRef.name``;
- ``service``: ``spec.service.name``, else the target; ``ingress``: ``spec.ingressRef.name``, else
  the target; ``route``: ``spec.routeRef.name``, else the target;
- ``interval``: the metric's ``interval``, ``1m`` when unset;
- ``variables.<key>``: the metric's ``templateVariables``.

A value the query needs but the Canary does not give is an InvalidCanaryError that names it and
lists the values that are available.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from serinus.apis.analysis import CanaryMetric
from serinus.apis.canary import Canary
from serinus.errors import InvalidCanaryError

_ACTION = re.compile(r"\{\{(-\s)?\s*(.*?)\s*(\s-)?\}\}", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)?$")


@dataclasses.dataclass(frozen=True)
class QueryModel:
    """The values a query template of one Canary and one metric is rendered with."""

    name: str
    namespace: str
    target: str
    service: str
    ingress: str
    route: str
    interval: str
    variables: Mapping[str, str] = dataclasses.field(default_factory=dict)
    primary_revision: str | None = None
    """Knative only: the revision the primary side serves (for the primary-side queries)."""
    target_kind: str = "Deployment"
    """The ``targetRef.kind``: meshes label a StatefulSet's pods differently (Linkerd)."""

    def values(self) -> dict[str, str]:
        """Every template value by the name a template writes it with."""
        values = {
            "name": self.name,
            "namespace": self.namespace,
            "target": self.target,
            "service": self.service,
            "ingress": self.ingress,
            "route": self.route,
            "interval": self.interval,
        }
        values.update({f"variables.{key}": value for key, value in self.variables.items()})
        return values


def model_for(canary: Canary, metric: CanaryMetric) -> QueryModel:
    """The template values of one metric of a Canary, with Flagger's defaults."""
    spec = canary.spec
    target = spec.target_ref.name
    return QueryModel(
        name=canary.name,
        namespace=canary.namespace,
        target=target,
        service=spec.service_name,
        ingress=spec.ingress_ref.name if spec.ingress_ref else target,
        route=spec.route_ref.name if spec.route_ref else target,
        interval=metric.effective_interval,
        target_kind=spec.target_ref.kind,
        variables=dict(metric.template_variables or {}),
    )


def render(template: str, values: Mapping[str, str], *, source: str = "the query") -> str:
    """Fill in every ``{{ name }}`` of ``template``; InvalidCanaryError names what is missing.

    Args:
        template: the query with Go-template actions.
        values: value by name (``namespace``, ``variables.direction``...).
        source: what the template is, for error messages (e.g. ``MetricTemplate prod/latency``).
    """
    parts: list[str] = []
    position = 0
    for action in _ACTION.finditer(template):
        text = template[position : action.start()]
        parts.append(text.rstrip() if action.group(1) else text)
        parts.append(_value(action.group(2), action.group(0), values, source))
        position = action.end()
        if action.group(3):
            rest = template[position:]
            position += len(rest) - len(rest.lstrip())
    parts.append(template[position:])
    rendered = "".join(parts)
    if "{{" in rendered:
        raise InvalidCanaryError(f"{source}: unbalanced template braces: {template!r}")
    return rendered


def _value(name: str, action: str, values: Mapping[str, str], source: str) -> str:
    if name in values:
        return values[name]
    available = ", ".join(sorted(values))
    if name.startswith(".") and _NAME.match(name[1:]):
        raise InvalidCanaryError(
            f"{source}: {action} reads a data field; Flagger's templates call functions:"
            f" write {{{{ {name[1:]} }}}} (available: {available})"
        )
    if not _NAME.match(name):
        raise InvalidCanaryError(
            f"{source}: unsupported template action {action}: only values such as"
            f" {{{{ namespace }}}} and {{{{ variables.<key> }}}} can be used"
            f" (available: {available})"
        )
    if name.startswith("variables."):
        key = name.removeprefix("variables.")
        raise InvalidCanaryError(
            f"{source} uses {action}, but the metric's templateVariables has no {key}"
            f" (available: {available})"
        )
    raise InvalidCanaryError(f"{source} uses {action}, which has no value (available: {available})")
