"""AWS API calls through botocore's service models, sent with the operator's HTTP client.

botocore is the library the AWS SDKs for Python stand on; serinus uses its pieces, not its
client: the service model (``GetMetricData``'s shapes), its parameter validation, its JSON-protocol
serializer, :class:`botocore.auth.SigV4Auth` for Signature Version 4, its response parser (error
codes included) and its credential chain. The signed request is sent by
:func:`serinus.metrics.providers.base.send`, so timeouts, refused connections and throttling read
as they do for every other backend. Loading botocore's data files takes a moment, so the session
and the models are loaded once per process.

Errors, by the AWS error code in the answer: rejected credentials (``AccessDenied``,
``InvalidClientTokenId``, ``SignatureDoesNotMatch``, ``ExpiredToken``...) are
:class:`~serinus.errors.QueryError` saying to check them; throttling (``Throttling``,
``ThrottlingException``, HTTP 429) is retried, then
:class:`~serinus.errors.ProviderUnavailableError`; 5xx is ``ProviderUnavailableError``; any other
4xx is ``QueryError`` with AWS's code and message.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import botocore.session
import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import BotoCoreError, ParamValidationError
from botocore.model import OperationModel, ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from serinus.errors import BODY_LIMIT, InvalidCanaryError, ProviderUnavailableError, QueryError
from serinus.metrics.providers import base
from serinus.metrics.providers.base import ProviderSettings

ACCESS_KEY = "aws_access_key_id"
SECRET_KEY = "aws_secret_access_key"
SESSION_TOKEN = "aws_session_token"

AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "ExpiredToken",
        "ExpiredTokenException",
        "IncompleteSignature",
        "InvalidClientTokenId",
        "MissingAuthenticationToken",
        "NotAuthorized",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}
)


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def _model(service: str) -> ServiceModel:
    return _session().get_service_model(service)


def default_endpoint(prefix: str, region: str) -> str:
    """``https://<prefix>.<region>.amazonaws.com`` (``.amazonaws.com.cn`` in China regions)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{prefix}.{region}.{suffix}"


class Api:
    """One AWS service in one region, called as ``settings`` say."""

    def __init__(self, settings: ProviderSettings, *, service: str, region: str) -> None:
        self._settings = settings
        self._model = _model(service)
        self.region = region
        prefix = self._model.endpoint_prefix
        self.endpoint = (settings.address or default_endpoint(prefix, region)).rstrip("/")
        self._serializer = create_serializer("json", include_validation=True)
        self._unchecked = create_serializer("json", include_validation=False)
        self._parser = create_parser("json")
        self._static: ReadOnlyCredentials | None = None
        if settings.secret is not None:
            self._static = ReadOnlyCredentials(
                settings.secret_value(ACCESS_KEY),
                settings.secret_value(SECRET_KEY),
                settings.secret.get(SESSION_TOKEN) or None,
            )

    async def call(self, operation: str, params: dict[str, Any], *, query: str) -> dict[str, Any]:
        """The parsed answer of one operation; errors as the module docstring says."""
        response, parsed = await self._exchange(operation, params, validate=True)
        error = parsed.get("Error")
        if isinstance(error, dict):
            raise self._error(response, error, operation, query)
        return parsed

    async def check_online(self, operation: str, params: dict[str, Any]) -> None:
        """Send an invalid request: any answer but refused credentials or throttling is online."""
        response, parsed = await self._exchange(operation, params, validate=False)
        error = parsed.get("Error")
        if isinstance(error, dict):
            failure = self._error(response, error, operation, "(online check)")
            code = str(error.get("Code") or "")
            if code in AUTH_CODES or code in THROTTLING_CODES or response.status_code != 400:
                raise failure

    async def _exchange(
        self, operation: str, params: dict[str, Any], *, validate: bool
    ) -> tuple[httpx.Response, dict[str, Any]]:
        model = self._model.operation_model(operation)
        serializer = self._serializer if validate else self._unchecked
        try:
            request = serializer.serialize_to_request(params, model)
        except ParamValidationError as err:
            raise InvalidCanaryError(f"{self._settings.source}: spec.query: {err}") from err
        signed = await self._signed(request)
        response = await base.send(
            self._settings,
            request["method"],
            str(signed.url),
            content=signed.body,
            headers=dict(signed.headers.items()),
            throttled=lambda answer: self._throttled(answer, model),
        )
        return response, self._parse(response, model)

    async def _signed(self, request: dict[str, Any]) -> AWSRequest:
        credentials = await self._credentials()
        url = f"{self.endpoint}{request['url_path']}"
        if request.get("query_string"):
            url = f"{url}?{request['query_string']}"
        signed = AWSRequest(
            method=request["method"], url=url, data=request["body"], headers=request["headers"]
        )
        SigV4Auth(credentials, self._model.signing_name, self.region).add_auth(signed)
        return signed

    async def _credentials(self) -> Credentials | ReadOnlyCredentials:
        if self._static is not None:
            return self._static
        try:
            found = await asyncio.to_thread(_default_credentials)
        except BotoCoreError as err:
            raise QueryError(f"{self._settings.kind}: AWS credentials failed: {err}") from err
        if found is None:
            raise QueryError(
                f"{self._settings.kind}: no AWS credentials found (environment, IRSA web identity,"
                " shared config, container or instance metadata); give the operator's service"
                f" account an IAM role, or set spec.provider.secretRef with {ACCESS_KEY} and"
                f" {SECRET_KEY}"
            )
        return found

    def _parse(self, response: httpx.Response, model: OperationModel) -> dict[str, Any]:
        if response.status_code >= 500:
            raise ProviderUnavailableError(
                f"{self._settings.kind} at {self.endpoint} failed (HTTP {response.status_code}):"
                f" {base.error_text(response)}"
            )
        shape = model.output_shape
        if shape is None:  # every operation serinus calls answers with a structure
            raise QueryError(f"{self._settings.kind}: {model.name} has no output shape")
        parsed: dict[str, Any] = self._parser.parse(
            {
                "status_code": response.status_code,
                "headers": dict(response.headers.items()),
                "body": response.content,
            },
            shape,
        )
        return parsed

    def _throttled(self, response: httpx.Response, model: OperationModel) -> bool:
        if response.status_code == 429:
            return True
        if response.status_code != 400:
            return False
        error = self._parse(response, model).get("Error") or {}
        return error.get("Code") in THROTTLING_CODES

    def _error(
        self, response: httpx.Response, error: dict[str, Any], operation: str, query: str
    ) -> QueryError | ProviderUnavailableError:
        code, message = str(error.get("Code") or ""), str(error.get("Message") or "")
        status = response.status_code
        where = f"{self._settings.kind} at {self.endpoint}"
        answer = f"HTTP {status} {code}: {message}"[:BODY_LIMIT]
        if code in THROTTLING_CODES or status == 429:
            return ProviderUnavailableError(base.throttled_message(where, answer))
        if code in AUTH_CODES or status in (401, 403):
            return QueryError(
                f"{where} refused the credentials ({answer}); check them and the IAM permission"
                f" {self._model.service_name}:{operation}"
            )
        return QueryError(f"{where} rejected the {operation} request ({answer}); query: {query}")


def _default_credentials() -> ReadOnlyCredentials | None:
    """botocore's default chain (may block: metadata services, token files)."""
    found = _session().get_credentials()
    return found.get_frozen_credentials() if found is not None else None
