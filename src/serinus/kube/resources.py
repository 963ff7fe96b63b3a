"""``KubeResources``: the MetricTemplates, AlertProviders and Secrets a Canary refers to.

The operator's implementation of :class:`serinus.ports.Resources`. Templates and providers are
read at ``flagger.app/v1beta1`` and parsed with the same models as ``serinus validate``, so a
malformed one is reported the same way, every problem with its field path, as an
:class:`~serinus.errors.InvalidCanaryError` (the Canary cannot run as written until it is fixed).
A missing object is a :class:`~serinus.errors.NotFoundError`, which names the kind and the
namespace/name the Canary asked for. Each is parsed once per version (its uid and
resourceVersion): every analysis tick reads its templates, and they are seldom edited.

Secrets are decoded here so that nothing else handles base64: ``data`` values are decoded as
UTF-8 text (credentials and URLs are text); ``stringData``, which a Secret only carries when a
client wrote it that way and the server did not fold it into ``data``, wins for its keys, as the
API server's own merge does. A signing key is only read from a Secret labelled
``serinus.io/signing: "true"`` (:meth:`KubeResources.signing_secret`; :mod:`serinus.signing`
says why).
"""

from __future__ import annotations

import base64
import binascii

from serinus import errors, signing
from serinus.apis.alert_provider import AlertProvider
from serinus.apis.base import Manifest
from serinus.apis.documents import parse
from serinus.apis.metric_template import MetricTemplate
from serinus.kube.client import Kube

API_VERSION = "flagger.app/v1beta1"
_MODELS_HELD = 10_000
"""Parsed templates and providers kept (all of them, short of a hostile number)."""


class KubeResources:
    """Reads the objects a Canary refers to (a ``Resources`` port)."""

    def __init__(self, kube: Kube) -> None:
        self._kube = kube
        self._models: dict[tuple[str, str, str], tuple[str, str, object]] = {}
        """The last model parsed of each template and provider, with the uid and
        resourceVersion it was parsed at (every analysis tick reads its templates)."""

    async def metric_template(self, namespace: str, name: str) -> MetricTemplate:
        """The MetricTemplate; NotFoundError when absent, InvalidCanaryError when malformed."""
        model = await self._parsed("MetricTemplate", namespace, name)
        if not isinstance(model, MetricTemplate):  # pragma: no cover - parse keeps the kind
            raise errors.InvalidCanaryError(f"MetricTemplate {namespace}/{name}: not a template")
        return model

    async def alert_provider(self, namespace: str, name: str) -> AlertProvider:
        """The AlertProvider; NotFoundError when absent, InvalidCanaryError when malformed."""
        model = await self._parsed("AlertProvider", namespace, name)
        if not isinstance(model, AlertProvider):  # pragma: no cover - parse keeps the kind
            raise errors.InvalidCanaryError(f"AlertProvider {namespace}/{name}: not a provider")
        return model

    async def secret(self, namespace: str, name: str) -> dict[str, str]:
        """The Secret's data, decoded; NotFoundError when absent."""
        manifest = await self._kube.get("v1", "Secret", name, namespace)
        if manifest is None:
            raise errors.NotFoundError(f"Secret {namespace}/{name} not found")
        return decode_secret(manifest)

    async def signing_secret(self, namespace: str, name: str) -> dict[str, str]:
        """The data of a Secret labelled for signing; NotFoundError when absent,
        InvalidCanaryError (read nothing) when the label is missing."""
        manifest = await self._kube.get("v1", "Secret", name, namespace)
        if manifest is None:
            raise errors.NotFoundError(f"Secret {namespace}/{name} not found")
        labels = (manifest.get("metadata") or {}).get("labels") or {}
        if labels.get(signing.SIGNING_LABEL) != "true":
            raise errors.InvalidCanaryError(not_for_signing(namespace, name))
        return decode_secret(manifest)

    async def _parsed(self, kind: str, namespace: str, name: str) -> object:
        manifest = await self._kube.get(API_VERSION, kind, name, namespace)
        if manifest is None:
            raise errors.NotFoundError(f"{kind} {namespace}/{name} not found")
        meta = manifest.get("metadata") or {}
        version = (str(meta.get("uid") or ""), str(meta.get("resourceVersion") or ""))
        key = (kind, namespace, name)
        held = self._models.get(key)
        if held is not None and all(version) and held[:2] == version:
            return held[2]  # the same version of the object: the same model
        # status is the API's business (Flagger's CRDs have one); the models describe the spec.
        body = {key: value for key, value in manifest.items() if key != "status"}
        model, problems = parse(body)
        if model is None:
            self._models.pop(key, None)
            listed = "; ".join(str(problem) for problem in problems)
            raise errors.InvalidCanaryError(f"{kind} {namespace}/{name} is invalid: {listed}")
        if all(version):
            if len(self._models) >= _MODELS_HELD and key not in self._models:
                self._models.clear()
            self._models[key] = (*version, model)
        return model


def not_for_signing(namespace: str, name: str) -> str:
    """Why a Secret without the signing label is refused, and how to allow it."""
    return (
        f"Secret {namespace}/{name} is not labelled {signing.SIGNING_LABEL}=true; serinus signs "
        "only with Secrets made for it (label the Secret if its value is a signing key)"
    )


def decode_secret(manifest: Manifest) -> dict[str, str]:
    """A Secret's ``data`` (base64) and ``stringData`` as text; InvalidCanaryError if unreadable."""
    metadata = manifest.get("metadata") or {}
    where = f"Secret {metadata.get('namespace', '')}/{metadata.get('name', '')}"
    decoded: dict[str, str] = {}
    for key, value in (manifest.get("data") or {}).items():
        try:
            decoded[key] = base64.b64decode(str(value), validate=True).decode("utf-8")
        except (binascii.Error, ValueError) as error:
            raise errors.InvalidCanaryError(
                f"{where}: data.{key}: expected base64-encoded UTF-8 text, found a value that "
                f"is not ({error})"
            ) from error
    for key, value in (manifest.get("stringData") or {}).items():
        decoded[key] = str(value)
    return decoded
