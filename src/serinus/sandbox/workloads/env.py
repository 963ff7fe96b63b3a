"""A container's environment, built the way the kubelet builds it.

In precedence order, lowest first: the sandbox's own variables (PATH, HOME, HOSTNAME, KUBECONFIG,
...), the Service link variables of the pod's namespace (``PODINFO_SERVICE_HOST``/``_PORT``, unless
``enableServiceLinks: false``), ``envFrom`` (ConfigMaps and Secrets, with ``prefix``), then ``env``
(plain values, ``$(VAR)`` references to variables defined before, and ``valueFrom`` with
``fieldRef``, ``resourceFieldRef``, ``configMapKeyRef`` and ``secretKeyRef``). ``$(VAR)`` in
``command`` and ``args`` is expanded with the result (:func:`expand`), ``$$`` escapes it.

A missing ConfigMap, Secret or key that is not ``optional`` stops the container from starting,
as in a cluster: :class:`SerinusError` carries the kubelet's message and the pod shows
``CreateSerinusError`` until the object appears.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from serinus.apis.base import Manifest
from serinus.errors import SerinusError

Lookup = Callable[[str, str, str], Awaitable[Manifest | None]]
"""(kind: ConfigMap|Secret, namespace, name) -> the object, or None when there is none."""

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_FIELD = re.compile(r"^metadata\.(labels|annotations)\['([^']+)'\]$")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: known names replaced, unknown kept, ``$$`` -> ``$``."""

    def replace(found: re.Match[str]) -> str:
        name = found.group(1)
        if name is None:
            return "$"
        return env.get(name, found.group(0))

    return _REFERENCE.sub(replace, text)


def service_links(services: Iterable[Manifest], namespace: str) -> dict[str, str]:
    """``<NAME>_SERVICE_HOST`` and ``<NAME>_SERVICE_PORT[_<PORT>]`` for the namespace's Services."""
    found: dict[str, str] = {}
    for service in services:
        meta = service.get("metadata") or {}
        spec = service.get("spec") or {}
        address = str(spec.get("clusterIP") or "")
        if meta.get("namespace") != namespace or address in ("", "None"):
            continue
        prefix = str(meta.get("name")).upper().replace("-", "_")
        ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
        if not ports:
            continue
        found[f"{prefix}_SERVICE_HOST"] = address
        found[f"{prefix}_SERVICE_PORT"] = str(ports[0].get("port"))
        for port in ports:
            if port.get("name"):
                name = str(port["name"]).upper().replace("-", "_")
                found[f"{prefix}_SERVICE_PORT_{name}"] = str(port.get("port"))
    return found


def field_value(pod: Manifest, path: str) -> str:
    """The value of a ``fieldRef.fieldPath`` of ``pod``."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    simple: dict[str, Any] = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": status.get("hostIP"),
        "status.podIP": status.get("podIP"),
        "status.podIPs": ",".join(str(p.get("ip")) for p in status.get("podIPs") or []),
    }
    if path in simple:
        return str(simple[path] or "")
    keyed = _FIELD.match(path)
    if keyed is not None:
        return str((meta.get(keyed.group(1)) or {}).get(keyed.group(2)) or "")
    raise SerinusError(f"unsupported fieldRef.fieldPath {path!r}")


def _resource_value(container: Manifest, reference: Mapping[str, Any]) -> str:
    resource = str(reference.get("resource") or "")
    kind, _, name = resource.partition(".")
    value = ((container.get("resources") or {}).get(kind) or {}).get(name)
    if value is not None:
        return str(value)
    if name == "cpu":  # no limit: the node's allocatable CPUs, as the kubelet reports
        return str(os.cpu_count() or 1)
    if name in ("memory", "ephemeral-storage"):
        return str(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    raise SerinusError(f"unsupported resourceFieldRef.resource {resource!r}")


async def _data(lookup: Lookup, kind: str, namespace: str, name: str) -> dict[str, str] | None:
    found = await lookup(kind, namespace, name)
    if found is None:
        return None
    data = {str(k): str(v) for k, v in (found.get("data") or {}).items()}
    if kind == "Secret":
        decoded: dict[str, str] = {}
        for key, value in data.items():
            try:
                decoded[key] = base64.b64decode(value).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise SerinusError(
                    f"secret {namespace}/{name}: key {key} is not base64 text"
                ) from None
        data = decoded
        data.update({str(k): str(v) for k, v in (found.get("stringData") or {}).items()})
    return data


async def _key_ref(lookup: Lookup, kind: str, namespace: str, ref: Mapping[str, Any]) -> str | None:
    name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
    data = await _data(lookup, kind, namespace, name)
    if data is None:
        if ref.get("optional"):
            return None
        raise SerinusError(f'{kind.lower()} "{name}" not found')
    if key not in data:
        if ref.get("optional"):
            return None
        raise SerinusError(f"couldn't find key {key} in {kind} {namespace}/{name}")
    return data[key]


async def _env_from(lookup: Lookup, namespace: str, source: Mapping[str, Any]) -> dict[str, str]:
    prefix = str(source.get("prefix") or "")
    for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
        ref = source.get(field)
        if isinstance(ref, Mapping):
            name = str(ref.get("name") or "")
            data = await _data(lookup, kind, namespace, name)
            if data is None:
                if ref.get("optional"):
                    return {}
                raise SerinusError(f'{kind.lower()} "{name}" not found')
            return {f"{prefix}{key}": value for key, value in data.items()}
    return {}


async def container_env(
    pod: Manifest,
    container: Manifest,
    *,
    lookup: Lookup,
    base: Mapping[str, str],
    services: Iterable[Manifest],
) -> dict[str, str]:
    """The environment of ``container`` in ``pod`` (see the module docstring for the order)."""
    namespace = str((pod.get("metadata") or {}).get("namespace") or "")
    env = dict(base)
    if (pod.get("spec") or {}).get("enableServiceLinks", True) is not False:
        env.update(service_links(services, namespace))
    for source in container.get("envFrom") or []:
        if isinstance(source, Mapping):
            env.update(await _env_from(lookup, namespace, source))
    for item in container.get("env") or []:
        if not isinstance(item, Mapping) or not item.get("name"):
            continue
        value = await _env_value(pod, container, item, env, lookup, namespace)
        if value is not None:
            env[str(item["name"])] = value
    return env


async def _env_value(
    pod: Manifest,
    container: Manifest,
    item: Mapping[str, Any],
    env: Mapping[str, str],
    lookup: Lookup,
    namespace: str,
) -> str | None:
    source = item.get("valueFrom")
    if not isinstance(source, Mapping):
        return expand(str(item.get("value") or ""), env)
    if isinstance(source.get("fieldRef"), Mapping):
        return field_value(pod, str(source["fieldRef"].get("fieldPath") or ""))
    if isinstance(source.get("resourceFieldRef"), Mapping):
        return _resource_value(container, source["resourceFieldRef"])
    if isinstance(source.get("configMapKeyRef"), Mapping):
        return await _key_ref(lookup, "ConfigMap", namespace, source["configMapKeyRef"])
    if isinstance(source.get("secretKeyRef"), Mapping):
        return await _key_ref(lookup, "Secret", namespace, source["secretKeyRef"])
    raise SerinusError(f"env {item.get('name')}: unsupported valueFrom {sorted(source)}")
