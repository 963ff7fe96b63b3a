"""What the cluster must say before a Canary may act: whose workload it is, which Secrets it signs.

A Canary parses and its router can do what it asks (:meth:`Wiring.refusals`), yet it may still
reach for what is not its author's to take. :func:`refusals` reads the cluster before every tick
and names each such reach, so the operator refuses the Canary the way it refuses an invalid one
(a ``Promoted`` condition, a Warning event, nothing written for it) and every other Canary keeps
running:

* **ownership** (:func:`serinus.targets.registry.refusal`): the target must be one nobody else
  controls, and its ``-primary`` this Canary's own, so a Canary cannot scale down another
  release's primary or take over a workload that already has a Canary;
* **signing keys**: every ``signingSecretRef`` must name a Secret labelled
  ``serinus.io/signing: "true"`` (:mod:`serinus.signing` says why). A Secret that does not exist
  is no refusal: the hook fails when it is called, and says so.

The reads are a handful of GETs per tick (the target, its primary, each signing Secret).
"""

from __future__ import annotations

from serinus.apis.canary import Canary
from serinus.errors import InvalidCanaryError, NotFoundError
from serinus.kube.client import Kube
from serinus.ports import Resources
from serinus.targets import registry as targets


async def refusals(kube: Kube, resources: Resources, canary: Canary) -> list[str]:
    """Why the Canary may not act on the cluster as written; empty when it may."""
    found: list[str] = []
    ownership = await targets.refusal(kube, canary)
    if ownership is not None:
        found.append(ownership)
    found.extend(await _signing_refusals(resources, canary))
    return found


async def _signing_refusals(resources: Resources, canary: Canary) -> list[str]:
    analysis = canary.spec.effective_analysis
    found: list[str] = []
    for hook in (analysis.webhooks or []) if analysis is not None else []:
        ref = hook.signing_secret_ref
        if ref is None:
            continue
        try:
            await resources.signing_secret(canary.namespace, ref.name)
        except InvalidCanaryError as error:
            found.append(f"webhook {hook.name}: signingSecretRef: {error}")
        except NotFoundError:
            continue
    return found
