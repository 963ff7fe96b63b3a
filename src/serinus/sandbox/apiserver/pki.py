"""The cluster's certificate authority and the API server's serving certificate, made with openssl.

One CA per cluster, kept (certificate and key) in the ``kube-system`` Secret
``serinus-sandbox-ca``, so a restart with a state file keeps it: ``kube-root-ca.crt`` carries its
certificate, and the TLS port of the API server (what pods reach through
``KUBERNETES_SERVICE_HOST``, and the only way kubectl sends a bearer token) serves a certificate
it signs for ``127.0.0.1``, ``localhost`` and ``kubernetes.default.svc``. Made with the
``openssl`` command the sandbox already needs, on an EC P-256 key, in a private temporary folder.
"""

from __future__ import annotations

import base64
import pathlib
import ssl
import subprocess
import tempfile

from serinus.errors import SerinusError
from serinus.sandbox.apiserver.cluster import Cluster
from serinus.sandbox.apiserver.objects import Obj, as_map, new_uid, now

CA_SECRET = "serinus-sandbox-ca"
_HOLDER = "kube-system"
_SUBJECT = "/CN=serinus-sandbox-ca"
_NAMES = "IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc"


def _openssl(*args: str, folder: pathlib.Path) -> None:
    try:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        raise SerinusError(
            f"openssl {args[0]} failed ({error}): {detail.decode(errors='replace')[-300:]}"
        ) from None


def authority(cluster: Cluster) -> tuple[str, str]:
    """The cluster CA's certificate and key (PEM), made and stored on first use."""
    stored = cluster.store.get("secrets", _HOLDER, CA_SECRET)
    data = as_map(stored.get("data") if stored else None)
    if data.get("tls.crt") and data.get("tls.key"):
        return (
            base64.b64decode(str(data["tls.crt"])).decode(),
            base64.b64decode(str(data["tls.key"])).decode(),
        )
    with tempfile.TemporaryDirectory(prefix="serinus-ca-") as name:
        folder = pathlib.Path(name)
        _openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "3650", "-subj", _SUBJECT, "-keyout", "ca.key", "-out", "ca.crt",
            folder=folder,
        )  # fmt: skip
        cert, key = (folder / "ca.crt").read_text(), (folder / "ca.key").read_text()
    secret: Obj = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": CA_SECRET,
            "namespace": _HOLDER,
            "uid": new_uid(),
            "creationTimestamp": now(),
        },
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64.b64encode(cert.encode()).decode(),
            "tls.key": base64.b64encode(key.encode()).decode(),
        },
    }
    cluster.store.add("secrets", secret)
    return cert, key


def serving_context(cluster: Cluster) -> ssl.SSLContext:
    """A TLS server context with a fresh certificate signed by the cluster CA."""
    cert, key = authority(cluster)
    with tempfile.TemporaryDirectory(prefix="serinus-tls-") as name:
        folder = pathlib.Path(name)
        (folder / "ca.crt").write_text(cert)
        (folder / "ca.key").write_text(key)
        (folder / "ca.key").chmod(0o600)
        (folder / "ext.cnf").write_text(f"subjectAltName={_NAMES}\n")
        _openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=kube-apiserver", "-keyout", "server.key", "-out", "server.csr",
            folder=folder,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "365", "-extfile", "ext.cnf", "-out", "server.crt",
            folder=folder,
        )  # fmt: skip
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(folder / "server.crt", folder / "server.key")
    return context
