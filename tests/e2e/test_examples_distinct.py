"""Each example case has evidence of its own, so all of them can share one database.

With ``replay --db`` every case is persisted into the same store, where the same bytes used in
another dispute are rejected (``reused``) and a photo within the rulebook's perceptual-hash
distance of one in another dispute sends the dispute to manual review (``near_duplicate``).
The examples must meet neither: computed here from the files the case files name, with the
project's own validation (SHA-256, dHash) and its own dispute checks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from adjudicator.casefile import default_rulebook
from adjudicator.rulebook import Rulebook, load_rulebook
from evidence import (
    DecoderSandbox,
    DisputeContext,
    EvidenceKind,
    KnownEvidence,
    Party,
    Reason,
    Role,
    Verdict,
    validate,
)
from evidence.sharpness import hamming

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
NEAR_DUPLICATE = "near_duplicate"


@dataclass(frozen=True)
class Item:
    """One evidence item an example case submits, with what validation found in its file."""

    case_id: str
    rulebook: str
    party: Party
    kind: EvidenceKind
    file: Path
    declared: dict[str, Any]
    sha256: str
    perceptual_hash: str | None  # images only


@cache
def _rulebook(name: str) -> Rulebook:
    return load_rulebook(name)


@pytest.fixture(scope="module")
def items(sandbox: DecoderSandbox) -> list[Item]:
    """Every evidence item of every example case, found by reading the case files."""
    found = []
    for path in sorted(EXAMPLES.glob("*.json")):
        case = json.loads(path.read_text("utf-8"))
        rulebook = case.get("rulebook", default_rulebook(case["order"]["category"]))
        for event in case["events"]:
            for raw in event.get("evidence", []):
                file, kind = path.parent / raw["file"], EvidenceKind(raw["kind"])
                verdict = validate(file, kind, sandbox=sandbox)
                phash = verdict.facts.get("perceptual_hash")
                found.append(
                    Item(
                        case_id=case["case_id"],
                        rulebook=rulebook,
                        party=Party(event["actor"]),
                        kind=kind,
                        file=file,
                        declared={k: v for k, v in raw.items() if k not in ("kind", "file")},
                        sha256=verdict.sha256,
                        perceptual_hash=phash if isinstance(phash, str) else None,
                    )
                )
    return found


def _distance(*items: Item) -> int:
    return max(_rulebook(i.rulebook).settings.near_duplicate_distance for i in items)


def _others(items: list[Item], case_id: str) -> KnownEvidence:
    """What a database holding every example except ``case_id`` knows."""
    others = [i for i in items if i.case_id != case_id]
    return KnownEvidence(
        sha256s=frozenset(i.sha256 for i in others),
        perceptual_hashes=tuple(i.perceptual_hash for i in others if i.perceptual_hash),
    )


def _check(
    item: Item, prior: KnownEvidence, sandbox: DecoderSandbox, file: Path | None = None
) -> Verdict:
    """Validate the item (or another file in its place) in a dispute that knows ``prior``."""
    context = DisputeContext(party=item.party, role=Role.PROOF, prior=prior)
    return validate(
        file or item.file,
        item.kind,
        declared=item.declared,
        context=context,
        policy=_rulebook(item.rulebook).evidence_policy(),
        sandbox=sandbox,
    )


def test_no_two_example_cases_share_an_evidence_files_bytes(items: list[Item]) -> None:
    cases_by_sha: dict[str, set[str]] = defaultdict(set)
    for item in items:
        cases_by_sha[item.sha256].add(item.case_id)
    shared = {sha: sorted(ids) for sha, ids in cases_by_sha.items() if len(ids) > 1}
    assert shared == {}
    # not vacuous: the examples submit photos, videos, certificates, logistics and chat records
    assert {i.kind for i in items} == set(EvidenceKind)
    assert len({i.case_id for i in items}) >= 10


def test_no_two_example_photos_of_different_cases_are_near_duplicates(items: list[Item]) -> None:
    photos = [i for i in items if i.perceptual_hash is not None]
    assert len({p.case_id for p in photos}) >= 5
    close = []
    for a, b in combinations(photos, 2):
        assert a.perceptual_hash is not None
        assert b.perceptual_hash is not None
        apart = hamming(a.perceptual_hash, b.perceptual_hash)
        if a.case_id != b.case_id and apart <= _distance(a, b):
            close.append((a.file.name, a.case_id, b.file.name, b.case_id, apart))
    assert close == []


def test_in_one_database_no_example_evidence_is_reused_or_a_near_duplicate(
    items: list[Item], sandbox: DecoderSandbox
) -> None:
    """The project's own dispute checks, given every other example as prior evidence."""
    for item in items:
        verdict = _check(item, _others(items, item.case_id), sandbox)
        assert Reason.REUSED not in verdict.reasons, item
        assert NEAR_DUPLICATE not in verdict.flags, (item, verdict.facts)
        assert verdict.accepted, (item, verdict.findings)


def test_the_checks_above_catch_a_copy_and_a_near_copy(
    items: list[Item], sandbox: DecoderSandbox, tmp_path: Path
) -> None:
    """A case that resubmits an example photo, or a lightly edited copy, would be caught."""
    original = next(i for i in items if i.kind is EvidenceKind.PHOTO)
    prior = _others(items, "another case")  # the database holds every example
    same = _check(original, prior, sandbox)
    assert Reason.REUSED in same.reasons

    edited = tmp_path / "edited.jpg"
    with Image.open(original.file) as image:
        copy = image.convert("RGB")
        ImageDraw.Draw(copy).rectangle((10, 10, 60, 40), fill=(255, 0, 0))
        copy.save(edited, "JPEG", quality=70, exif=image.getexif().tobytes())
    near = _check(original, prior, sandbox, file=edited)
    assert Reason.REUSED not in near.reasons
    assert NEAR_DUPLICATE in near.flags
    assert near.facts["near_duplicate_of"] == original.perceptual_hash
    phash = near.facts["perceptual_hash"]
    assert isinstance(phash, str)
    assert original.perceptual_hash is not None
    assert hamming(phash, original.perceptual_hash) <= _distance(original)


def test_every_evidence_file_belongs_to_one_case(items: list[Item]) -> None:
    cases_by_file: dict[Path, set[str]] = defaultdict(set)
    for item in items:
        cases_by_file[item.file.resolve()].add(item.case_id)
    on_disk = {p.resolve() for p in (EXAMPLES / "evidence").rglob("*") if p.is_file()}
    assert on_disk == set(cases_by_file)  # nothing left over, nothing missing
    assert all(len(ids) == 1 for ids in cases_by_file.values())
