"""Fixtures of the state-machine tests (builders and the tick driver live in support.py)."""

from __future__ import annotations

import pytest

from serinus.apis.canary import Canary
from tests.controller.support import hook, metric, new_canary


@pytest.fixture
def seed_canary() -> Canary:
    return new_canary(
        stepWeight=5,
        metrics=[
            metric("request-success-rate", thresholdRange={"min": 99}),
            metric("request-duration", thresholdRange={"max": 500}),
        ],
        webhooks=[hook("load-test", "rollout", metadata={"cmd": "hey -z 2m http://podinfo:9898/"})],
    )
