"""``KubeStatusStore`` against the real API server: the Canary status round trip.

Covers: the seed's v1alpha3 Canary is read (at v1beta1) with its analysis; a status written is read
back equal, stored camelCase without empty fields, and a field no longer set disappears; the spec
(and metadata) are never touched by a status write, even when the Canary handed in has a different
spec; a concurrent change between read and write (a real 409) is answered by reading again and
writing again, keeping the other writer's change; a write that changes nothing makes no new
resourceVersion; a spec edited between two reads is read at the second (the parsed spec is reused
only while unchanged); a missing Canary reads as None and writing its status is NotFoundError; a
malformed Canary is InvalidCanaryError listing each problem with its field path, bounded however
large the Canary (issue 10, row 11). Every write fits (issue 10, row 5): a status with 10,000
metrics is written with 50 of them and a count of the rest, and a write the server still refuses as
too large is written again as phase and counters with the reason.
"""

from __future__ import annotations

import pytest

from serinus import errors
from serinus.apis.canary import Canary
from serinus.apis.status import CanaryCondition, CanaryPhase, CanaryStatus, MetricStatus
from serinus.kube import Kube, KubeStatusStore
from tests.kube.support import FaultProxy, podinfo_canary

CANARY = ("flagger.app/v1beta1", "Canary")
STATUS_PATH = "/canaries/podinfo/status"

pytestmark = pytest.mark.usefixtures("flagger_crds")


def progressing(weight: int = 10) -> CanaryStatus:
    return CanaryStatus(
        phase=CanaryPhase.PROGRESSING,
        canary_weight=weight,
        failed_checks=1,
        iterations=2,
        last_applied_spec="5d7b9c",
        last_transition_time="2026-11-29T08:00:00Z",
        conditions=[
            CanaryCondition(
                type="Promoted",
                status="Unknown",
                reason="Progressing",
                message="New revision detected, progressing canary analysis.",
                last_update_time="2026-11-29T08:00:00Z",
                last_transition_time="2026-11-29T08:00:00Z",
            )
        ],
    )


async def created(kube: Kube, client: Kube | None = None) -> tuple[KubeStatusStore, Canary]:
    """The seed's Canary, created through ``kube``, as a store on ``client`` (else ``kube``)
    reads it."""
    await kube.create(podinfo_canary())
    store = KubeStatusStore(client or kube)
    canary = await store.get("prod", "podinfo")
    assert canary is not None
    return store, canary


async def test_the_seed_canary_round_trips_its_status(kube: Kube) -> None:
    store, canary = await created(kube)
    assert canary.spec.effective_analysis is not None
    assert canary.spec.effective_analysis.step_weight == 5

    stored = await store.write_status(canary, progressing())
    assert stored.status is not None
    assert stored.status.phase is CanaryPhase.PROGRESSING
    assert stored.status.canary_weight == 10
    assert stored.status.conditions is not None
    assert stored.status.conditions[0].reason == "Progressing"

    again = await store.get("prod", "podinfo")
    assert again is not None
    assert again.status == stored.status

    raw = await kube.get(*CANARY, "podinfo", "prod")
    assert raw is not None
    assert raw["status"]["canaryWeight"] == 10
    assert raw["status"]["lastAppliedSpec"] == "5d7b9c"
    assert "last_applied_spec" not in raw["status"]
    assert "lastPromotedSpec" not in raw["status"]


async def test_a_field_no_longer_set_disappears(kube: Kube) -> None:
    store, canary = await created(kube)
    await store.write_status(canary, progressing())
    await store.write_status(canary, CanaryStatus(phase=CanaryPhase.SUCCEEDED))
    raw = await kube.get(*CANARY, "podinfo", "prod")
    assert raw is not None
    assert raw["status"]["phase"] == "Succeeded"
    assert "lastAppliedSpec" not in raw["status"]
    assert "conditions" not in raw["status"]


async def test_status_writes_never_touch_the_spec(kube: Kube) -> None:
    await kube.create(podinfo_canary())
    before = await kube.get(*CANARY, "podinfo", "prod")
    assert before is not None
    store = KubeStatusStore(kube)
    canary = await store.get("prod", "podinfo")
    assert canary is not None
    canary.spec.skip_analysis = True  # a stale or edited copy must not leak into the object
    canary.metadata.labels = {"edited": "yes"}

    await store.write_status(canary, progressing())

    after = await kube.get(*CANARY, "podinfo", "prod")
    assert after is not None
    assert after["spec"] == before["spec"]
    assert after["metadata"].get("labels") == before["metadata"].get("labels")
    assert after["metadata"]["generation"] == before["metadata"]["generation"]


async def test_a_conflicting_change_is_read_again_and_kept(
    kube: Kube, proxy: FaultProxy, proxied: Kube
) -> None:
    store, canary = await created(kube, proxied)

    async def user_edits_the_canary() -> None:
        await kube.patch(*CANARY, "podinfo", "prod", {"spec": {"canaryAnalysis": {"threshold": 9}}})

    proxy.before("PUT", STATUS_PATH, user_edits_the_canary)
    stored = await store.write_status(canary, progressing(weight=20))

    assert len(proxy.seen("PUT", STATUS_PATH)) == 2, "the first write should have conflicted"
    assert stored.status is not None
    assert stored.status.canary_weight == 20
    assert stored.spec.effective_analysis is not None
    assert stored.spec.effective_analysis.threshold == 9


