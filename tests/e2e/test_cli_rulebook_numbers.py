"""``evidence check`` and ``replay`` hold evidence to the numbers of the rulebook they run
under (RULES.md section 6): the built-in one, or the one ``--rulebook`` names."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.e2e.cli import run
from tests.integration.test_rulebook_evidence import SIGNED, rulebook_file
from tests.photos import large_photo, photo_captured

REPO = Path(__file__).resolve().parents[2]
CERTIFICATE = REPO / "examples" / "cases" / "evidence" / "KS-EX-0003" / "merchant-cert-pass.pdf"


def _check(*args: str) -> tuple[int, dict[str, Any], str]:
    done = run("evidence", "check", *args, "--json")
    verdict = json.loads(done.stdout) if done.stdout else {}
    return done.returncode, verdict, done.stderr


def test_evidence_check_takes_the_size_limit_from_the_rulebook(tmp_path: Path) -> None:
    photo = str(large_photo(tmp_path / "large.jpg"))
    code, verdict, stderr = _check(photo, "--kind", "photo")  # kuaishou.general: 20 MiB
    assert (code, verdict["accepted"]) == (0, True), stderr
    code, verdict, stderr = _check(photo, "--kind", "photo", "--rulebook", "kuaishou.used_3c")
    assert (code, verdict["accepted"]) == (0, True), stderr
    smaller = str(rulebook_file(tmp_path, photo_max_mib=1))
    code, verdict, stderr = _check(photo, "--kind", "photo", "--rulebook", smaller)
    assert (code, verdict["reasons"]) == (1, ["too_large"]), stderr


def test_evidence_check_takes_the_capture_tolerance_from_the_rulebook(tmp_path: Path) -> None:
    photo = str(photo_captured(tmp_path / "old.jpg", SIGNED - timedelta(hours=36)))
    context = json.dumps({"party": "buyer", "role": "proof", "signed_at": SIGNED.isoformat()})
    code, verdict, stderr = _check(photo, "--kind", "photo", "--context", context)
    assert (code, verdict["reasons"]) == (1, ["captured_before_delivery"]), stderr
    larger = str(rulebook_file(tmp_path, capture_tolerance_hours=48))
    code, verdict, stderr = _check(
        photo, "--kind", "photo", "--context", context, "--rulebook", larger
    )
    assert (code, verdict["accepted"]) == (0, True), stderr


def test_evidence_check_refuses_a_rulebook_that_does_not_load(tmp_path: Path) -> None:
    photo = str(large_photo(tmp_path / "large.jpg"))
    unknown = run("evidence", "check", photo, "--kind", "photo", "--rulebook", "kuaishou.nope")
    assert unknown.returncode == 2
    assert "--rulebook: no rulebook 'kuaishou.nope'" in unknown.stderr
    bad = rulebook_file(tmp_path, max_pixels="4e7")
    unsound = run("evidence", "check", photo, "--kind", "photo", "--rulebook", str(bad))
    assert unsound.returncode == 2
    assert f"{bad}: rule evidence.limits: max_pixels = 40000000.0 must be a whole" in (
        unsound.stderr
    )


def _certificate_case(tmp_path: Path) -> Path:
    """A merchant proves an invisible defect absent with a certificate issued 60 days before
    the dispute opened."""
    (tmp_path / "evidence").mkdir()
    shutil.copy(CERTIFICATE, tmp_path / "evidence" / "cert.pdf")
    case = {
        "format": "dispute-case/1",
        "case_id": "KS-CERT-AGE",
        "order": {
            "order_id": "O-1",
            "category": "used_3c.phone",
            "paid_amount": "1299.00",
            "currency": "CNY",
            "seven_day_return": True,
            "exclusions": [],
            "paid_at": "2026-03-01T10:00:00+08:00",
            "shipped_at": "2026-03-02T09:00:00+08:00",
            "tracking_no": "SF1234567890",
            "signed_at": "2026-03-04T15:20:00+08:00",
            "items": [
                {
                    "sku": "IP13-128-BLK",
                    "name": "iPhone 13 128G",
                    "price": "1299.00",
                    "quantity": 1,
                    "serial": "356789104512345",
                }
            ],
        },
        "claim": {
            "type": "invisible_defect",
            "requested_remedy": "refund_only",
            "description": "气味浓",
        },
        "events": [
            {"at": "2026-03-04T18:00:00+08:00", "actor": "buyer", "action": "open"},
            {
                "at": "2026-03-05T10:00:00+08:00",
                "actor": "merchant",
                "action": "reject",
                "reason": "商品合格",
            },
            {"at": "2026-03-05T12:00:00+08:00", "actor": "buyer", "action": "escalate"},
            {
                "at": "2026-03-05T15:00:00+08:00",
                "actor": "merchant",
                "action": "submit_evidence",
                "evidence": [
                    {
                        "kind": "inspection_certificate",
                        "file": "evidence/cert.pdf",
                        "issuer": "Shenzhen Quality Inspection Co.",
                        "accreditation": "CNAS L1234",
                        "issued_at": "2026-01-03",
                        "subject": "356789104512345",
                        "report_no": "SZQI-2026-0001",
                        "result": "pass",
                    }
                ],
            },
            {"at": "2026-03-05T15:01:00+08:00", "actor": "merchant", "action": "evidence_complete"},
        ],
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case, ensure_ascii=False), "utf-8")
    return path


def test_replay_takes_the_certificate_age_from_its_rulebook(tmp_path: Path) -> None:
    case = str(_certificate_case(tmp_path))
    shorter = str(rulebook_file(tmp_path, certificate_max_age_days=30))
    built_in = run("replay", case, "--json", "--rulebook", "kuaishou.general")
    assert built_in.returncode == 0, built_in.stderr
    line = json.loads(built_in.stdout)
    assert [e["accepted"] for e in line["evidence"]] == [True]
    assert line["liability"] == "buyer"  # the merchant proved the item sound
    for where in ([], ["--db", f"sqlite:///{tmp_path / 'disputes.db'}"]):
        done = run("replay", case, "--json", "--rulebook", shorter, *where)
        assert done.returncode == 0, done.stderr
        line = json.loads(done.stdout)
        assert [e["reasons"] for e in line["evidence"]] == [["expired"]]
        assert line["liability"] == "merchant"  # a certificate over 30 days old proves nothing
