"""Make ``examples/cases/``: small evidence files made here, and one case file per situation.

Photos are drawn with Pillow and given EXIF capture times; videos are encoded with PyAV
(MPEG-4 Part 2) with a container creation time; the certificates are hand-written PDFs. Every
case has its own evidence files, under ``evidence/<case_id>/``: no two cases share bytes, and no
two photos are near-duplicates by the project's own perceptual hash (so the cases can all be
persisted into one database without ``reused`` or ``near_duplicate``); the script asserts it.
Run: ``python scripts/make_examples.py [FOLDER]`` (it rewrites ``examples/cases/``, or FOLDER;
the output is committed, and the same bytes come out every time).
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sys
from fractions import Fraction
from itertools import combinations
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from adjudicator.casefile import EXPECTED, EXPECTED_LISTS, default_rulebook
from adjudicator.rulebook import load_rulebook
from evidence import EvidenceKind, validate
from evidence.sharpness import hamming

DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "examples" / "cases"
SERIAL = "356789104512345"
PHOTO_SIZE = (800, 600)


class Evidence:
    """The evidence files of one case, written under ``evidence/<case_id>/``."""

    def __init__(self, root: Path, case_id: str) -> None:
        self.folder = root / "evidence" / case_id
        self.prefix = f"evidence/{case_id}"
        self.folder.mkdir(parents=True)

    def photo(self, name: str, seed: int, taken: str, offset: str = "+08:00") -> str:
        """A scene of sharp shapes, its own for each seed, with EXIF capture time and offset."""
        rng = random.Random(seed)
        width, height = PHOTO_SIZE
        background = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        image = Image.new("RGB", PHOTO_SIZE, background)
        draw = ImageDraw.Draw(image)
        for _ in range(40):
            x, y = rng.randrange(width), rng.randrange(height)
            w, h = rng.randrange(16, 240), rng.randrange(16, 240)
            colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            shape = draw.rectangle if rng.random() < 0.5 else draw.ellipse
            shape((x, y, x + w, y + h), fill=colour)
        for _ in range(26):
            points = [(rng.randrange(width), rng.randrange(height)) for _ in range(2)]
            draw.line(points, fill=(0, 0, 0), width=rng.randrange(1, 4))
        exif = Image.Exif()
        sub = exif.get_ifd(0x8769)
        sub[0x9003] = taken
        sub[0x9011] = offset
        image.save(self.folder / name, "JPEG", quality=85, exif=exif.tobytes())
        return f"{self.prefix}/{name}"

    def video(self, name: str, seed: int, created: str, seconds: int = 3) -> str:
        """A 320x240 clip of a shape moving across a plain background, all chosen by the seed."""
        import av

        rng = random.Random(seed)
        background = (rng.randrange(20, 120), rng.randrange(20, 120), rng.randrange(20, 120))
        colour = (rng.randrange(150, 256), rng.randrange(150, 256), rng.randrange(256))
        top, size, step = rng.randrange(20, 140), rng.randrange(30, 80), rng.randrange(4, 12)
        with av.open(str(self.folder / name), "w", format="mp4") as container:
            container.metadata["creation_time"] = created
            stream = container.add_stream("mpeg4", rate=10)
            assert isinstance(stream, av.VideoStream)
            stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
            for index in range(seconds * 10):
                picture = Image.new("RGB", (320, 240), background)
                draw = ImageDraw.Draw(picture)
                x = (index * step + rng.randrange(5)) % (320 - size)
                box = (x, top, x + size, top + size)
                (draw.rectangle if seed % 2 else draw.ellipse)(box, fill=colour)
                frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]
                frame.pts = index
                frame.time_base = Fraction(1, 10)
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return f"{self.prefix}/{name}"

    def certificate(self, name: str, report_no: str, subject: str, result: str) -> str:
        """A one-page PDF whose text carries the report number, subject and result."""
        lines = [
            "Shenzhen Quality Inspection Co. - Inspection Report",
            f"Report No. {report_no}",
            f"Subject: {subject}",
            f"Result: {result.upper()}",
            "Accreditation: CNAS L1234",
        ]
        text = "BT /F1 14 Tf 72 720 Td 18 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
        objects = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            "/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        out = bytearray(b"%PDF-1.4\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += f"{number} 0 obj\n{body}\nendobj\n".encode()
        xref = len(out)
        out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
        out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
        size = len(objects) + 1
        out += f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
        (self.folder / name).write_bytes(bytes(out))
        return f"{self.prefix}/{name}"

    def text_file(self, name: str, content: str) -> str:
        (self.folder / name).write_text(content, encoding="utf-8")
        return f"{self.prefix}/{name}"


def order(category: str = "used_3c.phone", paid: str = "1299.00", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "order_id": "O-88001",
        "category": category,
        "paid_amount": paid,
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
                "price": paid,
                "quantity": 1,
                "serial": SERIAL,
            }
        ],
    }
    base.update(extra)
    return base


def ev(at: str, actor: str, action: str, **extra: Any) -> dict[str, Any]:
    return {"at": f"2026-03-{at}+08:00", "actor": actor, "action": action, **extra}


def escalated(reason: str = "买家原因") -> list[dict[str, Any]]:
    return [
        ev("04T18:00:00", "buyer", "open"),
        ev("05T10:00:00", "merchant", "reject", reason=reason),
        ev("05T12:00:00", "buyer", "escalate"),
    ]


def case(
    case_id: str,
    claim: str,
    remedy: str,
    events: list[dict[str, Any]],
    expected: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    # every example pins every field of its outcome (the appeal block is checked by the tests)
    assert set(expected) == set(EXPECTED) | set(EXPECTED_LISTS), sorted(expected)
    return {
        "format": "dispute-case/1",
        "case_id": case_id,
        "order": extra.pop("order", order()),
        "claim": {"type": claim, "requested_remedy": remedy, **extra.pop("claim_extra", {})},
        "events": events,
        "expected": expected,
        **extra,
    }


def main(argv: list[str]) -> None:
    root = Path(argv[0]) if argv else DEFAULT_ROOT
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    cert_meta = {
        "issuer": "Shenzhen Quality Inspection Co.",
        "accreditation": "CNAS L1234",
        "issued_at": "2026-03-05",
        "subject": SERIAL,
    }
    logistics_meta = {
        "carrier": "SF",
        "tracking_no": "SF1234567890",
        "status": "delivered",
        "at": "2026-03-04T15:20:00+08:00",
    }

    # each case's own files: a new seed (a new drawing) and its own capture time for each
    ex = Evidence(root, "KS-2026-000123")
    unboxing = ex.video("buyer-unboxing.mp4", 6, "2026-03-04T11:00:00Z")
    packing = ex.video("merchant-packing.mp4", 7, "2026-03-02T00:30:00Z")
    crack_0002 = Evidence(root, "KS-EX-0002").photo("buyer-crack.jpg", 1, "2026:03:04 19:00:00")
    cert_0003 = Evidence(root, "KS-EX-0003").certificate(
        "merchant-cert-pass.pdf", "SZQI-2026-0001", SERIAL, "pass"
    )
    ex = Evidence(root, "KS-EX-0004")
    unboxing_0004 = ex.video("buyer-unboxing.mp4", 8, "2026-03-04T11:10:00Z")
    packing_photo_0004 = ex.photo("merchant-packing.jpg", 4, "2026:03:02 08:20:00")
    unboxing_0005 = Evidence(root, "KS-EX-0005").video(
        "buyer-unboxing.mp4", 9, "2026-03-04T11:20:00Z"
    )
    ex = Evidence(root, "KS-EX-0007")
    logistics_0007 = ex.text_file(
        "merchant-logistics.json",
        json.dumps({"carrier": "SF", "tracking_no": "SF1234567890", "status": "delivered"}),
    )
    chat_0007 = ex.text_file("buyer-chat.txt", "买家: 我没有收到快递。\n客服: 我们会核实。\n")
    ex = Evidence(root, "KS-EX-0008")
    crack_0008 = ex.photo("buyer-photo.jpg", 2, "2026:03:04 19:05:00")
    item_0008 = ex.photo("merchant-item.jpg", 3, "2026:03:05 09:00:00")
    cert_0010 = Evidence(root, "KS-EX-0010").certificate(
        "buyer-cert-fail.pdf", "SZQI-2026-0002", SERIAL, "fail"
    )
    parts_0011 = Evidence(root, "KS-EX-0011").photo("buyer-parts.jpg", 5, "2026:03:04 20:00:00")
    crack_0017 = Evidence(root, "KS-EX-0017").photo("buyer-crack.jpg", 10, "2026:03:04 19:10:00")
    ex = Evidence(root, "KS-EX-0018")
    crack_0018 = ex.photo("buyer-crack.jpg", 11, "2026:03:04 19:20:00")
    cert_0018 = ex.certificate("merchant-cert-pass.pdf", "SZQI-2026-0003", SERIAL, "pass")
    ex = Evidence(root, "KS-EX-0019")
    intact_0019 = ex.photo("buyer-intact.jpg", 12, "2026:03:05 08:00:00")
    used_0019 = ex.photo("merchant-worn.jpg", 13, "2026:03:06 10:00:00")
    crack_0020 = Evidence(root, "KS-EX-0020").photo("buyer-crack.jpg", 14, "2026:03:04 19:30:00")
    ex = Evidence(root, "KS-EX-0021")
    crack_0021 = ex.photo("buyer-crack.jpg", 15, "2026:03:04 19:40:00")
    cert_0021 = ex.certificate("merchant-cert-pass.pdf", "SZQI-2026-0004", SERIAL, "pass")
    video_0021 = ex.video("buyer-crack.mp4", 16, "2026-03-04T11:45:00Z")

    charger_0022 = Evidence(root, "KS-EX-0022").photo(
        "buyer-charger.jpg", 17, "2026:03:04 19:50:00"
    )
    scratch_0024 = Evidence(root, "KS-EX-0024").photo(
        "buyer-scratch.jpg", 18, "2026:03:04 20:10:00"
    )
    two_items = order(
        "general",
        "1398.00",
        items=[
            {"sku": "IP13-128-BLK", "name": "iPhone 13 128G", "price": "1299.00", "quantity": 1},
            {"sku": "CHG-20W", "name": "20W USB-C charger", "price": "99.00", "quantity": 1},
        ],
    )

    def submit(at: str, actor: str, *items: dict[str, Any]) -> dict[str, Any]:
        return ev(at, actor, "submit_evidence", evidence=list(items))

    cases = [
        case(  # the CASE_FORMAT example: video against pre-shipment video, both liable
            "KS-2026-000123",
            "visible_defect",
            "return_and_refund",
            [
                *escalated("人为损坏"),
                submit("05T12:05:00", "buyer", {"kind": "video", "file": unboxing}),
                ev("05T12:06:00", "buyer", "evidence_complete"),
                submit(
                    "06T09:00:00",
                    "merchant",
                    {
                        "kind": "video",
                        "file": packing,
                        "captured_at": "2026-03-02T08:30:00+08:00",
                        "shows_serial": SERIAL,
                    },
                ),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "both",
                "remedy": "partial_refund",
                "refund_amount": "649.50",
                "return_shipping_payer": None,
                "penalty_amount": "2338.20",
                "violations": [],
                "rules": ["burden.visible_defect", "weigh.equal", "remedy.both"],
            },
            claim_extra={"requested_amount": "1299.00", "description": "屏幕有裂痕"},
        ),
        case(  # unrebutted photos: merchant liable, the goods go back, the merchant confirms
            "KS-EX-0002",
            "visible_defect",
            "return_and_refund",
            [
                *escalated(),
                submit("05T12:05:00", "buyer", {"kind": "photo", "file": crack_0002}),
                ev("05T12:06:00", "buyer", "evidence_complete"),
                ev("05T13:00:00", "merchant", "evidence_complete"),
                ev("06T10:00:00", "buyer", "return_shipped", tracking_no="YT0000000001"),
                ev("08T10:00:00", "merchant", "confirm_receipt"),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "merchant",
                "remedy": "return_and_refund",
                "refund_amount": "1299.00",
                "return_shipping_payer": "merchant",
                "penalty_amount": "3897.00",
                "violations": [],
                "rules": ["burden.visible_defect", "weigh.unrebutted", "remedy.merchant"],
            },
            order=order("general"),
        ),
        case(  # invisible defect: the merchant's accredited certificate of conformity holds
            "KS-EX-0003",
            "invisible_defect",
            "refund_only",
            [
                *escalated("商品合格"),
                submit(
                    "05T15:00:00",
                    "merchant",
                    {
                        "kind": "inspection_certificate",
                        "file": cert_0003,
                        **cert_meta,
                        "report_no": "SZQI-2026-0001",
                        "result": "pass",
                    },
                ),
                ev("05T15:01:00", "merchant", "evidence_complete"),
            ],
            {
                "state": "closed",
                "resolution": "adjudicated",
                "liability": "buyer",
                "remedy": "reject_refund",
                "refund_amount": "0.00",
                "return_shipping_payer": None,
                "penalty_amount": "0.00",
                "violations": [],
                "rules": ["burden.invisible_defect", "weigh.unrebutted", "remedy.buyer"],
            },
            claim_extra={"description": "气味浓"},
        ),
        case(  # wrong item, used 3C: a pre-shipment photo showing the IMEI counts one stronger
            "KS-EX-0004",
            "wrong_item",
            "return_and_refund",
            [
                *escalated("发货无误"),
                submit("05T12:05:00", "buyer", {"kind": "video", "file": unboxing_0004}),
                ev("05T12:06:00", "buyer", "evidence_complete"),
                submit(
                    "05T18:00:00",
                    "merchant",
                    {"kind": "photo", "file": packing_photo_0004, "shows_serial": SERIAL},
                ),
                ev("05T18:01:00", "merchant", "evidence_complete"),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "both",
                "remedy": "partial_refund",
                "refund_amount": "649.50",
                "return_shipping_payer": None,
                "penalty_amount": "2338.20",
                "violations": [],
                "rules": ["burden.wrong_item", "weigh.equal", "remedy.both"],
            },
        ),
        case(  # missing parts shown by an unboxing video, no rebuttal
            "KS-EX-0005",
            "missing_parts",
            "partial_refund",
            [
                *escalated("配件齐全"),
                submit("05T12:05:00", "buyer", {"kind": "video", "file": unboxing_0005}),
                ev("05T12:06:00", "buyer", "evidence_complete"),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "merchant",
                "remedy": "partial_refund",
                "refund_amount": "200.00",
                "return_shipping_payer": None,
                "penalty_amount": "3897.00",
                "violations": [],
                "rules": ["burden.missing_parts", "weigh.unrebutted", "remedy.merchant"],
            },
            claim_extra={"requested_amount": "200.00", "description": "缺少充电器"},
        ),
        case(  # not shipped: the merchant proves nothing, the buyer gets a refund only
            "KS-EX-0006",
            "not_shipped",
            "refund_only",
            [
                ev("02T10:00:00", "buyer", "open"),
                ev("02T11:00:00", "merchant", "reject", reason="已发货"),
                ev("02T12:00:00", "buyer", "escalate"),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "merchant",
                "remedy": "refund_only",
                "refund_amount": "1299.00",
                "return_shipping_payer": None,
                "penalty_amount": "3897.00",
                "violations": [],
                "rules": [
                    "burden.not_shipped",
                    "weigh.no_proof",
                    "special.not_shipped.unproven",
                    "remedy.merchant",
                ],
            },
            order=order("general", shipped_at=None, tracking_no=None, signed_at=None),
        ),
        case(  # not received: the merchant's sign-for record outweighs the buyer's chat
            "KS-EX-0007",
            "not_received",
            "refund_only",
            [
                *escalated("已签收"),
                submit(
                    "05T13:00:00",
                    "merchant",
                    {"kind": "logistics_record", "file": logistics_0007, **logistics_meta},
                ),
                ev("05T13:01:00", "merchant", "evidence_complete"),
                submit("05T20:00:00", "buyer", {"kind": "chat_record", "file": chat_0007}),
                ev("05T20:01:00", "buyer", "evidence_complete"),
            ],
            {
                "state": "closed",
                "resolution": "adjudicated",
                "liability": "buyer",
                "remedy": "reject_refund",
                "refund_amount": "0.00",
                "return_shipping_payer": None,
                "penalty_amount": "0.00",
                "violations": [],
                "rules": ["burden.not_received", "weigh.weaker_rebuttal", "remedy.buyer"],
            },
            order=order("general"),
        ),
        case(  # not as described: photo against photo, both liable
            "KS-EX-0008",
            "not_as_described",
            "refund_only",
            [
                *escalated("与描述一致"),
                submit("05T12:05:00", "buyer", {"kind": "photo", "file": crack_0008}),
                ev("05T12:06:00", "buyer", "evidence_complete"),
                submit("05T18:00:00", "merchant", {"kind": "photo", "file": item_0008}),
                ev("05T18:01:00", "merchant", "evidence_complete"),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "both",
                "remedy": "partial_refund",
                "refund_amount": "649.50",
                "return_shipping_payer": None,
                "penalty_amount": "2338.20",
                "violations": [],
                "rules": ["burden.not_as_described", "weigh.equal", "remedy.both"],
            },
            order=order("general"),
        ),
        case(  # illegal origin found by the platform: refund only, prohibited goods
            "KS-EX-0009",
            "illegal_origin",
            "return_and_refund",
            [
                *escalated(),
                ev("05T16:00:00", "platform", "finding", finding="illegal_origin"),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "merchant",
                "remedy": "refund_only",
                "refund_amount": "1299.00",
                "return_shipping_payer": None,
                "penalty_amount": "3897.00",
                "violations": ["prohibited_goods"],
                "rules": [
                    "burden.illegal_origin",
                    "special.illegal_origin.found",
                    "remedy.merchant",
                ],
            },
        ),
        case(  # unofficial repair parts shown by a failed inspection
            "KS-EX-0010",
            "unofficial_repair",
            "return_and_refund",
            [
                *escalated("原装配件"),
                submit(
                    "05T12:05:00",
                    "buyer",
                    {
                        "kind": "inspection_certificate",
                        "file": cert_0010,
                        **cert_meta,
                        "report_no": "SZQI-2026-0002",
                        "result": "fail",
                    },
                ),
                ev("05T12:06:00", "buyer", "evidence_complete"),
                ev("05T13:00:00", "merchant", "evidence_complete"),
                ev("06T10:00:00", "buyer", "return_shipped", tracking_no="YT0000000002"),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "merchant",
                "remedy": "return_and_refund",
                "refund_amount": "1299.00",
                "return_shipping_payer": "merchant",
                "penalty_amount": "3897.00",
                "violations": ["quality_problem_promoted"],
                "rules": [
                    "burden.unofficial_repair",
                    "weigh.unrebutted",
                    "special.unofficial_repair",
                    "remedy.merchant",
                ],
            },
        ),
        case(  # 7-day no-reason return upheld: the buyer pays the return shipping
            "KS-EX-0011",
            "no_reason_return",
            "return_and_refund",
            [
                *escalated("已拆封"),
                submit("05T12:05:00", "buyer", {"kind": "photo", "file": parts_0011}),
                ev("05T12:06:00", "buyer", "evidence_complete"),
                ev("05T13:00:00", "merchant", "evidence_complete"),
                ev("06T10:00:00", "buyer", "return_shipped", tracking_no="YT0000000003"),
                ev("07T10:00:00", "merchant", "confirm_receipt"),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "merchant",
                "remedy": "return_and_refund",
                "refund_amount": "1299.00",
                "return_shipping_payer": "buyer",
                "penalty_amount": "3897.00",
                "violations": [],
                "rules": [
                    "burden.no_reason_return",
                    "weigh.unrebutted",
                    "special.no_reason_return.upheld",
                    "remedy.merchant",
                ],
            },
            order=order("general"),
        ),
        case(  # the parcel was lost by the carrier: nobody is liable, refund only
            "KS-EX-0012",
            "not_received",
            "refund_only",
            [*escalated(), ev("05T16:00:00", "platform", "finding", finding="carrier_loss")],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "neither",
                "remedy": "refund_only",
                "refund_amount": "1299.00",
                "return_shipping_payer": None,
                "penalty_amount": "0.00",
                "violations": [],
                "rules": ["burden.not_received", "special.carrier_loss", "remedy.neither"],
            },
            order=order("general", signed_at=None),
        ),
        case(  # the merchant never answers a shipped refund-only request: agreed at 36 h
            "KS-EX-0013",
            "visible_defect",
            "refund_only",
            [ev("04T18:00:00", "buyer", "open")],
            {
                "state": "refunded",
                "resolution": "merchant_timeout",
                "liability": None,
                "remedy": "refund_only",
                "refund_amount": "1299.00",
                "return_shipping_payer": None,
                "penalty_amount": None,
                "violations": [],
                "rules": ["deadline.answer.refund_only_shipped"],
            },
            order=order("general"),
        ),
        case(  # rejected and never escalated: lapsed after 7 days
            "KS-EX-0014",
            "visible_defect",
            "return_and_refund",
            [ev("04T18:00:00", "buyer", "open"), ev("05T10:00:00", "merchant", "reject")],
            {
                "state": "lapsed",
                "resolution": "lapsed",
                "liability": None,
                "remedy": None,
                "refund_amount": None,
                "return_shipping_payer": None,
                "penalty_amount": None,
                "violations": [],
                "rules": [],
            },
            order=order("general"),
        ),
        case(  # opened 17 days after delivery: refused
            "KS-EX-0015",
            "visible_defect",
            "refund_only",
            [ev("21T18:00:00", "buyer", "open")],
            {
                "state": "refused",
                "resolution": "refused",
                "liability": None,
                "remedy": None,
                "refund_amount": None,
                "return_shipping_payer": None,
                "penalty_amount": None,
                "violations": [],
                "rules": ["deadline.open_window"],
            },
            order=order("general"),
        ),
        case(  # withdrawn by the buyer before any decision
            "KS-EX-0016",
            "not_as_described",
            "refund_only",
            [*escalated(), ev("05T14:00:00", "buyer", "withdraw", reason="已协商")],
            {
                "state": "withdrawn",
                "resolution": "withdrawn",
                "liability": None,
                "remedy": None,
                "refund_amount": None,
                "return_shipping_payer": None,
                "penalty_amount": None,
                "violations": [],
                "rules": [],
            },
            order=order("general"),
        ),
        case(  # 12,000.00 paid: manual review; the reviewer refunds less than the rules would
            "KS-EX-0017",
            "visible_defect",
            "refund_only",
            [
                *escalated(),
                submit("05T12:05:00", "buyer", {"kind": "photo", "file": crack_0017}),
                ev("05T12:06:00", "buyer", "evidence_complete"),
                ev("05T13:00:00", "merchant", "evidence_complete"),
                ev(
                    "06T10:00:00",
                    "platform",
                    "decide",
                    liability="merchant",
                    remedy="refund_only",
                    refund_amount="3000.00",
                    reason="划痕轻微, 部分退款",
                ),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "merchant",
                "remedy": "refund_only",
                "refund_amount": "3000.00",
                "return_shipping_payer": None,
                "penalty_amount": "36000.00",
                "violations": [],
                "rules": ["review.manual", "review.override", "remedy.merchant"],
            },
            order=order("general", paid="12000.00"),
        ),
        case(  # decided for the buyer, then the merchant appeals with a certificate
            "KS-EX-0018",
            "visible_defect",
            "refund_only",
            [
                *escalated(),
                submit("05T12:05:00", "buyer", {"kind": "photo", "file": crack_0018}),
                ev("05T12:06:00", "buyer", "evidence_complete"),
                ev("05T13:00:00", "merchant", "evidence_complete"),
                ev(
                    "06T09:00:00",
                    "merchant",
                    "appeal",
                    evidence=[
                        {
                            "kind": "inspection_certificate",
                            "file": cert_0018,
                            **cert_meta,
                            "report_no": "SZQI-2026-0003",
                            "result": "pass",
                        }
                    ],
                ),
            ],
            {
                "state": "closed",
                "resolution": "adjudicated",
                "liability": "buyer",
                "remedy": "reject_refund",
                "refund_amount": "0.00",
                "return_shipping_payer": None,
                "penalty_amount": "0.00",
                "violations": [],
                "rules": ["burden.visible_defect", "weigh.stronger_rebuttal", "remedy.buyer"],
            },
            order=order("general"),
        ),
        case(  # a no-reason return upheld: the merchant's photo only equals the buyer's
            "KS-EX-0019",
            "no_reason_return",
            "return_and_refund",
            [
                ev("05T09:00:00", "buyer", "open"),
                ev("05T10:00:00", "merchant", "reject", reason="已使用, 影响二次销售"),
                ev("05T12:00:00", "buyer", "escalate"),
                submit("05T12:05:00", "buyer", {"kind": "photo", "file": intact_0019}),
                ev("05T12:06:00", "buyer", "evidence_complete"),
                submit("06T10:05:00", "merchant", {"kind": "photo", "file": used_0019}),
                ev("06T10:06:00", "merchant", "evidence_complete"),
                ev("07T09:00:00", "buyer", "return_shipped", tracking_no="YT0000000019"),
                ev("09T09:00:00", "merchant", "confirm_receipt"),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "merchant",
                "remedy": "return_and_refund",
                "refund_amount": "1299.00",
                "return_shipping_payer": "buyer",
                "penalty_amount": "3897.00",
                "violations": [],
                "rules": [
                    "burden.no_reason_return",
                    "weigh.equal",
                    "special.no_reason_return.no_both",
                    "special.no_reason_return.upheld",
                    "remedy.merchant",
                ],
            },
            order=order("general"),
        ),
        case(  # a platform finding that no rule of the claim type weighs: a reviewer decides
            "KS-EX-0020",
            "visible_defect",
            "refund_only",
            [
                *escalated(),
                ev("05T12:30:00", "platform", "finding", finding="carrier_loss"),
                submit("05T12:35:00", "buyer", {"kind": "photo", "file": crack_0020}),
                ev("05T12:36:00", "buyer", "evidence_complete"),
                ev("05T13:00:00", "merchant", "evidence_complete"),
                ev(
                    "06T10:00:00",
                    "platform",
                    "decide",
                    liability="neither",
                    remedy="refund_only",
                    reason="快递途中损坏, 承运商责任",
                ),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "neither",
                "remedy": "refund_only",
                "refund_amount": "1299.00",
                "return_shipping_payer": None,
                "penalty_amount": "0.00",
                "violations": [],
                "rules": ["review.manual", "review.override", "remedy.neither"],
            },
            order=order("general"),
        ),
        case(  # decided for the buyer; the merchant appeals; the buyer answers in its 48 h
            "KS-EX-0021",
            "visible_defect",
            "refund_only",
            [
                *escalated(),
                submit("05T12:05:00", "buyer", {"kind": "photo", "file": crack_0021}),
                ev("05T12:06:00", "buyer", "evidence_complete"),
                ev("05T13:00:00", "merchant", "evidence_complete"),
                ev(
                    "06T09:00:00",
                    "merchant",
                    "appeal",
                    evidence=[
                        {
                            "kind": "inspection_certificate",
                            "file": cert_0021,
                            **cert_meta,
                            "issuer": "Local Repair Shop",
                            "accreditation": "none",
                            "report_no": "SZQI-2026-0004",
                            "result": "pass",
                        }
                    ],
                ),
                submit("07T20:00:00", "buyer", {"kind": "video", "file": video_0021}),
                ev("07T20:01:00", "buyer", "evidence_complete"),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "merchant",
                "remedy": "refund_only",
                "refund_amount": "1299.00",
                "return_shipping_payer": None,
                "penalty_amount": "3897.00",
                "violations": [],
                "rules": ["burden.visible_defect", "weigh.weaker_rebuttal", "remedy.merchant"],
            },
            order=order("general"),
        ),
        case(  # line items: a claim on the charger of a phone order is decided on the charger
            "KS-EX-0022",
            "visible_defect",
            "refund_only",
            [
                *escalated(),
                submit("05T12:05:00", "buyer", {"kind": "photo", "file": charger_0022}),
                ev("05T12:06:00", "buyer", "evidence_complete"),
                ev("05T13:00:00", "merchant", "evidence_complete"),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "merchant",
                "remedy": "refund_only",
                "refund_amount": "99.00",
                "return_shipping_payer": None,
                "penalty_amount": "297.00",
                "violations": [],
                "rules": ["burden.visible_defect", "weigh.unrebutted", "remedy.merchant"],
            },
            order=two_items,
            claim_extra={
                "description": "充电器外壳开裂",
                "items": [{"sku": "CHG-20W", "quantity": 1}],
            },
        ),
        case(  # negotiation: the merchant offers 50.00 back, the buyer accepts
            "KS-EX-0023",
            "not_as_described",
            "return_and_refund",
            [
                ev("04T18:00:00", "buyer", "open"),
                ev("05T09:00:00", "merchant", "offer", remedy="partial_refund", amount="50.00"),
                ev("05T10:30:00", "buyer", "accept_offer", offer="O1"),
            ],
            {
                "state": "refunded",
                "resolution": "negotiated",
                "liability": None,
                "remedy": "partial_refund",
                "refund_amount": "50.00",
                "return_shipping_payer": None,
                "penalty_amount": None,
                "violations": [],
                "rules": [],
            },
            order=order("general"),
            claim_extra={"description": "颜色与描述不符"},
        ),
        case(  # an offer declined, then escalation and a decision
            "KS-EX-0024",
            "visible_defect",
            "refund_only",
            [
                ev("04T18:00:00", "buyer", "open"),
                ev("05T10:00:00", "merchant", "reject", reason="可以补偿30元"),
                ev("05T10:01:00", "merchant", "offer", remedy="partial_refund", amount="30.00"),
                ev("05T11:00:00", "buyer", "decline_offer", offer="O1", reason="太少"),
                ev("05T12:00:00", "buyer", "escalate"),
                submit("05T12:05:00", "buyer", {"kind": "photo", "file": scratch_0024}),
                ev("05T12:06:00", "buyer", "evidence_complete"),
                ev("05T13:00:00", "merchant", "evidence_complete"),
            ],
            {
                "state": "refunded",
                "resolution": "adjudicated",
                "liability": "merchant",
                "remedy": "refund_only",
                "refund_amount": "1299.00",
                "return_shipping_payer": None,
                "penalty_amount": "3897.00",
                "violations": [],
                "rules": ["burden.visible_defect", "weigh.unrebutted", "remedy.merchant"],
            },
            order=order("general"),
        ),
        case(  # a missing part, reshipped: the merchant agrees, ships it, the buyer confirms
            "KS-EX-0025",
            "missing_parts",
            "reshipment",
            [
                ev("04T18:00:00", "buyer", "open"),
                ev("05T09:00:00", "merchant", "agree"),
                ev("05T16:00:00", "merchant", "merchant_shipped", tracking_no="SF2000000025"),
                ev("07T11:00:00", "buyer", "confirm_delivery"),
            ],
            {
                "state": "closed",
                "resolution": "agreed",
                "liability": None,
                "remedy": "reshipment",
                "refund_amount": "0.00",
                "return_shipping_payer": None,
                "penalty_amount": None,
                "violations": [],
                "rules": [],
            },
            order=two_items,
            claim_extra={
                "description": "少了充电器",
                "items": [{"sku": "CHG-20W", "quantity": 1}],
            },
        ),
        case(  # an exchange whose merchant misses the shipping deadline: a refund instead
            "KS-EX-0026",
            "visible_defect",
            "exchange",
            [
                ev("04T18:00:00", "buyer", "open"),
                ev("05T09:00:00", "merchant", "agree"),
                ev("05T15:00:00", "buyer", "return_shipped", tracking_no="YT2000000026"),
                ev("07T10:00:00", "merchant", "confirm_receipt"),
            ],
            {
                "state": "refunded",
                "resolution": "agreed",
                "liability": None,
                "remedy": "return_and_refund",
                "refund_amount": "1299.00",
                "return_shipping_payer": "merchant",
                "penalty_amount": None,
                "violations": [],
                "rules": [
                    "shipping.default",
                    "deadline.exchange_ship",
                    "fallback.missed_shipment",
                ],
            },
            order=order("general"),
            claim_extra={"description": "屏幕坏点, 要求换货"},
        ),
        case(  # an insured order's return: the insurer pays the return shipping
            "KS-EX-0027",
            "no_reason_return",
            "return_and_refund",
            [
                ev("05T09:00:00", "buyer", "open"),
                ev("05T11:00:00", "merchant", "agree"),
                ev("06T10:00:00", "buyer", "return_shipped", tracking_no="YT2000000027"),
                ev("08T10:00:00", "merchant", "confirm_receipt"),
            ],
            {
                "state": "refunded",
                "resolution": "agreed",
                "liability": None,
                "remedy": "return_and_refund",
                "refund_amount": "1299.00",
                "return_shipping_payer": "insurer",
                "penalty_amount": None,
                "violations": [],
                "rules": ["shipping.insured"],
            },
            order=order("general", return_insurance=True),
        ),
    ]
    for item in cases:
        path = root / f"{item['case_id']}.json"
        path.write_text(json.dumps(item, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    closest = check_distinct(root, cases)
    files = sum(1 for f in (root / "evidence").rglob("*") if f.is_file())
    print(
        f"{len(cases)} cases and {files} evidence files in {root}; no two cases share bytes, "
        f"and the closest photos of two cases are {closest} bits apart"
    )


def check_distinct(root: Path, cases: list[dict[str, Any]]) -> int:
    """Assert that each evidence file is one case's: no shared bytes, no near-duplicate photos.

    Photos are compared by the perceptual hash that validation computes (``evidence.sharpness``)
    against the largest near-duplicate distance of the rulebooks the cases use. Returns the
    smallest distance between photos of two different cases.
    """
    distance = max(
        load_rulebook(default_rulebook(c["order"]["category"])).settings.near_duplicate_distance
        for c in cases
    )
    owner: dict[str, str] = {}  # sha256 -> case id
    hashes: list[tuple[str, str, str]] = []  # (case id, file, perceptual hash)
    for item in cases:
        for event in item["events"]:
            for evidence in event.get("evidence", []):
                path = root / evidence["file"]
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                other = owner.setdefault(digest, item["case_id"])
                assert other == item["case_id"], f"{path} has the bytes of a file of {other}"
                verdict = validate(path, EvidenceKind(evidence["kind"]))
                phash = verdict.facts.get("perceptual_hash")
                if isinstance(phash, str):
                    assert verdict.accepted or evidence["kind"] != "photo", verdict.findings
                    hashes.append((item["case_id"], evidence["file"], phash))
    closest = 64
    for (case_a, file_a, hash_a), (case_b, file_b, hash_b) in combinations(hashes, 2):
        if case_a != case_b:
            apart = hamming(hash_a, hash_b)
            assert apart > distance, f"{file_a} and {file_b} are near-duplicates ({apart} bits)"
            closest = min(closest, apart)
    return closest


if __name__ == "__main__":
    main(sys.argv[1:])
