"""Reading the Kubernetes objects the mesh proxy routes by: keys, safe field access, quantities.

The proxy reads raw manifests (dicts, as the API server sends them) rather than typed models: it
needs a handful of fields from six kinds, some of them custom resources whose schemas differ per
version (an SMI weight is a quantity string in v1alpha1 and a number in v1alpha2). These helpers
never raise on a missing field; a field that is present but malformed raises :class:`ValueError`
naming the field, which the routing table logs and skips.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

from serinus.apis.base import Manifest

Key = tuple[str, str]
"""(namespace, name) of a namespaced object."""

_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_SUFFIXES = {
    None: Fraction(1),
    "m": Fraction(1, 1000),
    "k": Fraction(1000),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
}


def key_of(manifest: Manifest) -> Key:
    """The (namespace, name) of ``manifest``; the namespace defaults to ``default``."""
    metadata = as_map(manifest.get("metadata"))
    return (str(metadata.get("namespace") or "default"), str(metadata.get("name") or ""))


def as_map(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one (a missing or null field)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one (a missing or null field)."""
    return value if isinstance(value, list) else []


def dig(manifest: Manifest, *path: str) -> Any:
    """The field at ``path`` inside ``manifest``, or None when any step is missing."""
    value: Any = manifest
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def parse_quantity(value: Any, *, field: str) -> Fraction:
    """A Kubernetes quantity (``10``, ``"10"``, ``"900m"``, ``0.5``) as an exact fraction.

    Raises:
        ValueError: naming ``field`` when the value is not a non-negative quantity.
    """
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected a number or quantity string, got {value!r}")
    if isinstance(value, int):
        number = Fraction(value)
    elif isinstance(value, float):
        number = Fraction(str(value))
    elif isinstance(value, str) and (match := _QUANTITY.match(value.strip())):
        number = Fraction(match.group(1)) * _SUFFIXES[match.group(2)]
    else:
        raise ValueError(f"{field}: expected a number or quantity string, got {value!r}")
    if number < 0:
        raise ValueError(f"{field}: must not be negative, got {value!r}")
    return number


def integer_weights(weights: list[Fraction]) -> list[int]:
    """Relative weights as integers in the same proportion (``0.9, 0.1`` -> ``9, 1``)."""
    scale = math.lcm(*(weight.denominator for weight in weights)) if weights else 1
    return [int(weight * scale) for weight in weights]
