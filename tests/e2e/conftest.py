"""A story that fails with its sandbox held by a fixture (``box``) gets the sandbox's objects,
Events and the operator's log in its report, as one that starts the sandbox itself does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.support import Sandbox, diagnostics


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    box = getattr(item, "funcargs", {}).get("box")
    if call.when == "call" and report.failed and isinstance(box, Sandbox):
        report.sections.append(("sandbox at the failure", diagnostics(box)))
    return report
