"""Evidence kinds and the content types (from libmagic) each one admits."""

from __future__ import annotations

from enum import StrEnum

IMAGE_TYPES: frozenset[str] = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"}
)
VIDEO_TYPES: frozenset[str] = frozenset(
    {
        "video/mp4",
        "video/x-m4v",
        "video/quicktime",
        "video/webm",
        "video/x-matroska",
        "video/3gpp",
        "video/3gpp2",
    }
)
PDF_TYPES: frozenset[str] = frozenset({"application/pdf"})
# libmagic calls a JSON file application/json or, when it cannot tell, text/plain.
JSON_TYPES: frozenset[str] = frozenset({"application/json", "text/plain"})
TEXT_TYPES: frozenset[str] = frozenset({"text/plain"})


class EvidenceKind(StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    INSPECTION_CERTIFICATE = "inspection_certificate"
    LOGISTICS_RECORD = "logistics_record"
    CHAT_RECORD = "chat_record"


ALLOWED_TYPES: dict[EvidenceKind, frozenset[str]] = {
    EvidenceKind.PHOTO: IMAGE_TYPES,
    EvidenceKind.VIDEO: VIDEO_TYPES,
    EvidenceKind.INSPECTION_CERTIFICATE: PDF_TYPES | IMAGE_TYPES,
    EvidenceKind.LOGISTICS_RECORD: JSON_TYPES | PDF_TYPES | IMAGE_TYPES,
    EvidenceKind.CHAT_RECORD: IMAGE_TYPES | PDF_TYPES | TEXT_TYPES,
}

# Kinds whose images must be clear photos (清晰): a certificate photo must be legible too.
# Logistics and chat screenshots only have to be whole, sound images.
CLARITY_REQUIRED: frozenset[EvidenceKind] = frozenset(
    {EvidenceKind.PHOTO, EvidenceKind.INSPECTION_CERTIFICATE}
)
