"""A dispute waiting for a reviewer whose evidence is a photo, a video and a PDF certificate,
with hostile text in the claim and a statement (for the desk's tests)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "cases"
HOSTILE = '<script>document.title="owned"</script><img src=x onerror=alert(1)>'
# two sets of files: the same bytes in two disputes would be rejected as reused
SOURCES = ("KS-EX-0021", "KS-EX-0018")
FILES = {
    "photo.jpg": "buyer-crack.jpg",
    "video.mp4": "buyer-crack.mp4",
    "certificate.pdf": "merchant-cert-pass.pdf",
}


def waiting_case(
    folder: Path, case_id: str = "KS-DESK-1", at_day: int = 5, source: int = 0
) -> Path:
    """A case file in ``folder`` (with its evidence copied beside it from the examples of
    ``SOURCES[source]``) that ends waiting for a manual decision: its paid amount is at the
    rulebook's review threshold. Only the first source has a video."""
    evidence = folder / "evidence" / case_id
    evidence.mkdir(parents=True, exist_ok=True)
    for name, file in FILES.items():
        original = EXAMPLES / "evidence" / SOURCES[source] / file
        if original.is_file():
            shutil.copyfile(original, evidence / name)
    day = f"2026-03-{at_day:02d}"
    case: dict[str, Any] = json.loads((EXAMPLES / "KS-EX-0017.json").read_text())
    case["case_id"] = case_id
    case["claim"]["description"] = f"屏幕有裂痕 {HOSTILE}"
    del case["expected"]
    where = f"evidence/{case_id}"
    case["events"] = [
        {"at": f"{day}T08:00:00+08:00", "actor": "buyer", "action": "open"},
        {
            "at": f"{day}T10:00:00+08:00",
            "actor": "merchant",
            "action": "reject",
            "reason": "买家原因",
        },
        {"at": f"{day}T12:00:00+08:00", "actor": "buyer", "action": "escalate"},
        {
            "at": f"{day}T12:05:00+08:00",
            "actor": "buyer",
            "action": "submit_evidence",
            "evidence": [
                {"kind": "photo", "file": f"{where}/photo.jpg", "description": HOSTILE},
                *([{"kind": "video", "file": f"{where}/video.mp4"}] if source == 0 else []),
            ],
        },
        {"at": f"{day}T12:06:00+08:00", "actor": "buyer", "action": "statement", "text": HOSTILE},
        {"at": f"{day}T12:07:00+08:00", "actor": "buyer", "action": "evidence_complete"},
        {
            "at": f"{day}T13:00:00+08:00",
            "actor": "merchant",
            "action": "submit_evidence",
            "evidence": [
                {
                    "kind": "inspection_certificate",
                    "file": f"{where}/certificate.pdf",
                    "issuer": "Local Repair Shop",
                    "accreditation": "none",
                    "issued_at": f"{day}",
                    "subject": "356789104512345",
                    "report_no": "SZQI-2026-0004",
                    "result": "pass",
                }
            ],
        },
        {"at": f"{day}T13:05:00+08:00", "actor": "merchant", "action": "evidence_complete"},
    ]
    path = folder / f"{case_id}.json"
    path.write_text(json.dumps(case, ensure_ascii=False, indent=1))
    return path
