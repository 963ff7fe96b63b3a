"""The JSONPath subset of printer columns, and Go-style printing of what it finds.

Covers: plain fields, quoted keys with dots and slashes, indexes (also negative), wildcards,
equality and inequality filters, braces and `$`; missing paths find nothing; lists and maps
print as Go's fmt does; whole floats print without a fraction.
"""

from __future__ import annotations

import pytest

from serinus.sandbox.apiserver.jsonpath import find, show

OBJ = {
    "metadata": {"labels": {"app.kubernetes.io/name": "podinfo"}},
    "spec": {"analysis": {"stepWeights": [5, 10, 20]}},
    "status": {
        "phase": "Progressing",
        "conditions": [
            {"type": "Promoted", "status": "False"},
            {"type": "Ready", "status": "True"},
        ],
    },
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".status.phase", ["Progressing"]),
        ("{.status.phase}", ["Progressing"]),
        ("$.status.phase", ["Progressing"]),
        (".spec.analysis.stepWeights", [[5, 10, 20]]),
        (".spec.analysis.stepWeights[1]", [10]),
        (".spec.analysis.stepWeights[-1]", [20]),
        (".status.conditions[*].type", ["Promoted", "Ready"]),
        ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
        (".status.conditions[?(@.type!='Ready')].type", ["Promoted"]),
        (".metadata.labels['app.kubernetes.io/name']", ["podinfo"]),
        (".status.missing", []),
        (".spec.analysis.stepWeights[7]", []),
    ],
)
def test_find(path: str, expected: list[object]) -> None:
    assert find(OBJ, path) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ([5, 10, 20], "[5 10 20]"),
        ({"b": 1, "a": "x"}, "map[a:x b:1]"),
        (True, "true"),
        (3.0, "3"),
        (2.5, "2.5"),
        ("text", "text"),
    ],
)
def test_show(value: object, text: str) -> None:
    assert show(value) == text
