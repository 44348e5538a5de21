"""Signed checkpoints of the decision log, as Certificate Transparency's signed tree heads.

A checkpoint is one line of JSON, signed with an Ed25519 key the database never sees::

    {"format":"adjudicator-checkpoint/1","size":162,"head":"337e…","at":"2026-03-20T02:00:00+00:00",
     "key":"9f2c…","signature":"<base64>"}

``size`` is how many entries the log had, ``head`` the hash of entry ``size`` (64 zeros for an
empty log), ``at`` the operator's clock when it was signed, ``key`` the signing key's id (the
first 16 hex digits of the SHA-256 of its raw public key) and ``signature`` the base64 Ed25519
signature over the canonical JSON (:func:`adjudicator.auditlog.canonical`) of the other five
fields. Kept outside the database, each line pins the log's first ``size`` entries: a log that
no longer has an entry ``size`` hashing to ``head`` was cut or rewritten, however carefully its
later hashes and its head row were recomputed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from adjudicator.auditlog import GENESIS, canonical
from adjudicator.errors import UsageError

if TYPE_CHECKING:  # cryptography is imported where a key is made, read or used
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "FORMAT",
    "Checkpoint",
    "Checkpoints",
    "MalformedCheckpoint",
    "SigningKey",
    "VerifyKey",
    "extension_problem",
    "load_signing_key",
    "load_verify_key",
    "write_keypair",
]

FORMAT = "adjudicator-checkpoint/1"
_FIELDS = ("format", "size", "head", "at", "key", "signature")
_HASH = re.compile(r"[0-9a-f]{64}")


class MalformedCheckpoint(ValueError):
    """A line that is not a well-formed checkpoint; the message says what is wrong."""


@dataclass(frozen=True)
class Checkpoint:
    """One signed checkpoint: the log had ``size`` entries, the last hashing to ``head``."""

    size: int
    head: str
    at: str  # RFC 3339, with an offset
    key: str  # the signing key's id
    signature: str  # base64

    def signed_part(self) -> bytes:
        """The bytes the signature is over: the canonical JSON of every field but it."""
        return canonical(
            {"format": FORMAT, "size": self.size, "head": self.head, "at": self.at, "key": self.key}
        )

    def line(self) -> str:
        """The checkpoint as one line of JSON (no newline)."""
        fields = {"format": FORMAT, "size": self.size, "head": self.head, "at": self.at}
        fields |= {"key": self.key, "signature": self.signature}
        return json.dumps(fields, separators=(",", ":"))

    @classmethod
    def parse(cls, line: str) -> Checkpoint:
        """A checkpoint line; raises :class:`MalformedCheckpoint` saying what is wrong."""
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            raise MalformedCheckpoint("is not JSON") from None
        if not isinstance(data, dict):
            raise MalformedCheckpoint("is not a JSON object")
        if data.get("format") != FORMAT:
            raise MalformedCheckpoint(f"is not an {FORMAT} line (format {data.get('format')!r})")
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise MalformedCheckpoint(f"has fields no checkpoint has: {', '.join(unknown)}")
        missing = [name for name in _FIELDS if name not in data]
        if missing:
            raise MalformedCheckpoint(f"lacks {', '.join(missing)}")
        size, head, at = data["size"], data["head"], data["at"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise MalformedCheckpoint(f"size {size!r} is not a count of entries")
        if not isinstance(head, str) or not _HASH.fullmatch(head):
            raise MalformedCheckpoint(f"head {head!r} is not a SHA-256 in lowercase hex")
        if not isinstance(at, str) or not _instant(at):
            raise MalformedCheckpoint(f"at {at!r} is not an RFC 3339 time with an offset")
        if not isinstance(data["key"], str):
            raise MalformedCheckpoint(f"key {data['key']!r} is not a key id")
        signature = data["signature"]
        if not isinstance(signature, str) or len(_unbase64(signature)) != 64:
            raise MalformedCheckpoint("signature is not 64 bytes of base64")
        return cls(size, head, at, data["key"], signature)


class VerifyKey:
    """An Ed25519 public key that checks checkpoints."""

    def __init__(self, key: Ed25519PublicKey) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self._key = key
        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    def pem(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return self._key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    def problem(self, checkpoint: Checkpoint) -> str | None:
        """Why ``checkpoint`` was not signed by this key, or None when it was."""
        from cryptography.exceptions import InvalidSignature

        if checkpoint.key != self.key_id:
            return f"is signed by key {checkpoint.key}, not by the public key given ({self.key_id})"
        try:
            self._key.verify(_unbase64(checkpoint.signature), checkpoint.signed_part())
        except InvalidSignature:
            return "its signature does not verify (the line was altered, or forged)"
        return None


class SigningKey:
    """An Ed25519 private key that signs checkpoints."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = VerifyKey(key.public_key())

    @classmethod
    def generate(cls) -> SigningKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.generate())

    def pem(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        return self._key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())

    def sign(self, size: int, head: str, at: datetime) -> Checkpoint:
        """The checkpoint of a log of ``size`` entries whose last hashes to ``head``, at ``at``
        (an aware time; written in UTC to the second)."""
        if at.tzinfo is None:
            raise UsageError(f"checkpoint time {at.isoformat()}: needs an offset")
        stamp = at.astimezone(UTC).isoformat(timespec="seconds")
        unsigned = Checkpoint(size, head, stamp, self.public.key_id, "")
        signature = base64.b64encode(self._key.sign(unsigned.signed_part())).decode()
        return Checkpoint(size, head, stamp, self.public.key_id, signature)


