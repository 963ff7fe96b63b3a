"""``SpecCache``: a Canary read again with the same spec reuses the parsed spec, and any edit of
the spec is read whole at once.

Covers: a second read of an unchanged spec reuses the parsed spec and equals a full parse (the
metadata and status of the new read, not the held one's); an edit of the spec, however small
(one number, a key order), is read at once; a spec that does not parse is reported at every
read, also after a good one was held, and the good one is not served; a Canary with the same
spec under another name or namespace is its own entry; ``forget`` drops a Canary's entry; with a
limit, the least recently read spec goes first.
"""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import yaml

from serinus.apis.documents import parse_canary
from serinus.apis.specs import SpecCache

SEED = pathlib.Path(__file__).parents[2] / "examples" / "podinfo-canary.yaml"


def seed(**status: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load(SEED.read_text())
    manifest["metadata"]["resourceVersion"] = "1"
    manifest["status"] = {"phase": "Progressing", "canaryWeight": 5, **status}
    return manifest


def test_an_unchanged_spec_is_parsed_once_and_the_rest_every_time() -> None:
    cache = SpecCache()
    first, _ = cache.parse(seed())
    later = seed(canaryWeight=10)
    later["metadata"]["resourceVersion"] = "2"
    second, problems = cache.parse(later)
    assert first is not None
    assert second is not None
    assert problems == []
    assert second.spec is first.spec
    assert second == parse_canary(later)[0]
    assert second.status is not None
    assert second.status.canary_weight == 10
    assert second.metadata.resource_version == "2"


def test_an_edited_spec_is_read_at_once() -> None:
    cache = SpecCache()
    cache.parse(seed())
    edited = seed()
    edited["spec"]["canaryAnalysis"]["stepWeight"] = 20
    canary, _ = cache.parse(edited)
    assert canary is not None
    assert canary.spec.effective_analysis is not None
    assert canary.spec.effective_analysis.step_weight == 20
    reordered = seed()
    reordered["spec"] = dict(reversed(list(edited["spec"].items())))
    again, _ = cache.parse(reordered)
    assert again is not None
    assert again.spec.effective_analysis is not None
    assert again.spec.effective_analysis.step_weight == 20
    back, _ = cache.parse(seed())
    assert back is not None
    assert back.spec.effective_analysis is not None
    assert back.spec.effective_analysis.step_weight == 5


def test_a_spec_that_does_not_parse_is_reported_every_time() -> None:
    cache = SpecCache()
    cache.parse(seed())
    broken = seed()
    broken["spec"]["canaryAnalysis"]["stepWeight"] = 150
    for _ in range(2):
        canary, problems = cache.parse(copy.deepcopy(broken))
        assert canary is None
        assert [p.path for p in problems] == ["spec.canaryAnalysis.stepWeight"]
    assert len(cache) == 0


def test_each_canary_has_its_own_entry_until_forgotten() -> None:
    cache = SpecCache()
    one, _ = cache.parse(seed())
    other = seed()
    other["metadata"]["namespace"] = "staging"
    two, _ = cache.parse(other)
    assert one is not None
    assert two is not None
    assert two.spec is not one.spec
    assert two.namespace == "staging"
    assert len(cache) == 2
    cache.forget("staging", "podinfo")
    assert len(cache) == 1
    three, _ = cache.parse(other)
    assert three is not None
    assert three.spec is not two.spec


def test_at_most_limit_specs_are_held_the_least_recently_read_going_first() -> None:
    cache = SpecCache(limit=2)
    names = ("a", "b", "c")
    manifests = {}
    for name in names:
        manifests[name] = seed()
        manifests[name]["metadata"]["name"] = name
    first = {name: cache.parse(manifests[name])[0] for name in ("a", "b")}
    again, _ = cache.parse(manifests["a"])  # read again: now the most recent
    assert again is not None
    assert first["a"] is not None
    assert again.spec is first["a"].spec
    cache.parse(manifests["c"])  # "b" goes
    assert len(cache) == 2
    b_again, _ = cache.parse(manifests["b"])
    assert b_again is not None
    assert first["b"] is not None
    assert b_again.spec is not first["b"].spec
    assert b_again == first["b"]
