"""Secrets at rest: sealed values open only under their key and record."""

from __future__ import annotations

import os
import stat

import pytest

from controlplane.secretbox import SealedValueError, SecretBox, load_or_create_key


def test_seal_and_open():
    box = SecretBox(os.urandom(32))
    sealed = box.seal(b"hunter2", "/skiff/secrets/db")
    assert "hunter2" not in sealed and sealed.startswith("v1.")
    assert box.open(sealed, "/skiff/secrets/db") == b"hunter2"
    assert box.seal(b"hunter2", "k") != box.seal(b"hunter2", "k")  # fresh nonce each time


def test_a_value_moved_to_another_key_does_not_open():
    box = SecretBox(os.urandom(32))
    with pytest.raises(SealedValueError):
        box.open(box.seal(b"x", "/skiff/secrets/a"), "/skiff/secrets/b")


def test_another_key_or_a_changed_value_does_not_open():
    sealed = SecretBox(os.urandom(32)).seal(b"x", "k")
    with pytest.raises(SealedValueError, match="secrets-key-file"):
        SecretBox(os.urandom(32)).open(sealed, "k")
    box = SecretBox(os.urandom(32))
    sealed = box.seal(b"x", "k")
    tampered = sealed[:-4] + ("AAAA" if sealed[-4:] != "AAAA" else "BBBB")
    with pytest.raises(SealedValueError):
        box.open(tampered, "k")


def test_key_file_is_made_once_and_private(tmp_path):
    path = tmp_path / "state" / "secrets.key"
    key = load_or_create_key(path)
    assert len(key) == 32 and load_or_create_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_short_key_file_is_refused(tmp_path):
    path = tmp_path / "secrets.key"
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        load_or_create_key(path)


def test_the_key_is_not_in_the_repr():
    key = os.urandom(32)
    assert key.hex() not in repr(SecretBox(key))
