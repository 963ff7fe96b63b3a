"""The controllers' work queue (covers ``serinus/sandbox/workloads/queue.py``).

Covers: keys come out in the order they were first added; a key added again while it waits is
queued once; ``add_after`` brings a key back later; ``close`` cancels what was to come back.
"""

from __future__ import annotations

import asyncio
import contextlib

from serinus.sandbox.workloads.queue import WorkQueue


async def test_keys_are_queued_once_in_order() -> None:
    queue = WorkQueue()
    for key in [("Deployment", "prod", "a"), ("Pod", "prod", "b"), ("Deployment", "prod", "a")]:
        queue.add(key)
    assert await queue.get() == ("Deployment", "prod", "a")
    assert await queue.get() == ("Pod", "prod", "b")
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    queue.add(("Hosts", "", ""))
    assert await asyncio.wait_for(waiting, 1) == ("Hosts", "", "")


async def test_add_after_and_close() -> None:
    queue = WorkQueue()
    queue.add_after(("Deployment", "prod", "late"), 0.01)
    assert await asyncio.wait_for(queue.get(), 1) == ("Deployment", "prod", "late")
    queue.add_after(("Deployment", "prod", "never"), 0.01)
    queue.close()
    getting = asyncio.create_task(queue.get())
    await asyncio.sleep(0.05)
    assert not getting.done()
    getting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await getting
