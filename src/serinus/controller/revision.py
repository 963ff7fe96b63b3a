"""Has the target changed since serinus last looked? (Flagger's spec and config tracking.)

A new run starts when the pod template hash differs from both ``lastAppliedSpec`` and
``lastPromotedSpec``, or when a tracked ConfigMap or Secret changed. Comparing with the promoted
hash too means that reverting the target to what the primary runs after a failed release does not
start a run of the old version (Flagger's lifecycle test). Pure functions of the status and the
revision.
"""

from __future__ import annotations

from serinus.apis.status import CanaryStatus
from serinus.ports import Revision


def spec_changed(status: CanaryStatus, revision: Revision) -> bool:
    if not status.last_applied_spec:
        return True
    if revision.spec_hash == status.last_promoted_spec:
        return False
    return revision.spec_hash != status.last_applied_spec


def configs_changed(status: CanaryStatus, revision: Revision) -> bool:
    tracked = status.tracked_configs
    if tracked is None:
        return bool(revision.configs)
    return tracked != revision.configs


def changed(status: CanaryStatus, revision: Revision) -> bool:
    """Whether the target holds a revision that has not been run yet."""
    return spec_changed(status, revision) or configs_changed(status, revision)