async def test_a_write_that_changes_nothing_makes_no_new_version(
    kube: Kube, proxy: FaultProxy, proxied: Kube
) -> None:
    store, canary = await created(kube, proxied)
    first = await store.write_status(canary, progressing())
    second = await store.write_status(first, progressing())
    assert second.metadata.resource_version == first.metadata.resource_version
    assert len(proxy.seen("PUT", STATUS_PATH)) == 1


async def test_a_spec_edited_between_two_reads_is_read_at_the_second(kube: Kube) -> None:
    store, canary = await created(kube)
    stored = await store.write_status(canary, progressing())
    assert stored.spec is canary.spec  # unchanged: parsed once
    await kube.patch(*CANARY, "podinfo", "prod", {"spec": {"canaryAnalysis": {"stepWeight": 20}}})
    edited = await store.get("prod", "podinfo")
    assert edited is not None
    assert edited.spec.effective_analysis is not None
    assert edited.spec.effective_analysis.step_weight == 20
    assert edited.status == stored.status


async def test_a_missing_canary_reads_as_none_and_cannot_get_a_status(kube: Kube) -> None:
    store, canary = await created(kube)
    await kube.delete(*CANARY, "podinfo", "prod")
    assert await store.get("prod", "podinfo") is None
    with pytest.raises(errors.NotFoundError, match="Canary prod/podinfo: the Canary is gone"):
        await store.write_status(canary, progressing())


async def test_a_malformed_canary_lists_its_problems_with_field_paths(kube: Kube) -> None:
    manifest = podinfo_canary()
    manifest["spec"]["canaryAnalysis"]["stepWeight"] = 150
    manifest["spec"]["canaryAnalysis"]["metrics"][1]["name"] = "error-budget"  # no query for it
    await kube.create(manifest)
    with pytest.raises(errors.InvalidCanaryError) as caught:
        await KubeStatusStore(kube).get("prod", "podinfo")
    message = str(caught.value)
    assert message.startswith("Canary prod/podinfo is invalid: ")
    assert "spec.canaryAnalysis.stepWeight: expected a number between 1 and 100" in message
    assert "found 150" in message
    assert "spec.canaryAnalysis.metrics[1].templateRef: expected a built-in metric" in message


async def test_a_canary_with_fifty_thousand_step_weights_is_reported_briefly(kube: Kube) -> None:
    manifest = podinfo_canary()
    manifest["spec"]["canaryAnalysis"]["stepWeights"] = [*range(1, 50_000), 1]  # not rising
    await kube.create(manifest)
    with pytest.raises(errors.InvalidCanaryError) as caught:
        await KubeStatusStore(kube).get("prod", "podinfo")
    message = str(caught.value)
    assert "spec.canaryAnalysis.stepWeights: expected weights that increase" in message
    assert "(50,000 items)" in message
    assert len(message) < 400


async def test_a_status_with_ten_thousand_metrics_is_written_with_fifty(kube: Kube) -> None:
    store, canary = await created(kube)
    why = "Metric query failed for m{0}: expected a built-in metric, a templateRef or a query " * 4
    metrics = [
        MetricStatus(name=f"m{i}", verdict="error", message=why.format(i)) for i in range(10_000)
    ]
    status = progressing().model_copy(update={"metrics": metrics})
    assert len(status.model_dump_json()) > 3 * 1024 * 1024  # the server takes no more

    stored = await store.write_status(canary, status)
    assert stored.status is not None
    assert stored.status.canary_weight == 10
    assert stored.status.metrics is not None
    assert [m.name for m in stored.status.metrics[:2]] == ["m0", "m1"]
    assert stored.status.metrics[-1].name == "(9,950 more)"
    assert stored.status.metrics[-1].verdict == "error"


async def test_a_status_the_server_refuses_is_written_as_phase_and_counters(
    kube: Kube, proxy: FaultProxy, proxied: Kube
) -> None:
    store, canary = await created(kube, proxied)
    status = progressing().model_copy(
        update={"metrics": [MetricStatus(name="m", verdict="fail", message="x")]}
    )
    proxy.fail(413, reason="RequestEntityTooLarge", message="request is too large", method="PUT")
    stored = await store.write_status(canary, status)

    assert len(proxy.seen("PUT", STATUS_PATH)) == 2
    assert stored.status is not None
    assert stored.status.phase is CanaryPhase.PROGRESSING
    assert (stored.status.canary_weight, stored.status.failed_checks) == (10, 1)
    assert stored.status.metrics is None
    assert stored.status.message is not None
    assert stored.status.message.startswith("the status could not be written whole: ")
    assert "request is too large (413 RequestEntityTooLarge)" in stored.status.message
