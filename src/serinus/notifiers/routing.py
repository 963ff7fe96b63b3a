"""Which AlertProviders of a Canary hear an alert, and where each of them posts.

Severity routing is Flagger's: an ``analysis.alerts`` entry with severity ``info`` (the default)
receives every alert, ``warn`` receives warnings and errors, ``error`` only errors.

An entry's AlertProvider is read from ``providerRef.namespace`` or the Canary's namespace. Its
address is ``spec.address``, replaced by the Secret's ``address`` key when ``secretRef`` is set;
the Secret's ``token`` key becomes the token (Slack can then post with the token alone, to
``chat.postMessage``). A provider, Secret or address that does not exist is an
:class:`~serinus.errors.InvalidCanaryError` naming it: Flagger logs these and moves on, which
leaves a team without its alerts and without knowing why.
"""

from __future__ import annotations

import dataclasses

from serinus.apis.alert_provider import AlertProvider
from serinus.apis.analysis import CanaryAlert, Severity
from serinus.apis.canary import Canary
from serinus.errors import InvalidCanaryError, NotFoundError
from serinus.notifiers.base import DEFAULT_CHANNEL, DEFAULT_USERNAME, Destination, Format
from serinus.notifiers.registry import format_for
from serinus.ports import Resources

_RANK = {Severity.INFO: 0, Severity.WARN: 1, Severity.ERROR: 2}


def admits(subscribed: Severity | None, severity: Severity) -> bool:
    """Whether an alerts entry subscribed at ``subscribed`` receives an alert of ``severity``."""
    return _RANK[severity] >= _RANK[subscribed or Severity.INFO]


@dataclasses.dataclass(frozen=True)
class Route:
    """One resolved alerts entry: how to render, where to post, and how to name it in errors."""

    render: Format
    destination: Destination
    label: str


async def resolve(resources: Resources, canary: Canary, entry: CanaryAlert) -> Route:
    """Read the entry's AlertProvider (and Secret) and say where its alerts go."""
    namespace = entry.provider_ref.namespace or canary.namespace
    name = entry.provider_ref.name
    try:
        provider = await resources.alert_provider(namespace, name)
    except NotFoundError as error:
        raise InvalidCanaryError(
            f"spec.analysis.alerts[{entry.name}].providerRef: AlertProvider {namespace}/{name}"
            " not found"
        ) from error
    label = f"AlertProvider {namespace}/{name} ({provider.spec.type})"
    address, token = await _credentials(resources, provider, namespace, label)
    spec = provider.spec
    destination = Destination(
        address=address,
        channel=spec.channel or DEFAULT_CHANNEL,
        username=spec.username or DEFAULT_USERNAME,
        token=token,
        proxy=spec.proxy or None,
    )
    return Route(render=format_for(spec.type), destination=destination, label=label)


async def _credentials(
    resources: Resources, provider: AlertProvider, namespace: str, label: str
) -> tuple[str, str | None]:
    """The address and token of a provider, from its spec and its Secret."""
    spec = provider.spec
    address, token = spec.address or "", None
    if spec.secret_ref is not None:
        secret_name = spec.secret_ref.name
        try:
            data = await resources.secret(namespace, secret_name)
        except NotFoundError as error:
            raise InvalidCanaryError(
                f"{label}: spec.secretRef: Secret {namespace}/{secret_name} not found"
            ) from error
        address = data.get("address") or address
        token = data.get("token") or None
        if not address and not (token and spec.type == "slack"):
            raise InvalidCanaryError(
                f"{label}: spec.secretRef: Secret {namespace}/{secret_name} has no key 'address'"
                " and the AlertProvider has no spec.address"
            )
    if not address and not token:
        raise InvalidCanaryError(f"{label}: spec.address: expected a URL, found nothing")
    return address, token
