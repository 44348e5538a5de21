"""Checkpoint lines and keys (adjudicator.checkpoint): no database."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_public_key,
)

from adjudicator.auditlog import GENESIS, Chain, MemoryJournal
from adjudicator.checkpoint import (
    Checkpoint,
    MalformedCheckpoint,
    SigningKey,
    extension_problem,
    load_signing_key,
    load_verify_key,
    write_keypair,
)
from adjudicator.errors import UsageError

AT = datetime(2026, 3, 20, 18, 0, tzinfo=timezone(timedelta(hours=8)))
HEAD = "ab" * 32


def test_a_line_verifies_with_nothing_but_the_documented_format(tmp_path: Path) -> None:
    """What docs/audit.md tells an auditor: the signature is over the canonical JSON (sorted
    keys, no spaces, UTF-8) of every field but the signature; the key id is the first 16 hex
    digits of the SHA-256 of the raw public key."""
    key = write_keypair(tmp_path / "k")
    line = key.sign(162, HEAD, AT).line()
    fields = json.loads(line)
    assert list(fields) == ["format", "size", "head", "at", "key", "signature"]
    assert fields["at"] == "2026-03-20T10:00:00+00:00"  # the operator's clock, in UTC
    public = load_pem_public_key((tmp_path / "k.pub").read_bytes())
    assert isinstance(public, Ed25519PublicKey)
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert fields["key"] == hashlib.sha256(raw).hexdigest()[:16]
    signature = base64.b64decode(fields.pop("signature"))
    signed = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    public.verify(signature, signed.encode())  # raises if not


@pytest.mark.parametrize(
    ("field", "value"),
    [("size", 161), ("head", "cd" * 32), ("at", "2026-03-20T10:00:01+00:00")],
)
def test_an_altered_field_fails_the_signature(field: str, value: object) -> None:
    key = SigningKey.generate()
    altered = json.loads(key.sign(162, HEAD, AT).line())
    altered[field] = value
    why = key.public.problem(Checkpoint.parse(json.dumps(altered)))
    assert why == "its signature does not verify (the line was altered, or forged)"


def test_another_keys_checkpoint_is_named_by_both_ids() -> None:
    mine, theirs = SigningKey.generate(), SigningKey.generate()
    why = mine.public.problem(theirs.sign(1, HEAD, AT))
    assert why == (
        f"is signed by key {theirs.public.key_id}, not by the public key given "
        f"({mine.public.key_id})"
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"size": -1}, "size -1 is not a count of entries"),
        ({"size": True}, "size True is not a count of entries"),
        ({"head": "AB" * 32}, "is not a SHA-256 in lowercase hex"),
        ({"at": "2026-03-20T10:00:00"}, "is not an RFC 3339 time with an offset"),
        ({"key": 7}, "key 7 is not a key id"),
        ({"signature": "c2hvcnQ="}, "signature is not 64 bytes of base64"),
        ({"extra": 1}, "has fields no checkpoint has: extra"),
        ({"format": "adjudicator-checkpoint/2"}, "is not an adjudicator-checkpoint/1 line"),
    ],
)
def test_malformed_lines_say_what_is_wrong(change: dict[str, object], named: str) -> None:
    line = {**json.loads(SigningKey.generate().sign(1, HEAD, AT).line()), **change}
    with pytest.raises(MalformedCheckpoint, match=named.replace("(", r"\(")):
        Checkpoint.parse(json.dumps(line))
    with pytest.raises(MalformedCheckpoint, match="is not a JSON object"):
        Checkpoint.parse("[1]")


def test_a_time_without_an_offset_is_not_signed() -> None:
    with pytest.raises(UsageError, match="needs an offset"):
        SigningKey.generate().sign(1, HEAD, datetime(2026, 3, 20))


def test_a_log_extends_a_checkpoint_when_entry_size_hashes_to_its_head() -> None:
    journal = MemoryJournal()
    for n in range(3):
        journal.append({"case_id": "K", "event": f"e{n}"})
    chain = Chain()
    hashes = {seq: chain.add(entry) for seq, entry in enumerate(journal.entries, start=1)}
    assert chain.broken is None
    key = SigningKey.generate()
    assert extension_problem(key.sign(2, journal.entries[1]["hash"], AT), 3, hashes) is None
    assert extension_problem(key.sign(0, GENESIS, AT), 3, hashes) is None
    cut = extension_problem(key.sign(4, HEAD, AT), 3, hashes)
    assert cut == (
        "signed 4 entries at 2026-03-20T10:00:00+00:00, but the log has 3: entries were "
        "deleted (a cut tail or a truncated log)"
    )
    rewritten = extension_problem(key.sign(2, HEAD, AT), 3, hashes)
    assert rewritten is not None
    assert rewritten.endswith("the log up to it was rewritten")
    assert extension_problem(key.sign(2, HEAD, AT), 3, {2: None}) == (
        "signed entry 2 at 2026-03-20T10:00:00+00:00, which is now unreadable"
    )


def test_keys_that_cannot_be_used_are_one_line_usage_errors(tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "rsa").write_bytes(
        rsa_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    (tmp_path / "junk").write_text("junk")
    with pytest.raises(UsageError, match="rsa: not an Ed25519 key"):
        load_signing_key(tmp_path / "rsa")
    with pytest.raises(UsageError, match="junk: not an unencrypted PEM private key"):
        load_signing_key(tmp_path / "junk")
    with pytest.raises(UsageError, match=r"junk: not a PEM public key$"):
        load_verify_key(tmp_path / "junk")
    with pytest.raises(UsageError, match="absent: cannot read: No such file"):
        load_verify_key(tmp_path / "absent")


def test_a_key_is_never_written_over_a_link(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").write_text("keep me")
    (tmp_path / "k").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UsageError, match="already exists"):
        write_keypair(tmp_path / "k")
    assert (tmp_path / "elsewhere").read_text() == "keep me"
    assert not (tmp_path / "k.pub").exists()


def test_signing_reads_no_clock() -> None:
    key = SigningKey.generate()
    assert key.sign(5, HEAD, AT).at == key.sign(5, HEAD, AT.astimezone(UTC)).at
