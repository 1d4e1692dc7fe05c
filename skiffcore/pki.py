"""The cluster's PKI: one CA, certificates that name their holder, join tokens that pin the CA.

As in Docker Swarm:

- The control plane creates one CA per cluster (an ECDSA P-256 key and a self-signed
  certificate) and signs every other certificate with it.
- A certificate names its holder and the holder's role: the subject's common name is the
  holder's id (a container instance id for an agent, a process name for a control-plane
  server), its organizational unit the role (`agent`, `controlplane`). The CA decides both: a
  certificate signing request only contributes its public key, so no one asks for a name.
- A join token, `SKFTKN-1-<sha256 of the CA certificate, hex>-<secret>`, lets a new node check
  on first contact that it talks to this cluster's control plane (the CA it is shown must have
  that digest) before it sends anything, and then prove it may join (the secret). The control
  plane keeps only a hash of the secret.
- A node's private key is generated on the node and never leaves it.

Everything here is pure computation on PEM bytes, except `fetch_pinned_ca`, which opens one TLS
connection and sends nothing over it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import re
import secrets
import socket
import ssl
import _ssl  # the encoding constant for the chain's certificates (public in 3.13)
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["AGENT", "CONTROL_PLANE", "CertificateAuthority", "CertificateError", "Identity",
           "JoinToken", "PkiError", "TokenError", "csr_for", "fetch_pinned_ca", "identity_of",
           "key_pem", "load_key", "new_key"]

AGENT = "agent"
CONTROL_PLANE = "controlplane"
TOKEN_PREFIX = "SKFTKN-1-"
_TOKEN = re.compile(r"^SKFTKN-1-([0-9a-f]{64})-([A-Za-z0-9]{32,128})$")
BACKDATE = dt.timedelta(minutes=5)  # clocks of a home lab's machines are not quite in step


class PkiError(Exception):
    """Base of this module's errors; the message says what is wrong and what to do."""


class TokenError(PkiError):
    """A join token that is malformed, or whose CA digest does not match."""


class CertificateError(PkiError):
    """A certificate not issued by this CA, expired, or not what was expected."""


@dataclass(frozen=True)
class Identity:
    """Who a certificate names."""

    name: str          # the holder: a container instance id, or a control-plane process name
    role: str          # AGENT or CONTROL_PLANE
    serial: int
    not_after: dt.datetime
    not_before: dt.datetime


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey, password: bytes | None = None) -> bytes:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             encryption)


