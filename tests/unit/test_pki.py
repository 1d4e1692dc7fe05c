"""The cluster PKI: what the CA signs and refuses, join tokens, and pinning the CA on first
contact against a real TLS server."""

from __future__ import annotations

import datetime as dt
from concurrent import futures

import grpc
import pytest

from skiffcore import pki

HOUR = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    return pki.CertificateAuthority.create("test")


def test_issued_certificate_names_holder_and_role_not_the_csr(ca):
    key = pki.new_key()
    cert = ca.issue(pki.csr_for(key, "i-forged"), "i-123", pki.AGENT, HOUR)
    identity = ca.verify(cert)
    assert (identity.name, identity.role) == ("i-123", pki.AGENT)


def test_certificate_from_another_ca_is_refused(ca):
    other = pki.CertificateAuthority.create("other")
    cert = other.issue(pki.csr_for(pki.new_key()), "i-1", pki.AGENT, HOUR)
    with pytest.raises(pki.CertificateError, match="unknown authority"):
        ca.verify(cert)


def test_expired_certificate_is_refused(ca):
    cert = ca.issue(pki.csr_for(pki.new_key()), "i-1", pki.AGENT, dt.timedelta(minutes=1))
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)
    with pytest.raises(pki.CertificateError, match="expired"):
        ca.verify(cert, now=later)


def test_a_csr_with_a_bad_signature_is_refused(ca):
    csr = bytearray(pki.csr_for(pki.new_key()))
    csr[200] ^= 1  # flips a bit inside the base64 of the signed part
    with pytest.raises(pki.CertificateError):
        ca.issue(bytes(csr), "i-1", pki.AGENT, HOUR)


def test_a_copy_without_the_key_verifies_but_cannot_sign(ca):
    copy = pki.CertificateAuthority(ca.cert_pem)
    cert = ca.issue(pki.csr_for(pki.new_key()), "i-1", pki.AGENT, HOUR)
    assert copy.verify(cert).name == "i-1"
    with pytest.raises(pki.PkiError, match="cannot sign"):
        copy.issue(pki.csr_for(pki.new_key()), "i-2", pki.AGENT, HOUR)


def test_key_round_trip_with_password():
    key = pki.new_key()
    pem = pki.key_pem(key, b"pw")
    assert b"ENCRYPTED" in pem
    assert pki.load_key(pem, b"pw").private_numbers() == key.private_numbers()


def test_join_token_round_trip_and_proof(ca):
    token = pki.JoinToken.new(ca.digest)
    parsed = pki.JoinToken.parse(str(token))
    assert parsed == token and parsed.proves(token.secret_hash)
    assert not pki.JoinToken.new(ca.digest).proves(token.secret_hash)
    assert token.secret not in repr(token)


@pytest.mark.parametrize("text", ["", "SKFTKN-1-abc-def", "SWMTKN-1-" + "a" * 64 + "-" + "b" * 40,
                                  "SKFTKN-1-" + "g" * 64 + "-" + "b" * 40])
def test_malformed_join_tokens_are_refused(text):
    with pytest.raises(pki.TokenError, match="expected SKFTKN-1-"):
        pki.JoinToken.parse(text)


def tls_server(ca: pki.CertificateAuthority) -> tuple[grpc.Server, int]:
    key = pki.new_key()
    cert = ca.issue(pki.csr_for(key), "cp-1", pki.CONTROL_PLANE, HOUR,
                    ip_addresses=("127.0.0.1",))
    server = grpc.server(futures.ThreadPoolExecutor(1))
    creds = grpc.ssl_server_credentials([(pki.key_pem(key), cert + ca.cert_pem)])
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    return server, port


def test_fetch_pinned_ca_accepts_the_right_cluster_only(ca):
    server, port = tls_server(ca)
    try:
        assert pki.fetch_pinned_ca("127.0.0.1", port, ca.digest) == ca.cert_pem
        other = pki.CertificateAuthority.create("other")
        with pytest.raises(pki.TokenError, match="does not belong to the cluster"):
            pki.fetch_pinned_ca("127.0.0.1", port, other.digest)
    finally:
        server.stop(None)


def test_fetch_pinned_ca_from_a_plaintext_port_says_so():
    server = grpc.server(futures.ThreadPoolExecutor(1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with pytest.raises(pki.PkiError, match="over TLS"):
            pki.fetch_pinned_ca("127.0.0.1", port, "0" * 64, timeout=5)
    finally:
        server.stop(None)
