"""Who is calling, found once per call at the gRPC door, then checked against `authz`.

Two kinds of credentials reach the control plane:

- a client certificate (mutual TLS) issued by the cluster CA: agents (role `agent`, named by
  their container instance id) and other control-plane processes (role `controlplane`);
- a user's bearer token in the `authorization` metadata (`Bearer skf_...`): the control plane
  keeps only its sha256 and finds the user by it.

They arrive on two ports. gRPC's Python server either requires a client certificate or never
asks for one (it has no "verify if given"), so the API port (users, and nodes joining with a
token) asks for none, and the machines port (agents and control-plane peers, as ECS agents
have an endpoint of their own) requires one. Both run the same interceptor and table.

`AuthInterceptor` wraps every method handler: it finds the principal, applies
`authz.authorize`, and keeps the principal where the servicer can read it
(`current_principal()`) for the checks that depend on the request (an agent acts only for its
own instance). A certificate's checks (issued by this CA, in its validity, not revoked) run
once per certificate and are remembered until it expires.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import secrets
import threading
from typing import Callable, Iterable, Protocol

import grpc

from controlplane import authz
from controlplane.authz import Principal, PermissionDenied, Unauthenticated
from skiffcore import pki

__all__ = ["AuthInterceptor", "Authenticator", "TokenHolder", "UserCredential",
           "current_principal", "new_user_token", "token_hash"]

TOKEN_PREFIX = "skf_"
_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal",
                                                                      default=authz.NOBODY)


def new_user_token() -> str:
    """A user's credential: shown once, stored only as `token_hash`."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def current_principal() -> Principal:
    """The caller of the method being served (set by AuthInterceptor)."""
    return _principal.get()


class TokenHolder(Protocol):
    """What a token hash leads to: a stored user record, or a `UserCredential`."""

    name: str
    role: str


class UserCredential:
    """What a token hash leads to."""

    __slots__ = ("name", "role")

    def __init__(self, name: str, role: str) -> None:
        self.name, self.role = name, role


class Authenticator:
    """Finds the principal behind a call's credentials.

    `users(token_hash)` returns the user holding a token (or None); `revoked(identity)` tells
    whether a certificate was revoked (every certificate naming a deregistered instance is)."""

    def __init__(self, ca: pki.CertificateAuthority,
                 users: Callable[[str], TokenHolder | None],
                 revoked: Callable[[pki.Identity], bool],
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)):
        self.ca = ca
        self.users = users
        self.revoked = revoked
        self.clock = clock
        self._checked: dict[bytes, pki.Identity] = {}  # certificate PEM -> identity
        self._lock = threading.Lock()

    def principal(self, metadata: Iterable[tuple[str, str | bytes]],
                  peer_cert_pem: bytes | None) -> Principal:
        if peer_cert_pem:
            identity = self._certificate(peer_cert_pem)
            role = identity.role if identity.role in (pki.AGENT, pki.CONTROL_PLANE) else ""
            if not role:
                raise Unauthenticated(f"certificate of {identity.name} has no known role")
            return Principal("agent" if role == pki.AGENT else "controlplane", identity.name,
                             role)
        for key, value in metadata:
            if key == "authorization":
                text = value.decode() if isinstance(value, bytes) else value
                scheme, _, token = text.partition(" ")
                if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX):
                    raise Unauthenticated("authorization: expected `Bearer skf_...`; run "
                                          "`skiff login`")
                user = self.users(token_hash(token.strip()))
                if user is None:
                    raise Unauthenticated("the token is not valid (unknown, rotated or its user "
                                          "removed): run `skiff login` with a current token")
                return Principal("user", user.name, user.role)
        return authz.NOBODY

    def _certificate(self, pem: bytes) -> pki.Identity:
        now = self.clock()
        with self._lock:
            identity = self._checked.get(pem)
        if identity is None:
            try:
                identity = self.ca.verify(pem, now)
            except pki.CertificateError as exc:
                raise Unauthenticated(f"client certificate: {exc}") from None
            with self._lock:
                if len(self._checked) > 10_000:  # bounded: expired ones are dropped below
                    self._checked.clear()
                self._checked[pem] = identity
        if identity.not_after < now:
            with self._lock:
                self._checked.pop(pem, None)
            raise Unauthenticated(f"client certificate of {identity.name} expired: the agent "
                                  f"renews it before expiry; join the node again")
        if self.revoked(identity):
            raise Unauthenticated(f"client certificate of {identity.name} was revoked (its "
                                  f"instance was deregistered): join the node again")
        return identity


def _peer_cert(context: grpc.ServicerContext) -> bytes | None:
    certs = context.auth_context().get("x509_pem_cert")
    return certs[0] if certs else None


class AuthInterceptor(grpc.ServerInterceptor):
    """Authenticates and authorizes every call before its handler runs."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method

        def admit(context: grpc.ServicerContext) -> None:
            try:
                principal = self.authenticator.principal(context.invocation_metadata(),
                                                         _peer_cert(context))
                authz.authorize(principal, method)
            except Unauthenticated as exc:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
            except PermissionDenied as exc:
                context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
            _principal.set(principal)

        if handler.unary_unary:
            inner_uu = handler.unary_unary

            def unary_unary(request, context):
                admit(context)
                return inner_uu(request, context)

            return handler._replace(unary_unary=unary_unary)
        if handler.unary_stream:
            inner_us = handler.unary_stream

            def unary_stream(request, context):
                admit(context)
                yield from inner_us(request, context)

            return handler._replace(unary_stream=unary_stream)
        if handler.stream_unary:
            inner_su = handler.stream_unary

            def stream_unary(requests, context):
                admit(context)
                return inner_su(requests, context)

            return handler._replace(stream_unary=stream_unary)
        inner_ss = handler.stream_stream

        def stream_stream(requests, context):
            admit(context)
            yield from inner_ss(requests, context)

        return handler._replace(stream_stream=stream_stream)
