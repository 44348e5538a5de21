"""``adjudicator replay`` on cases whose evidence is real files from the shared corpus.

The case files are written at test time, beside copies of the corpus files (evidence paths
are relative to the case file, and must stay inside its folder: a symlink out is refused).
What each scenario is about (a clear photo, a truncated one, a password-protected PDF...) is
checked on the file first with ``evidence.validate``; the reason codes the replay must report
are that verdict's, plus those the dispute adds (a capture time before delivery). The
decisions are what RULES.md section 4 says follows from those verdicts.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from adjudicator.rulebook import load_rulebook
from evidence import EvidenceKind, Reason, Verdict, validate
from tests.e2e.cli import run

RULEBOOK = load_rulebook("kuaishou.general")
POLICY = RULEBOOK.evidence_policy()
ZONE = ZoneInfo(RULEBOOK.settings.zone)
SERIAL = "356789104512345"
PAID = "2999.00"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
# a fixed delivery time for scenarios whose proof has no capture time to fit the order to
DELIVERED = datetime(2026, 3, 4, 15, 20, tzinfo=ZONE)


@dataclass(frozen=True)
class Item:
    """One evidence item: a corpus file submitted by a party, with what it declares."""

    party: str
    kind: EvidenceKind
    file: Path
    declared: dict[str, Any] = field(default_factory=dict)
    # what the scenario needs of the file's own verdict (without the dispute)
    needs: Callable[[Verdict], bool] = lambda verdict: verdict.accepted
    # reasons only the dispute can give (its times), on top of the file's own
    dispute_reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Scenario:
    claim: str
    requested: str
    delivered: datetime  # signed_at; the rest of the order and the events follow from it
    burdened: list[Item]  # the party with the burden of proof, first
    other: list[Item]  # its counter-party's rebuttal (反举证), possibly nothing
    outcome: dict[str, Any]  # liability, remedy, refund_amount, state


def _verdict(item: Item) -> Verdict:
    return validate(item.file, item.kind, declared=item.declared, policy=POLICY)


def _capture_time(path: Path, kind: EvidenceKind) -> datetime:
    """When the file says it was captured (EXIF, or the container), read in the rulebook zone."""
    raw = validate(path, kind, policy=POLICY).facts.get("capture_time")
    assert isinstance(raw, str), f"{path.name} has no capture time"
    when = datetime.fromisoformat(raw)
    return when if when.tzinfo else when.replace(tzinfo=ZONE)


def _pdf_text(path: Path) -> str:
    return " ".join(page.extract_text() or "" for page in PdfReader(path).pages)


def _pdf_token(path: Path) -> str:
    """A word printed in the PDF's text: where a genuine report number would be."""
    return next(str(w) for w in re.findall(r"\w+", _pdf_text(path)) if len(w) >= 5)


def _certificate(report_no: str, issued: datetime) -> dict[str, Any]:
    return {
        "issuer": "Shenzhen Quality Inspection Co.",
        "accreditation": "CNAS L1234",
        "report_no": report_no,
        "issued_at": issued.astimezone(ZONE).date().isoformat(),
        "subject": SERIAL,
        "result": "pass",
    }


