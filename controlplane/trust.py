"""The cluster's trust, kept in etcd and shared by every control-plane process: its CA, the
node join token, and which instances' certificates are revoked.

- The CA is made once, by whichever process starts first: its certificate in clear, its key
  sealed (`secretbox`) under the key file outside etcd. A second process that raced it loses
  the create-if-absent transaction and loads the winner's.
- The join token is kept sealed, so `skiff node join-token` can print it again; rotating it
  makes a new secret, which refuses joins with the old one and leaves joined nodes alone.
- Revoking an instance (it was deregistered) refuses every certificate naming it; instance ids
  are never reused, so that is final.
- Each process makes its own server key and asks the CA for a certificate naming the addresses
  it listens on and advertises.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from controlplane.authz import Unauthenticated
from controlplane.errors import InvalidParameter
from controlplane.model import Keys, RevokedInstance, SealedRecord
from controlplane.secretbox import SecretBox
from controlplane.store import ABSENT, Conflict
from controlplane.unit_of_work import UnitOfWork
from skiffcore import pki

__all__ = ["ClusterTrust", "ServerIdentity"]

log = logging.getLogger("skiff.controlplane.trust")

SERVER_CERT_TTL = dt.timedelta(days=30)
MAX_CSR_BYTES = 16 * 1024  # a P-256 CSR is under 1 kB; an RSA-8192 one under 4 kB


class ServerIdentity:
    """A control-plane process's key and certificate chain (leaf + CA), PEM."""

    def __init__(self, key_pem: bytes, chain_pem: bytes, ca_pem: bytes) -> None:
        self.key_pem, self.chain_pem, self.ca_pem = key_pem, chain_pem, ca_pem

    def __repr__(self) -> str:
        return "ServerIdentity(key=…)"


class ClusterTrust:
    def __init__(self, work: UnitOfWork, box: SecretBox,
                 agent_cert_ttl: dt.timedelta = dt.timedelta(hours=24)) -> None:
        self.work = work
        self.box = box
        self.agent_cert_ttl = agent_cert_ttl
        self._ca: pki.CertificateAuthority | None = None
        self._lock = threading.Lock()

    # -- the CA -------------------------------------------------------------------------------

    def ca(self) -> pki.CertificateAuthority:
        """The cluster CA, made on first use if etcd has none yet."""
        with self._lock:
            if self._ca is None:
                self._ca = self._load_or_create_ca()
            return self._ca

    def _load_or_create_ca(self) -> pki.CertificateAuthority:
        key = Keys.ca()
        record = self.work.get(SealedRecord, key)
        if record is None:
            ca = pki.CertificateAuthority.create()
            assert ca.key is not None
            sealed = self.box.seal(pki.key_pem(ca.key), key)
            try:
                self.work.commit(puts={key: SealedRecord(sealed, ca.cert_pem.decode(),
                                                         self.work.now_ms()).encode()},
                                 expect={key: ABSENT})
                log.info("created the cluster CA (digest %s)", ca.digest)
                return ca
            except Conflict:  # another process made it first: use that one
                record = self.work.get(SealedRecord, key)
                assert record is not None
        ca_key = pki.load_key(self.box.open(record.sealed, key))
        return pki.CertificateAuthority(record.public.encode(), ca_key)

    def server_identity(self, name: str, dns_names: tuple[str, ...],
                        ip_addresses: tuple[str, ...]) -> ServerIdentity:
        """A fresh key and a certificate for this process (role controlplane), naming where
        clients dial it; the same certificate is its client certificate towards peers."""
        ca = self.ca()
        key = pki.new_key()
        cert = ca.issue(pki.csr_for(key), name, pki.CONTROL_PLANE, SERVER_CERT_TTL,
                        dns_names=dns_names, ip_addresses=ip_addresses)
        return ServerIdentity(pki.key_pem(key), cert + ca.cert_pem, ca.cert_pem)

    def issue_agent_certificate(self, instance_id: str, csr_pem: bytes) -> bytes:
        """A certificate for the caller's CSR; a CSR that is not one is the caller's error."""
        if len(csr_pem) > MAX_CSR_BYTES:
            raise InvalidParameter("csr_pem", f"{len(csr_pem)} bytes is over the limit of "
                                              f"{MAX_CSR_BYTES} bytes")
        try:
            return self.ca().issue(csr_pem, instance_id, pki.AGENT, self.agent_cert_ttl)
        except pki.CertificateError as exc:
            raise InvalidParameter("csr_pem", str(exc)) from None

    # -- the join token -----------------------------------------------------------------------

    def join_token(self, rotate: bool = False) -> pki.JoinToken:
        """The current join token; a new one when `rotate` (or when there is none yet)."""
        key = Keys.join_token()

        def attempt() -> pki.JoinToken:
            record = self.work.get(SealedRecord, key)
            if record is not None and not rotate:
                return pki.JoinToken.parse(self.box.open(record.sealed, key).decode())
            token = pki.JoinToken.new(self.ca().digest)
            self.work.commit(puts={key: SealedRecord(self.box.seal(str(token).encode(), key),
                                                     "", self.work.now_ms()).encode()},
                             expect={key: record.version if record else ABSENT})
            log.info("join token %s", "rotated" if record else "created")
            return token

        return self.work.retry(attempt)

    def check_join_token(self, text: str) -> None:
        """Raise Unauthenticated unless `text` is the current join token of this cluster."""
        try:
            given = pki.JoinToken.parse(text)
        except pki.TokenError as exc:
            raise Unauthenticated(str(exc)) from None
        current = self.join_token()
        if given.ca_digest != current.ca_digest:
            raise Unauthenticated("join token: it is for another cluster (its CA digest differs)")
        if not given.proves(current.secret_hash):
            raise Unauthenticated("join token: not the current one (it may have been rotated): "
                                  "ask an admin for `skiff node join-token`")

    # -- revocation ---------------------------------------------------------------------------

    def revoke_puts(self, cluster: str, instance_id: str) -> dict[str, bytes]:
        """What to write, in the caller's transaction, to revoke an instance's certificates."""
        return {Keys.revoked(instance_id): RevokedInstance(instance_id, cluster,
                                                           self.work.now_ms()).encode()}

    def revoked(self, identity: pki.Identity) -> bool:
        return identity.role == pki.AGENT and self.work.view.revoked(identity.name)

