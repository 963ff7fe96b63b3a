"""In-memory stand-ins the plug-in tests share: the ``Resources`` port.

:class:`MemoryResources` holds MetricTemplates, AlertProviders and Secrets by namespace and name
and answers as :class:`serinus.kube.resources.KubeResources` does: NotFoundError naming the
object when it is absent. (The clock the tests stop at one instant is
:class:`serinus.controller.memory.VirtualClock`.)
"""

from __future__ import annotations

from typing import Any

from serinus.apis.alert_provider import AlertProvider
from serinus.apis.metric_template import MetricTemplate
from serinus.errors import InvalidCanaryError, NotFoundError


class MemoryResources:
    """MetricTemplates, AlertProviders and Secrets in memory (a ``serinus.ports.Resources``)."""

    def __init__(self) -> None:
        self.templates: dict[tuple[str, str], MetricTemplate] = {}
        self.providers: dict[tuple[str, str], AlertProvider] = {}
        self.secrets: dict[tuple[str, str], dict[str, str]] = {}
        self.signing: set[tuple[str, str]] = set()
        """Secrets labelled ``serinus.io/signing: "true"``."""

    def add_template(self, namespace: str, name: str, provider: dict[str, Any], query: str) -> None:
        self.templates[namespace, name] = MetricTemplate.model_validate(
            {
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"provider": provider, "query": query},
            }
        )

    def add_provider(self, name: str, namespace: str = "test", **spec: Any) -> None:
        self.providers[namespace, name] = AlertProvider.model_validate(
            {"metadata": {"name": name, "namespace": namespace}, "spec": spec}
        )

    async def metric_template(self, namespace: str, name: str) -> MetricTemplate:
        return self._get(self.templates, "MetricTemplate", namespace, name)

    async def alert_provider(self, namespace: str, name: str) -> AlertProvider:
        return self._get(self.providers, "AlertProvider", namespace, name)

    async def secret(self, namespace: str, name: str) -> dict[str, str]:
        return self._get(self.secrets, "Secret", namespace, name)

    async def signing_secret(self, namespace: str, name: str) -> dict[str, str]:
        data: dict[str, str] = self._get(self.secrets, "Secret", namespace, name)
        if (namespace, name) not in self.signing:
            from serinus.kube.resources import not_for_signing  # the real store's words

            raise InvalidCanaryError(not_for_signing(namespace, name))
        return data

    @staticmethod
    def _get(store: dict[tuple[str, str], Any], kind: str, namespace: str, name: str) -> Any:
        try:
            return store[namespace, name]
        except KeyError:
            raise NotFoundError(f"{kind} {namespace}/{name} not found") from None
