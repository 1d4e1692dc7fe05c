"""The client config: named contexts, each an endpoint, the cluster CA and a user's token.

Like docker contexts or a kubeconfig. The file is `$SKIFF_CONFIG`, or `~/.skiff/config.json`,
written with mode 0600 since it holds credentials:

    {"current": "local",
     "contexts": {"local": {"endpoint": "127.0.0.1:7070", "user": "admin",
                            "ca": "-----BEGIN CERTIFICATE-----...", "token": "skf_..."}}}

`skiff up` writes the `local` context; `skiff login` adds or updates one; `skiff context use`
picks the current one. An `--endpoint` or `SKIFF_ENDPOINT` given on the command line selects the
context with that endpoint, if there is one. The CLI, the stack harness, tests and benchmarks
all reach the API through `channel_for(context)`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc

__all__ = ["ClientConfig", "Context", "ContextError", "bootstrap_context", "bootstrap_document",
           "channel_for", "config_path"]


class ContextError(Exception):
    """A config file or context that cannot be used; the message says what to do."""


@dataclass
class Context:
    endpoint: str
    ca: str = ""      # PEM of the cluster CA; empty: plaintext (a control plane without TLS)
    token: str = ""   # the user's bearer token (a secret: never printed)
    user: str = ""

    def __repr__(self) -> str:
        return (f"Context(endpoint={self.endpoint!r}, user={self.user!r}, "
                f"ca={'yes' if self.ca else 'no'}, token={'…' if self.token else 'none'})")


@dataclass
class ClientConfig:
    path: Path
    current: str = ""
    contexts: dict[str, Context] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> "ClientConfig":
        path = path or config_path()
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            raise ContextError(f"{path}: cannot read the client config ({exc})") from None
        try:
            contexts = {name: Context(**value) for name, value in data.get("contexts", {}).items()}
        except TypeError as exc:
            raise ContextError(f"{path}: a context has an unknown field ({exc})") from None
        return cls(path, data.get("current", ""), contexts)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"current": self.current,
                           "contexts": {n: asdict(c) for n, c in self.contexts.items()}},
                          indent=2)
        temporary = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
        os.replace(temporary, self.path)

    def put(self, name: str, context: Context, make_current: bool = True) -> None:
        self.contexts[name] = context
        if make_current or not self.current:
            self.current = name

    def use(self, name: str) -> None:
        if name not in self.contexts:
            raise ContextError(f"no context {name!r}; known: {', '.join(sorted(self.contexts)) or 'none'}"
                               f" (add one with `skiff login`)")
        self.current = name

    def resolve(self, endpoint: str | None) -> Context:
        """The context to use: the one for `endpoint` when given (or a bare one for an endpoint
        no context knows), else the current one."""
        if endpoint:
            for context in self.contexts.values():
                if context.endpoint == endpoint:
                    return context
            return Context(endpoint)
        if self.current in self.contexts:
            return self.contexts[self.current]
        return Context("127.0.0.1:7070")


def config_path() -> Path:
    return Path(os.environ.get("SKIFF_CONFIG") or Path.home() / ".skiff" / "config.json")


def channel_for(context: Context, options: list[tuple[str, int]] | None = None) -> grpc.Channel:
    """TLS verified against the context's CA, with its token on every call; plaintext only
    for a context without a CA (a control plane serving plaintext on loopback)."""
    if not context.ca:
        return grpc.insecure_channel(context.endpoint, options=options)
    credentials = grpc.ssl_channel_credentials(context.ca.encode())
    if context.token:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(context.token))
    return grpc.secure_channel(context.endpoint, credentials, options=options)


def bootstrap_document(context: Context) -> str:
    """What a control plane writes to its bootstrap file (0600) when it makes the first admin:
    that admin's context, which `bootstrap_context` reads back."""
    return json.dumps({"endpoint": context.endpoint, "ca": context.ca, "token": context.token,
                       "user": context.user}, indent=2)


def bootstrap_context(path: Path) -> Context | None:
    """The first admin's context from a control plane's bootstrap file, if it has written one."""
    try:
        data = json.loads(path.read_text())
        return Context(data["endpoint"], data["ca"], data["token"], data["user"])
    except (OSError, ValueError, KeyError):
        return None