def load_key(pem: bytes, password: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError("expected an EC private key")
    return key


def csr_for(key: ec.EllipticCurvePrivateKey, name: str = "skiff") -> bytes:
    """A certificate signing request for `key` (the CA ignores the name it carries)."""
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


def digest(cert_pem: bytes) -> str:
    """sha256 of the certificate's DER form, hex: what a join token pins."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def identity_of(cert_pem: bytes) -> Identity:
    """Who `cert_pem` names (parsed only: `CertificateAuthority.verify` checks it too)."""
    return _identity(x509.load_pem_x509_certificate(cert_pem))


def _identity(cert: x509.Certificate) -> Identity:
    def attribute(oid: x509.ObjectIdentifier) -> str:
        values = cert.subject.get_attributes_for_oid(oid)
        value = values[0].value if values else ""
        return value.decode() if isinstance(value, bytes) else value

    return Identity(attribute(NameOID.COMMON_NAME), attribute(NameOID.ORGANIZATIONAL_UNIT_NAME),
                    cert.serial_number, cert.not_valid_after_utc, cert.not_valid_before_utc)


class CertificateAuthority:
    """The cluster CA: signs certificates and tells whether one is its own."""

    def __init__(self, cert_pem: bytes, key: ec.EllipticCurvePrivateKey | None = None) -> None:
        self.cert_pem = cert_pem
        self.cert = x509.load_pem_x509_certificate(cert_pem)
        self.key = key  # None: can verify, cannot sign (an agent's copy)
        self.digest = digest(cert_pem)

    @classmethod
    def create(cls, cluster_name: str = "skiff", days: int = 3650,
               now: dt.datetime | None = None) -> "CertificateAuthority":
        key = new_key()
        now = now or dt.datetime.now(dt.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{cluster_name} cluster CA")])
        cert = (x509.CertificateBuilder()
                .subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - BACKDATE).not_valid_after(now + dt.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                             False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .sign(key, hashes.SHA256()))
        return cls(cert.public_bytes(serialization.Encoding.PEM), key)

    def issue(self, csr_pem: bytes, name: str, role: str, ttl: dt.timedelta,
              dns_names: tuple[str, ...] = (), ip_addresses: tuple[str, ...] = (),
              now: dt.datetime | None = None) -> bytes:
        """A certificate for the CSR's key naming `name` in `role`, valid for `ttl`. A server
        certificate also carries the names and addresses clients dial."""
        if self.key is None:
            raise PkiError("this copy of the CA has no key and cannot sign")
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise CertificateError(f"certificate signing request: not a PEM CSR ({exc})") from None
        if not csr.is_signature_valid:
            raise CertificateError("certificate signing request: its signature does not verify")
        now = now or dt.datetime.now(dt.timezone.utc)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                             x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role)])
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
        if role == CONTROL_PLANE:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        builder = (x509.CertificateBuilder()
                   .subject_name(subject).issuer_name(self.cert.subject)
                   .public_key(csr.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - BACKDATE).not_valid_after(now + ttl)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       self.key.public_key()), critical=False))
        alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM)

    def verify(self, cert_pem: bytes, now: dt.datetime | None = None) -> Identity:
        """The identity in `cert_pem` if this CA issued it and it is valid at `now`."""
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
        except ValueError:
            raise CertificateError("not a PEM certificate") from None
        if not self.signed(cert):
            raise CertificateError("certificate signed by an unknown authority")
        now = now or dt.datetime.now(dt.timezone.utc)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            when = cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M:%S")
            raise CertificateError(f"certificate expired at {when} UTC (or is not valid yet)")
        return _identity(cert)

    def signed(self, cert: x509.Certificate) -> bool:
        if cert.issuer != self.cert.subject:
            return False
        public_key = self.cert.public_key()
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        try:
            public_key.verify(cert.signature, cert.tbs_certificate_bytes,
                              ec.ECDSA(cert.signature_hash_algorithm or hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class JoinToken:
    """`SKFTKN-1-<CA digest>-<secret>`: what a node needs to join (a secret: never logged)."""

    ca_digest: str
    secret: str

    @classmethod
    def new(cls, ca_digest: str) -> "JoinToken":
        return cls(ca_digest, secrets.token_hex(24))

    @classmethod
    def parse(cls, text: str) -> "JoinToken":
        match = _TOKEN.match(text.strip())
        if not match:
            raise TokenError("join token: expected SKFTKN-1-<64 hex digits>-<secret>, as "
                             "`skiff node join-token` prints it")
        return cls(match.group(1), match.group(2))

    def __str__(self) -> str:
        return f"{TOKEN_PREFIX}{self.ca_digest}-{self.secret}"

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"JoinToken(ca_digest={self.ca_digest[:12]}…, secret=…)"

    @property
    def secret_hash(self) -> str:
        """What the control plane stores to check the secret later."""
        return hashlib.sha256(self.secret.encode()).hexdigest()

    def proves(self, secret_hash: str) -> bool:
        return hmac.compare_digest(self.secret_hash, secret_hash)


def fetch_pinned_ca(host: str, port: int, ca_digest: str, timeout: float = 10.0) -> bytes:
    """The CA certificate the server at host:port presents, checked against `ca_digest`.

    One TLS handshake, nothing sent: the server's chain must hold a certificate whose digest is
    `ca_digest`, and the server's own certificate must be signed by it. Raises TokenError when it
    is not so (a different cluster, or someone in between)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # nothing is trusted yet: the digest decides below
    context.set_alpn_protocols(["h2"])
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            chain = [x509.load_der_x509_certificate(c.public_bytes(_ssl.ENCODING_DER))
                     for c in _unverified_chain(tls)]
    except (OSError, ssl.SSLError) as exc:
        raise PkiError(f"could not reach the control plane at {host}:{port} over TLS: "
                       f"{exc}") from None
    if not chain:
        raise TokenError(f"the server at {host}:{port} presented no certificate")
    for cert in chain:
        pem = cert.public_bytes(serialization.Encoding.PEM)
        if digest(pem) == ca_digest:
            if not CertificateAuthority(pem).signed(chain[0]):
                raise TokenError(f"the server at {host}:{port} shows the cluster's CA but its own "
                                 f"certificate is not signed by it")
            return pem
    raise TokenError(f"the server at {host}:{port} does not belong to the cluster this join "
                     f"token is for (no certificate in its chain has the token's CA digest)")


def _unverified_chain(tls: ssl.SSLSocket) -> list:
    """The chain the peer sent. Public in Python 3.13; a method of the C object before."""
    getter = getattr(tls, "get_unverified_chain", None) or tls._sslobj.get_unverified_chain  # type: ignore[attr-defined]
    return list(getter() or [])
