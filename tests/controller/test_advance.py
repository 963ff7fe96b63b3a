"""The tick as a whole: suspension, and errors of the world.

Covers: a suspended Canary freezes where it is (routes untouched, said once) and resumes when
unsuspended; a retriable error of a port is a Warning event and the next tick tries again; a
permanent error (an unknown provider) is shown on the Promoted condition and as a Warning event;
the tick hands back the Canary as its last status write left it. (A Canary that is gone is the
reader's to skip: ``tests/operator/test_canaries.py``.)
"""

from __future__ import annotations

from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase
from serinus.controller.advance import advance
from serinus.errors import RouterError, UnknownProviderError
from serinus.ports import Routes
from tests.controller.support import Run, new_canary


async def test_suspend_freezes_the_run_and_resume_continues_it() -> None:
    run = Run(new_canary())
    await run.release()
    await run.tick()
    assert run.routes == (90, 10)
    run.set_spec(suspend=True)
    assert await run.ticks(3) == ["skipping canary run as object is suspended"]
    assert run.routes == (90, 10)
    run.set_spec(suspend=False)
    assert await run.tick() == ["Advance podinfo.prod canary weight 20"]
    assert run.status.message is None


async def test_a_retriable_error_is_a_warning_and_the_next_tick_retries() -> None:
    run = Run(new_canary())
    await run.release()
    original = run.world.router.set_routes
    calls = 0

    async def flaky(canary: Canary, routes: Routes, *, current: Routes | None = None) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RouterError("linkerd", "TrafficSplit podinfo: the API server answered 500")
        await original(canary, routes, current=current)

    run.world.router.set_routes = flaky  # type: ignore[method-assign]
    lines = await run.tick()
    assert lines[-1] == "TrafficSplit podinfo: the API server answered 500"
    assert run.world.events.events[-1].event_type == "Warning"
    assert run.status.phase is CanaryPhase.PROGRESSING
    assert (await run.tick())[-1] == "Advance podinfo.prod canary weight 10"


async def test_a_permanent_error_is_shown_on_the_promoted_condition() -> None:
    run = Run(new_canary())

    async def unsupported(canary: Canary) -> None:
        raise UnknownProviderError("provider", "appmesh")

    run.world.router.initialize = unsupported  # type: ignore[method-assign]
    assert await run.tick() == ["provider appmesh is not supported"]
    condition = run.status.condition("Promoted")
    assert condition is not None
    assert (condition.status, condition.reason, condition.message) == (
        "False",
        "InvalidCanary",
        "provider appmesh is not supported",
    )
    assert run.world.events.events[-1].event_type == "Warning"


async def test_the_tick_hands_back_the_canary_as_stored_at_its_end() -> None:
    run = Run(new_canary())
    given = run.world.store.stored("prod", "podinfo")
    writes = run.world.store.writes
    after = await advance(run.world.ports, given)
    assert given.phase is None  # the caller's Canary is not changed under it
    assert after.phase is CanaryPhase.INITIALIZED
    assert run.world.store.writes > writes
    assert after == run.world.store.stored("prod", "podinfo")
