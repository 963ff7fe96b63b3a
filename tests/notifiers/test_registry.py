"""The table of alert formats.

Covers:
- every AlertProvider type the model accepts has a format, and each renders its own document;
- an unknown type raises UnknownProviderError naming it, never a default.
"""

from __future__ import annotations

import pytest

from serinus.apis.alert_provider import ALERT_PROVIDER_TYPES
from serinus.apis.analysis import Severity
from serinus.errors import UnknownProviderError
from serinus.notifiers import registry
from serinus.notifiers.base import Alert, Destination


def test_every_model_type_has_a_distinct_format():
    alert = Alert("podinfo", "test", "m", Severity.INFO)
    documents = [
        registry.format_for(kind)(alert, Destination("http://chat.test/h")).payload
        for kind in ALERT_PROVIDER_TYPES
    ]
    assert set(registry.FORMATS) == set(ALERT_PROVIDER_TYPES)
    # slack and discord share a document; the others differ from each other.
    assert len({repr(document) for document in documents}) == len(ALERT_PROVIDER_TYPES) - 1


def test_unknown_type_is_an_error():
    with pytest.raises(UnknownProviderError, match="alert provider type pagerduty"):
        registry.format_for("pagerduty")
