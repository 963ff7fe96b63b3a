"""What counts as a new revision of the target (spec hash and tracked configs).

Covers: a changed pod template starts a run; a changed tracked ConfigMap or Secret starts a run;
after a failed release, reverting the target to what the primary runs starts nothing (Flagger's
lifecycle test) and applying the failed revision again afterwards starts a new run; the pure
comparison rules.
"""

from __future__ import annotations

from serinus.apis.status import CanaryPhase, CanaryStatus
from serinus.controller import revision
from serinus.ports import Revision
from tests.controller.support import Run, metric, new_canary


def test_changed_compares_with_both_applied_and_promoted_hashes() -> None:
    status = CanaryStatus(last_applied_spec="b", last_promoted_spec="a", tracked_configs={})
    assert not revision.changed(status, Revision("a"))
    assert not revision.changed(status, Revision("b"))
    assert revision.changed(status, Revision("c"))
    assert revision.changed(CanaryStatus(), Revision("a"))


def test_configs_changed_when_a_checksum_or_the_set_differs() -> None:
    status = CanaryStatus(
        last_applied_spec="a", last_promoted_spec="a", tracked_configs={"configmap/x": "1"}
    )
    assert not revision.changed(status, Revision("a", {"configmap/x": "1"}))
    assert revision.changed(status, Revision("a", {"configmap/x": "2"}))
    assert revision.changed(status, Revision("a", {"configmap/x": "1", "secret/y": "9"}))
    assert revision.changed(status, Revision("a", {}))


async def test_a_changed_config_starts_a_run() -> None:
    run = Run(new_canary())
    run.world.target.configs = {"configmap/podinfo-config": "aaaa"}
    await run.initialized()
    assert run.status.tracked_configs == {"configmap/podinfo-config": "aaaa"}
    run.world.target.configs = {"configmap/podinfo-config": "bbbb"}
    assert await run.tick() == ["New revision detected! Scaling up podinfo.prod"]
    assert run.status.tracked_configs == {"configmap/podinfo-config": "bbbb"}


async def test_reverting_after_a_failure_starts_nothing_and_reapplying_retries() -> None:
    canary = new_canary(threshold=1, metrics=[metric("request-success-rate", threshold=99)])
    run = Run(canary)
    await run.release("rev-2")
    await run.tick()
    run.world.metrics.values["request-success-rate"] = 50
    await run.until(CanaryPhase.FAILED)
    run.world.metrics.values["request-success-rate"] = 99.9
    run.world.target.spec_hash = "rev-1"  # back to what the primary runs
    assert await run.ticks(3) == []
    assert run.status.phase is CanaryPhase.FAILED
    assert run.status.last_applied_spec == "rev-1"
    run.world.target.spec_hash = "rev-2"  # the failed revision, again
    assert await run.tick() == ["New revision detected! Scaling up podinfo.prod"]
