"""The target registry: Deployment, DaemonSet and StatefulSet controllers by kind, no default.

Covers: the kinds get their controllers with the options passed through; any unknown kind raises
UnknownProviderError with a message naming the kind.
"""

from __future__ import annotations

import pytest

from serinus.errors import UnknownProviderError
from serinus.kube import Kube
from serinus.targets.daemonset import DaemonSetTarget
from serinus.targets.deployment import DeploymentTarget
from serinus.targets.registry import target_for
from serinus.targets.statefulset import StatefulSetTarget


def test_workload_kinds_have_controllers(kube: Kube) -> None:
    found = target_for("Deployment", kube, selector_labels=("component",), config_tracking=False)
    assert isinstance(found, DeploymentTarget)
    assert found.selector_labels == ("component",)
    assert not found.configs.enabled
    assert isinstance(target_for("DaemonSet", kube), DaemonSetTarget)
    assert isinstance(target_for("StatefulSet", kube), StatefulSetTarget)


@pytest.mark.parametrize("kind", ["Job", "deployment"])
def test_other_kinds_are_not_supported(kube: Kube, kind: str) -> None:
    with pytest.raises(UnknownProviderError) as caught:
        target_for(kind, kube)
    assert str(caught.value) == f"target kind {kind} is not supported"
    assert not caught.value.retriable