def _scenarios(corpus: Path) -> dict[str, Scenario]:
    photo = corpus / "photos" / "real" / "HMD_Nokia_8.3_5G.jpg"  # EXIF time with an offset
    old_photo = corpus / "photos" / "real" / "gps_DSCN0010.jpg"  # EXIF time without one
    truncated = corpus / "photos" / "broken" / "pillow_truncated_jpeg.jpg"
    video = corpus / "videos" / "white.mp4"  # 10 s, 320x240, with a creation time
    pdf = corpus / "pdfs" / "minimal-document.pdf"
    locked = corpus / "pdfs" / "libreoffice-writer-password.pdf"

    taken = _capture_time(photo, EvidenceKind.PHOTO)
    filmed = _capture_time(video, EvidenceKind.VIDEO)
    old = _capture_time(old_photo, EvidenceKind.PHOTO)
    printed, unprinted = _pdf_token(pdf), "SZQI-2026-0001"
    assert unprinted not in _pdf_text(pdf)

    refunded = {"remedy": "refund_only", "refund_amount": PAID, "state": "refunded"}
    rejected = {"remedy": "reject_refund", "refund_amount": "0.00", "state": "closed"}
    return {
        # a real, clear phone photo taken 2 h after delivery, not rebutted: merchant liable
        "clear_photo_unrebutted": Scenario(
            "visible_defect",
            "refund_only",
            taken - 2 * HOUR,
            [Item("buyer", EvidenceKind.PHOTO, photo)],
            [],
            {"liability": "merchant", **refunded},
        ),
        # a real photo taken 30 days before delivery proves nothing about the goods: 举证不能
        "photo_taken_before_delivery": Scenario(
            "visible_defect",
            "refund_only",
            old + 30 * DAY,
            [
                Item(
                    "buyer",
                    EvidenceKind.PHOTO,
                    old_photo,
                    dispute_reasons=(Reason.CAPTURED_BEFORE_DELIVERY,),
                )
            ],
            [],
            {"liability": "buyer", **rejected},
        ),
        # the buyer's only proof is a truncated JPEG: rejected, the buyer is liable (举证不能)
        "truncated_photo_only_proof": Scenario(
            "visible_defect",
            "return_and_refund",
            DELIVERED,
            [
                Item(
                    "buyer",
                    EvidenceKind.PHOTO,
                    truncated,
                    needs=lambda v: Reason.TRUNCATED in v.reasons,
                )
            ],
            [],
            {
                "liability": "buyer",
                "remedy": "reject_return",
                "refund_amount": "0.00",
                "state": "closed",
            },
        ),
        # a real video (2) against a real PDF certificate from an accredited lab (3) whose
        # report number is printed in it: the stronger rebuttal wins, the buyer is liable
        "video_against_accredited_pdf": Scenario(
            "visible_defect",
            "refund_only",
            filmed - 2 * HOUR,
            [Item("buyer", EvidenceKind.VIDEO, video)],
            [
                Item(
                    "merchant",
                    EvidenceKind.INSPECTION_CERTIFICATE,
                    pdf,
                    _certificate(printed, filmed),
                    needs=lambda v: v.accepted and v.facts.get("authoritative") is True,
                )
            ],
            {"liability": "buyer", **rejected},
        ),
        # the same PDF declared with a report number it does not carry: rejected, so the
        # video stands unrebutted and the merchant is liable
        "video_against_pdf_without_its_report_no": Scenario(
            "visible_defect",
            "refund_only",
            filmed - 2 * HOUR,
            [Item("buyer", EvidenceKind.VIDEO, video)],
            [
                Item(
                    "merchant",
                    EvidenceKind.INSPECTION_CERTIFICATE,
                    pdf,
                    _certificate(unprinted, filmed),
                    needs=lambda v: v.reasons == (Reason.INCONSISTENT_METADATA,),
                )
            ],
            {"liability": "merchant", **refunded},
        ),
        # invisible defect: the merchant bears the burden, and its only certificate is a
        # password-protected PDF; the burdened merchant fails and the buyer is refunded
        "password_protected_certificate": Scenario(
            "invisible_defect",
            "refund_only",
            DELIVERED,
            [
                Item(
                    "merchant",
                    EvidenceKind.INSPECTION_CERTIFICATE,
                    locked,
                    _certificate("SZQI-2026-0002", DELIVERED),
                    needs=lambda v: Reason.PASSWORD_PROTECTED in v.reasons,
                )
            ],
            [],
            {"liability": "merchant", **refunded},
        ),
    }