@dataclass(frozen=True)
class Checkpoints:
    """Checkpoint lines to hold a log to (a file's lines, numbered from 1; blank lines are
    skipped), and the public key they must be signed with."""

    lines: tuple[str, ...]
    key: VerifyKey

    @classmethod
    def read(cls, path: Path, key: VerifyKey, *, first: bool = False) -> Checkpoints:
        """The lines of the file ``path``, to be signed by ``key``; raises :class:`UsageError`
        when it cannot be read or holds no line. ``first``: a missing or empty file is no
        checkpoint yet (a scheduled job's first run), not an error."""
        if first and not path.exists():
            return cls((), key)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise UsageError(f"{path}: cannot read: {why or exc}") from None
        lines = tuple(text.splitlines())
        if not first and not any(line.strip() for line in lines):
            raise UsageError(f"{path}: holds no checkpoint")
        return cls(lines, key)


def extension_problem(
    checkpoint: Checkpoint, entries: int, hashes: Mapping[int, str | None]
) -> str | None:
    """Why a log of ``entries`` entries does not extend ``checkpoint``, or None when it does.
    ``hashes[n]`` is entry n's hash as computed from its content (None: unreadable); it must
    hold ``checkpoint.size`` when the log is that long."""
    size, signed = checkpoint.size, f"at {checkpoint.at}"
    if size > entries:
        return (
            f"signed {size} entries {signed}, but the log has {entries}: "
            "entries were deleted (a cut tail or a truncated log)"
        )
    found = GENESIS if size == 0 else hashes[size]
    if found is None:
        return f"signed entry {size} {signed}, which is now unreadable"
    if found != checkpoint.head:
        return (
            f"signed entry {size} with hash {checkpoint.head[:12]}… {signed}, but it now hashes "
            f"to {found[:12]}…: the log up to it was rewritten"
        )
    return None


def write_keypair(path: Path) -> SigningKey:
    """A new key: the private key in ``path`` (PEM, PKCS #8, readable by its owner only) and the
    public key in ``path.pub``. Refuses, changing nothing, if either file is there."""
    public = Path(f"{path}.pub")
    for target in (path, public):
        if target.exists() or target.is_symlink():
            raise UsageError(f"{target}: already exists; a key is never overwritten")
    key = SigningKey.generate()
    _write_new(path, key.pem(), 0o600)
    try:
        _write_new(public, key.public.pem(), 0o644)
    except UsageError:
        path.unlink()
        raise
    return key


def load_signing_key(path: Path) -> SigningKey:
    """The private key in ``path``; raises :class:`UsageError` saying why it cannot be used."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = _read(path)
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise UsageError(f"{path}: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"{path}: not an Ed25519 key")
    return SigningKey(key)


def load_verify_key(path: Path) -> VerifyKey:
    """The public key in ``path``; raises :class:`UsageError` saying why it cannot be used."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    data = _read(path)
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        hint = " (that is a private key; give its .pub)" if b"PRIVATE KEY" in data else ""
        raise UsageError(f"{path}: not a PEM public key{hint}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{path}: not an Ed25519 key")
    return VerifyKey(key)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise UsageError(f"{path}: already exists; a key is never overwritten") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), mode)  # whatever the umask
        out.write(data)


def _unbase64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _instant(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False
