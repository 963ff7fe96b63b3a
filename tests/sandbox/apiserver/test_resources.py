"""The registry of served types and Kubernetes' version ordering.

Covers: version priority (GA, then beta, then alpha; higher first); a CRD's versions are added
in that order, a group disappears with its last version; types sharing a storage list the
storage's own type first (core Events before events.k8s.io).
"""

from __future__ import annotations

from serinus.sandbox.apiserver.builtin import BUILTIN
from serinus.sandbox.apiserver.resources import Registry, ResourceType, version_priority


def test_version_priority() -> None:
    versions = ["v1alpha1", "v2", "v1beta1", "foo", "v1", "v1alpha3", "v1beta2"]
    assert sorted(versions, key=version_priority) == [
        "v2",
        "v1",
        "v1beta2",
        "v1beta1",
        "v1alpha3",
        "v1alpha1",
        "foo",
    ]


def test_custom_types_come_and_go() -> None:
    registry = Registry(BUILTIN)
    types = [
        ResourceType(
            "split.smi-spec.io",
            version,
            "TrafficSplit",
            "trafficsplits",
            True,
            custom=True,
            storage_version="v1alpha1",
        )
        for version in ("v1alpha1", "v1alpha3", "v1alpha2")
    ]
    registry.set_custom("trafficsplits.split.smi-spec.io", types)
    assert dict(registry.groups())["split.smi-spec.io"] == ["v1alpha3", "v1alpha2", "v1alpha1"]
    assert registry.storage_type("trafficsplits.split.smi-spec.io") == types[0]
    registry.remove_custom("trafficsplits.split.smi-spec.io")
    assert "split.smi-spec.io" not in dict(registry.groups())
    assert registry.lookup("split.smi-spec.io", "v1alpha3", "trafficsplits") is None


def test_shared_storage_lists_its_own_type_first() -> None:
    registry = Registry(BUILTIN)
    assert [t.group for t in registry.by_storage("events")] == ["", "events.k8s.io"]
