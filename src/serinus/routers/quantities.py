"""Weights as meshes write them: Kubernetes quantities (``"10"``, ``"900m"``) and plain numbers.

SMI v1alpha1 weights are quantities and only relative: ``900m``/``100m`` is the same split as
``90``/``10``. The routers read them exactly (as fractions) and turn them into the whole
percentages of :class:`serinus.ports.Routes`. :func:`routes` does that for the routers whose
objects name both Services with their weights (Contour, Gloo, Traefik, APISIX, Skipper, Kuma, App
Mesh).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction

from serinus.errors import RouterError
from serinus.ports import Routes
from serinus.routers.names import ServiceNames

_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(m|k|M|G|Ki|Mi|Gi)?$")
_SUFFIXES = {
    None: Fraction(1),
    "m": Fraction(1, 1000),
    "k": Fraction(1000),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
}


def parse(value: object, *, field: str) -> Fraction:
    """A non-negative weight written as a number or a quantity string.

    Raises:
        ValueError: naming ``field``, when the value is neither.
    """
    if type(value) is str and value.isascii() and value.isdigit():  # "10": most weights
        return Fraction(int(value))
    if type(value) is int and value >= 0:
        return Fraction(value)
    number: Fraction | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = Fraction(value)
    elif isinstance(value, float):
        number = Fraction(str(value))
    elif isinstance(value, str) and (match := _QUANTITY.match(value.strip())):
        number = Fraction(match.group(1)) * _SUFFIXES[match.group(2)]
    if number is None or number < 0:
        raise ValueError(f"{field}: expected a non-negative number or quantity, found {value!r}")
    return number


def percent(part: Fraction, total: Fraction) -> int:
    """``part`` of ``total`` as a whole percentage, rounded half up."""
    if part.denominator == 1 == total.denominator and part.numerator >= 0 < total.numerator:
        # whole weights (nearly always): the same rounding, in integers
        return (200 * part.numerator + total.numerator) // (2 * total.numerator)
    if total <= 0:
        raise ValueError(f"total: expected a positive weight, found {total}")
    return int(part * 100 / total + Fraction(1, 2))


def routes(
    weights: Mapping[object, object], names: ServiceNames, *, what: str, provider: str
) -> Routes:
    """The routes of an object whose weights are given by Service (or destination) name.

    A missing name counts as weight 0 only when the other one is there, as the meshes read an
    omitted weight; neither, or two zeros, is a RouterError naming the object.
    """
    found: dict[str, Fraction] = {}
    for name in (names.primary, names.canary):
        if name in weights:
            try:
                found[name] = parse(weights[name], field=f"{what}: weight of {name}")
            except ValueError as error:
                raise RouterError(provider, str(error)) from error
    total = sum(found.values(), Fraction(0))
    if total <= 0:
        raise RouterError(
            provider, f"{what}: does not contain routes for {names.primary} and {names.canary}"
        )
    canary = percent(found.get(names.canary, Fraction(0)), total)
    return Routes(primary=100 - canary, canary=canary)
