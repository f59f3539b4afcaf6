"""DaskExecutor on a cluster that requires TLS, with certificates generated here."""

from __future__ import annotations

import datetime
import ipaddress
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip(
    "distributed", reason="distributed is not installed (pip install distributed)"
)
x509 = pytest.importorskip("cryptography.x509")

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from futurist.executors.dask import DaskExecutor  # noqa: E402


def _name(common_name: str) -> Any:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _make_ca(directory: Path, label: str) -> tuple[Any, ec.EllipticCurvePrivateKey, Path]:
    """A self-signed CA; returns its certificate, key and PEM file."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} CA"))
        .issuer_name(_name(f"{label} CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{label}-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key, path


def _make_leaf(
    directory: Path, label: str, ca_cert: Any, ca_key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by the CA, usable as server and client."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(label))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path = directory / f"{label}-cert.pem"
    key_path = directory / f"{label}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_path)
    return cert_path, key_path


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("tls")
    ca_cert, ca_key, ca_file = _make_ca(directory, "cluster")
    cluster_cert, cluster_key = _make_leaf(directory, "cluster", ca_cert, ca_key)
    client_cert, client_key = _make_leaf(directory, "client", ca_cert, ca_key)
    rogue_ca_cert, rogue_ca_key, rogue_ca_file = _make_ca(directory, "rogue")
    rogue_cert, rogue_key = _make_leaf(directory, "rogue", rogue_ca_cert, rogue_ca_key)
    return {
        "ca": ca_file,
        "cluster_cert": cluster_cert,
        "cluster_key": cluster_key,
        "client_cert": client_cert,
        "client_key": client_key,
        "rogue_ca": rogue_ca_file,
        "rogue_cert": rogue_cert,
        "rogue_key": rogue_key,
    }


@pytest.fixture(scope="module")
def tls_cluster(certificates: dict[str, Path]) -> Iterator[Any]:
    """A LocalCluster whose scheduler and worker accept only TLS with our CA's certificates."""
    security = distributed.security.Security(
        tls_ca_file=str(certificates["ca"]),
        tls_scheduler_cert=str(certificates["cluster_cert"]),
        tls_scheduler_key=str(certificates["cluster_key"]),
        tls_worker_cert=str(certificates["cluster_cert"]),
        tls_worker_key=str(certificates["cluster_key"]),
        tls_client_cert=str(certificates["cluster_cert"]),
        tls_client_key=str(certificates["cluster_key"]),
        require_encryption=True,
    )
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        host="127.0.0.1",
        protocol="tls://",
        security=security,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster:
        yield cluster


def add(left: int, right: int) -> int:
    return left + right


def test_executor_with_the_cluster_certificates_runs_work(
    tls_cluster: Any, certificates: dict[str, Path]
) -> None:
    address = tls_cluster.scheduler_address
    assert address.startswith("tls://127.0.0.1:")
    with DaskExecutor(
        scheduler_address=address,
        tls_ca_file=str(certificates["ca"]),
        tls_cert_file=str(certificates["client_cert"]),
        tls_key_file=str(certificates["client_key"]),
    ) as executor:
        assert executor.submit(add, 2, 3).result(timeout=30) == 5
    assert executor.statistics.executed == 1


def threads_started_since(before: set[threading.Thread]) -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread not in before]


# A refused client must be closed at once: Dask would leave its event loop's thread running,
# and close it from whichever thread later collects it (a Dask loop, or the interpreter's
# exit), blocking that thread for twice the connect timeout.


def test_client_without_a_certificate_is_refused_and_left_closed(tls_cluster: Any) -> None:
    address = tls_cluster.scheduler_address
    before = set(threading.enumerate())
    with pytest.raises(ConnectionError) as raised:
        DaskExecutor(scheduler_address=address, connect_timeout=1)
    message = str(raised.value)
    assert address in message
    assert "pass tls_ca_file, tls_cert_file and tls_key_file" in message
    assert threads_started_since(before) == []


def test_client_with_a_certificate_from_another_ca_is_refused_and_left_closed(
    tls_cluster: Any, certificates: dict[str, Path]
) -> None:
    address = tls_cluster.scheduler_address
    before = set(threading.enumerate())
    with pytest.raises(ConnectionError, match="cannot reach the Dask scheduler"):
        DaskExecutor(
            scheduler_address=address,
            tls_ca_file=str(certificates["rogue_ca"]),
            tls_cert_file=str(certificates["rogue_cert"]),
            tls_key_file=str(certificates["rogue_key"]),
            connect_timeout=1,
        )
    assert threads_started_since(before) == []


def test_tls_files_with_a_plain_tcp_address_are_refused(certificates: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="is not a tls:// address"):
        DaskExecutor(
            scheduler_address="tcp://127.0.0.1:8786",
            tls_ca_file=str(certificates["ca"]),
            tls_cert_file=str(certificates["client_cert"]),
            tls_key_file=str(certificates["client_key"]),
        )


def test_own_local_cluster_uses_tls_with_the_files(certificates: dict[str, Path]) -> None:
    with DaskExecutor(
        n_workers=1,
        processes=False,
        tls_ca_file=str(certificates["ca"]),
        tls_cert_file=str(certificates["cluster_cert"]),
        tls_key_file=str(certificates["cluster_key"]),
    ) as executor:
        assert executor.scheduler_address.startswith("tls://127.0.0.1:")
        assert list(executor.map(add, [1, 2, 3], [1, 1, 1], chunksize=2)) == [2, 3, 4]