def _write_case(folder: Path, case_id: str, scenario: Scenario) -> None:
    d = scenario.delivered.astimezone(ZONE)

    def at(delta: timedelta) -> str:
        return (d + delta).isoformat()

    def submit(when: timedelta, items: list[Item]) -> list[dict[str, Any]]:
        evidence = []
        for item in items:
            link = folder / "evidence" / case_id / item.file.name
            link.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item.file, link)
            evidence.append(
                {
                    "kind": item.kind.value,
                    "file": link.relative_to(folder).as_posix(),
                    **item.declared,
                }
            )
        party = items[0].party
        return [
            {"at": at(when), "actor": party, "action": "submit_evidence", "evidence": evidence},
            {"at": at(when + HOUR), "actor": party, "action": "evidence_complete"},
        ]

    events = [
        {"at": at(3 * HOUR), "actor": "buyer", "action": "open"},
        {"at": at(DAY), "actor": "merchant", "action": "reject"},
        {"at": at(DAY + HOUR), "actor": "buyer", "action": "escalate"},
        *submit(DAY + 2 * HOUR, scenario.burdened),
        *(submit(DAY + 6 * HOUR, scenario.other) if scenario.other else []),
    ]
    case = {
        "format": "dispute-case/1",
        "case_id": case_id,
        "order": {
            "order_id": f"O-{case_id}",
            "category": "general",
            "paid_amount": PAID,
            "currency": "CNY",
            "seven_day_return": True,
            "exclusions": [],
            "paid_at": at(-3 * DAY),
            "shipped_at": at(-2 * DAY),
            "tracking_no": "SF1234567890",
            "signed_at": at(timedelta(0)),
            "items": [
                {
                    "sku": "PHONE-128",
                    "name": "phone 128G",
                    "price": PAID,
                    "quantity": 1,
                    "serial": SERIAL,
                }
            ],
        },
        "claim": {"type": scenario.claim, "requested_remedy": scenario.requested},
        "events": events,
    }
    (folder / f"{case_id}.json").write_text(json.dumps(case, ensure_ascii=False, indent=2))


@pytest.fixture(scope="module")
def scenarios(corpus: Path) -> dict[str, Scenario]:
    return _scenarios(corpus)


@pytest.fixture(scope="module")
def replayed(
    scenarios: dict[str, Scenario], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    """All scenarios replayed in one run of the command over their folder, by case id."""
    folder = tmp_path_factory.mktemp("corpus-cases")
    for case_id, scenario in scenarios.items():
        _write_case(folder, case_id, scenario)
    done = run("replay", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return {line["case_id"]: line for line in lines}


def test_every_scenario_is_replayed(
    scenarios: dict[str, Scenario], replayed: dict[str, dict[str, Any]]
) -> None:
    assert sorted(replayed) == sorted(scenarios)


@pytest.mark.parametrize(
    "case_id",
    [
        "clear_photo_unrebutted",
        "photo_taken_before_delivery",
        "truncated_photo_only_proof",
        "video_against_accredited_pdf",
        "video_against_pdf_without_its_report_no",
        "password_protected_certificate",
    ],
)
def test_the_decision_follows_from_the_real_files_verdicts(
    case_id: str, scenarios: dict[str, Scenario], replayed: dict[str, dict[str, Any]]
) -> None:
    scenario = scenarios[case_id]
    items = scenario.burdened + scenario.other
    expected_evidence = []
    for item in items:
        verdict = _verdict(item)
        assert item.needs(verdict), (item.file.name, verdict.findings)
        reasons = [r.value for r in (*verdict.reasons, *item.dispute_reasons)]
        digest = hashlib.sha256(item.file.read_bytes()).hexdigest()
        expected_evidence.append(
            {
                "party": item.party,
                "kind": item.kind.value,
                "sha256": digest,
                "accepted": not reasons,
                "reasons": reasons,
            }
        )
    line = replayed[case_id]
    keys = ("party", "kind", "sha256", "accepted", "reasons")
    assert [{k: e[k] for k in keys} for e in line["evidence"]] == expected_evidence
    assert line["resolution"] == "adjudicated"
    assert {k: line[k] for k in scenario.outcome} == scenario.outcome
