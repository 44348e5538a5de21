"""Stable rejection reason codes (RULES.md section 6) and the finding that carries one."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Why an evidence item was rejected. The values are a public contract: never rename one."""

    TYPE_NOT_ALLOWED = "type_not_allowed"
    TOO_LARGE = "too_large"
    UNDECODABLE = "undecodable"
    TRUNCATED = "truncated"
    DECOMPRESSION_BOMB = "decompression_bomb"
    ANIMATED = "animated"
    TOO_SMALL = "too_small"
    NOT_CLEAR = "not_clear"
    NO_VIDEO_STREAM = "no_video_stream"
    ENCRYPTED = "encrypted"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    PASSWORD_PROTECTED = "password_protected"
    MISSING_METADATA = "missing_metadata"
    SUBJECT_MISMATCH = "subject_mismatch"
    EXPIRED = "expired"
    INCONSISTENT_METADATA = "inconsistent_metadata"
    TRACKING_MISMATCH = "tracking_mismatch"
    CAPTURED_BEFORE_DELIVERY = "captured_before_delivery"
    LATE = "late"
    REUSED = "reused"


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason to reject, with a sentence a reviewer can read."""

    reason: Reason
    detail: str
