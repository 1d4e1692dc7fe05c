"""Secrets at rest: AES-256-GCM under a key that lives outside etcd.

The key is a file in the control plane's state dir (`--secrets-key-file`), made once with mode
0600 and shared by every control-plane process of the cluster. etcd only ever holds sealed
values: `v1.` + base64(nonce ‖ ciphertext ‖ tag). The associated data binds a value to the key
it is stored under, so a sealed value copied to another record does not open there.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["SealedValueError", "SecretBox", "load_or_create_key"]

_VERSION = "v1."
_NONCE = 12


class SealedValueError(Exception):
    """A sealed value that does not open under this key (wrong key, or tampered with)."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the secrets key must be 32 bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(key=…)"

    def seal(self, plaintext: bytes, bound_to: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = nonce + self._aead.encrypt(nonce, plaintext, bound_to.encode())
        return _VERSION + base64.b64encode(sealed).decode()

    def open(self, sealed: str, bound_to: str) -> bytes:
        if not sealed.startswith(_VERSION):
            raise SealedValueError("not a sealed value")
        try:
            raw = base64.b64decode(sealed[len(_VERSION):], validate=True)
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], bound_to.encode())
        except (InvalidTag, ValueError):
            raise SealedValueError("the sealed value does not open with this key (a different "
                                   "--secrets-key-file, or the value was altered)") from None


def load_or_create_key(path: Path) -> bytes:
    """The 32-byte key in `path`, made (mode 0600, created exclusively) when it is absent."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = AESGCM.generate_key(bit_length=256)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of the stack made it first: use theirs
            return load_or_create_key(path)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        return key
    if len(key) != 32:
        raise ValueError(f"{path}: a secrets key is 32 bytes, this file has {len(key)}")
    return key
