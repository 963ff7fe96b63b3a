"""Labels and annotations of the copies, and selectors that must name the primary.

Covers: include prefixes (``*`` = all) choose the copied keys; Flux's ``toolkit.fluxcd.io`` keys
and the source's own bookkeeping annotations are never copied; the selector label is set to the
primary's value; the first selector label found wins; pod anti-affinity (required and preferred)
and topology spread selectors naming the target (matchLabels and matchExpressions, selector-label
keys only) name the primary in the primary Deployment, and stay as they are in the target.
"""

from __future__ import annotations

from typing import Any

from serinus.kube import Kube
from serinus.targets import labels
from serinus.targets.deployment import DeploymentTarget
from tests.targets.support import create_canary, deployment, get


def test_include_prefixes_and_flux_keys() -> None:
    source = {
        "app": "podinfo",
        "team/owner": "web",
        "kustomize.toolkit.fluxcd.io/name": "apps",
        "helm.toolkit.fluxcd.io/driftDetection": "enabled",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
    }
    assert labels.copied(source, ("*",)) == {"app": "podinfo", "team/owner": "web"}
    assert labels.copied(source, ("team/", "helm.")) == {"team/owner": "web"}
    assert labels.include_by_prefix(None, ("*",)) == {}


def test_the_selector_label_gets_the_primary_value() -> None:
    assert labels.primary_labels({"app": "podinfo", "tier": "web"}, "app", "podinfo-primary") == {
        "tier": "web",
        "app": "podinfo-primary",
    }
    workload = {"spec": {"selector": {"matchLabels": {"name": "a", "app": "b"}}}}
    assert labels.selector_label(workload, labels.DEFAULT_SELECTOR_LABELS) == ("app", "b")


def anti_affinity_spec() -> dict[str, Any]:
    return {
        "affinity": {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "labelSelector": {"matchLabels": {"app": "podinfo", "tier": "podinfo"}},
                        "topologyKey": "kubernetes.io/hostname",
                    }
                ],
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": {
                                "matchExpressions": [
                                    {"key": "app", "operator": "In", "values": ["podinfo", "x"]}
                                ]
                            },
                            "topologyKey": "topology.kubernetes.io/zone",
                        },
                    }
                ],
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": "podinfo"}},
            }
        ],
    }


async def test_anti_affinity_and_topology_spread_name_the_primary(
    kube: Kube, deployments: DeploymentTarget
) -> None:
    await kube.create(deployment(pod_spec=anti_affinity_spec()))
    canary = await create_canary(kube)
    await deployments.initialize(canary)

    spec = (await get(kube, "Deployment", "podinfo-primary"))["spec"]["template"]["spec"]
    anti = spec["affinity"]["podAntiAffinity"]
    required = anti["requiredDuringSchedulingIgnoredDuringExecution"][0]["labelSelector"]
    assert required["matchLabels"] == {"app": "podinfo-primary", "tier": "podinfo"}
    preferred = anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert preferred["labelSelector"]["matchExpressions"][0]["values"] == ["podinfo-primary", "x"]
    spread = spec["topologySpreadConstraints"][0]["labelSelector"]
    assert spread["matchLabels"] == {"app": "podinfo-primary"}

    target = (await get(kube, "Deployment", "podinfo"))["spec"]["template"]["spec"]
    assert target["affinity"] == anti_affinity_spec()["affinity"]
