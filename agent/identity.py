"""The node's identity in the cluster: its key, its certificate naming its container instance,
and the cluster CA, kept in the agent's state dir.

Joining (`skiff agent serve --join-token TOKEN`), as in Docker Swarm:

1. one TLS handshake with the control plane's API port, sending nothing: the CA in the chain it
   shows must have the digest the token carries, or the agent stops there;
2. a key made here (it never leaves the node) and a CSR, sent with the token to Join over TLS
   verified against that CA; the answer is a certificate naming a new instance id, and where
   agents connect (the machines port);
3. from then on every connection is mutual TLS with that certificate, renewed with a new key
   when two thirds of its life have passed.

The files are written owner-only, the key before the certificate that names it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from skiffapi.v1 import agent_pb2, agent_pb2_grpc
from skiffcore import pki

__all__ = ["JoinError", "NodeIdentity"]

log = logging.getLogger("skiff.agent")


class JoinError(Exception):
    """The node cannot join; the message says why and what to do."""


@dataclass
class NodeIdentity:
    state_dir: Path
    cluster: str
    instance_id: str
    machines_endpoint: str
    key_pem: bytes
    certificate_pem: bytes
    ca_pem: bytes

    def __repr__(self) -> str:
        return f"NodeIdentity(instance_id={self.instance_id!r}, key=…)"

    @classmethod
    def load(cls, state_dir: Path, cluster: str) -> "NodeIdentity | None":
        try:
            info = json.loads((state_dir / "identity.json").read_text())
            if info.get("cluster") != cluster:
                return None
            return cls(state_dir, cluster, info["instance_id"], info["machines_endpoint"],
                       (state_dir / "node.key").read_bytes(),
                       (state_dir / "node.crt").read_bytes(), (state_dir / "ca.crt").read_bytes())
        except (OSError, ValueError, KeyError):
            return None

    @classmethod
    def join(cls, state_dir: Path, api_endpoint: str, token_text: str, cluster: str, name: str
             ) -> "NodeIdentity":
        try:
            token = pki.JoinToken.parse(token_text)
        except pki.TokenError as exc:
            raise JoinError(str(exc)) from None
        host, _, port = api_endpoint.rpartition(":")
        try:
            ca_pem = pki.fetch_pinned_ca(host.strip("[]"), int(port), token.ca_digest)
        except pki.PkiError as exc:
            raise JoinError(str(exc)) from None
        key = pki.new_key()
        channel = grpc.secure_channel(api_endpoint, grpc.ssl_channel_credentials(ca_pem))
        try:
            reply = agent_pb2_grpc.JoinServiceStub(channel).Join(agent_pb2.JoinRequest(
                cluster=cluster, name=name, join_token=str(token), csr_pem=pki.csr_for(key)),
                timeout=30)
        except grpc.RpcError as exc:
            raise JoinError(f"the control plane at {api_endpoint} refused the join: "
                            f"{exc.details() or exc.code().name}") from None
        finally:
            channel.close()
        identity = cls(state_dir, cluster, reply.instance_id, reply.machines_endpoint,
                       pki.key_pem(key), reply.certificate_pem, reply.ca_pem or ca_pem)
        identity.save()
        log.info("joined cluster %s as container instance %s", cluster, reply.instance_id)
        return identity

    def save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        _write_private(self.state_dir / "node.key", self.key_pem)
        _write_private(self.state_dir / "node.crt", self.certificate_pem)
        _write_private(self.state_dir / "ca.crt", self.ca_pem)
        _write_private(self.state_dir / "identity.json", json.dumps({
            "cluster": self.cluster, "instance_id": self.instance_id,
            "machines_endpoint": self.machines_endpoint}).encode())

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(self.ca_pem, self.key_pem, self.certificate_pem)

    def not_after(self) -> dt.datetime:
        return pki.identity_of(self.certificate_pem).not_after

    def renew_at(self) -> dt.datetime:
        """When two thirds of the certificate's life have passed (not counting the minutes
        its start is backdated by, for clocks a little out of step)."""
        held = pki.identity_of(self.certificate_pem)
        return held.not_after - (held.not_after - held.not_before - pki.BACKDATE) / 3

    def expired(self, now: dt.datetime | None = None) -> bool:
        return (now or dt.datetime.now(dt.timezone.utc)) >= self.not_after()

    def renew(self, stub: agent_pb2_grpc.AgentServiceStub) -> None:
        """A new key and a certificate for it, asked for with the current one."""
        key = pki.new_key()
        reply = stub.RenewCertificate(agent_pb2.RenewCertificateRequest(
            csr_pem=pki.csr_for(key)), timeout=30)
        self.key_pem, self.certificate_pem = pki.key_pem(key), reply.certificate_pem
        self.save()
        log.info("renewed the certificate of instance %s (valid until %s)", self.instance_id,
                 self.not_after().isoformat(timespec="seconds"))


def _write_private(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
