"""Pure pieces of the evidence package, without decoders."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from evidence import EvidenceKind, EvidencePolicy, InvalidContext, Party, context_from_json
from evidence.declared import is_accredited, read_declared
from evidence.polyglot import second_format
from evidence.reasons import Finding, Reason
from evidence.sharpness import hamming
from evidence.sniff import Sniffed
from evidence.verdict import unique_findings


def _sniffed(head: bytes, tail: bytes, mime: str = "image/jpeg") -> Sniffed:
    return Sniffed(size=len(tail), sha256="0" * 64, mime=mime, head=head, tail=tail)


@pytest.mark.parametrize(
    ("number", "accredited"),
    [
        ("CNAS L1234", True),
        ("CNAS L12345", True),
        ("CNAS L123", False),
        ("CNAS L123456", False),
        ("cnas l1234", False),
        ("201912345678", True),
        ("20191234567", False),
        ("2019123456789", False),
    ],
)
def test_default_accreditation_patterns(number: str, accredited: bool) -> None:
    assert is_accredited(number, EvidencePolicy()) is accredited


def test_a_registry_narrows_accreditation() -> None:
    policy = EvidencePolicy(accreditation_registry=frozenset({"CNAS L0001"}))
    assert is_accredited("CNAS L0001", policy)
    assert not is_accredited("CNAS L1234", policy)


def test_declared_metadata_problems_are_one_finding_naming_each_field() -> None:
    _, findings, _ = read_declared(
        EvidenceKind.LOGISTICS_RECORD,
        {"carrier": "SF", "status": "teleported", "at": "2026-03-04 15:20"},
        EvidencePolicy(),
    )
    assert len(findings) == 1
    detail = findings[0].detail
    assert "tracking_no" in detail
    assert "teleported" in detail
    assert "'2026-03-04 15:20'" in detail


def _zip(comment: bytes = b"") -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("payload.html", "<script>alert(1)</script>")
        zf.comment = comment
    return archive.getvalue()


@pytest.mark.parametrize(
    "behind",
    [_zip(), _zip(b"a comment"), _zip() + b"\0" * 16],
    ids=["zip", "zip-with-comment", "zip-then-padding"],
)
def test_a_zip_archive_behind_an_image_is_found_as_zipfile_would(behind: bytes) -> None:
    data = b"\xff\xd8jpeg data" + behind
    assert zipfile.is_zipfile(io.BytesIO(data))
    assert second_format(_sniffed(data[:2], data)) == "a ZIP archive"


def test_zip_signature_bytes_by_chance_are_not_an_archive() -> None:
    empty_record = b"PK\x05\x06" + b"\0" * 16 + struct.pack("<H", 0)
    inconsistent = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 3, 5, 10, 0, 0)
    for tail in (b"xx" + empty_record + b"image", b"xx" + inconsistent + b"image"):
        assert second_format(_sniffed(b"\xff\xd8", tail)) is None


def test_html_in_a_binary_head_is_a_polyglot_but_not_in_text() -> None:
    head = b"\xff\xd8\xff\xe0<html><script>x</script>"
    assert second_format(_sniffed(head, b"")) == "an HTML page"
    assert second_format(_sniffed(b"chat: <script>", b"", mime="text/plain")) is None


def test_hamming() -> None:
    assert hamming("0000000000000000", "000000000000000f") == 4
    assert hamming("ffffffffffffffff", "ffffffffffffffff") == 0


def test_unique_findings_keep_the_first_detail_of_each_reason() -> None:
    findings = [
        Finding(Reason.TOO_SMALL, "a"),
        Finding(Reason.NOT_CLEAR, "b"),
        Finding(Reason.TOO_SMALL, "c"),
    ]
    assert unique_findings(findings) == (findings[0], findings[1])


def test_context_from_json_names_the_bad_field() -> None:
    context = context_from_json(
        {
            "party": "buyer",
            "signed_at": "2026-03-04T15:20:00+08:00",
            "items": [{"sku": "S", "serial": "123"}],
        }
    )
    assert context.party is Party.BUYER
    assert context.items[0].subject == "123"
    cases: list[tuple[dict[str, object], str]] = [
        ({"role": "proof"}, "party"),
        ({"party": "buyer", "opened_at": "2026-03-04T15:20:00"}, "opened_at"),
        ({"party": "buyer", "items": [{"serial": "1"}]}, "items/0"),
        ({"party": "buyer", "colour": "red"}, "colour"),
    ]
    for bad, field in cases:
        with pytest.raises(InvalidContext, match=field):
            context_from_json(bad)
