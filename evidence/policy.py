"""The numbers evidence validation applies.

The defaults are those of RULES.md section 6; the engine takes them from its rulebook (the
adjudicator's ``Rulebook.evidence_policy()``: its ``evidence`` and ``settings`` rules), so
these matter to a library user of this package, and to a rulebook that states none (the
2026.1 releases). The decoder's own bounds (the sandbox's wall clock and memory, the frames and
PDF pages decoded) are not rules of the platform and stay here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from evidence.kinds import EvidenceKind

MIB = 1024 * 1024


def _default_size_limits() -> dict[EvidenceKind, int]:
    return {
        EvidenceKind.PHOTO: 20 * MIB,
        EvidenceKind.INSPECTION_CERTIFICATE: 20 * MIB,
        EvidenceKind.VIDEO: 200 * MIB,
        EvidenceKind.LOGISTICS_RECORD: 5 * MIB,
        EvidenceKind.CHAT_RECORD: 5 * MIB,
    }


@dataclass(frozen=True)
class EvidencePolicy:
    """Thresholds and limits for validating evidence: the defaults of RULES.md; the engine
    takes them from its rulebook.

    ``sharpness_threshold`` is calibrated on ``shared/corpus/photos/real``: every real photo
    there scores at least 0.198 and every one of them blurred with ``GaussianBlur(8)`` at most
    0.047 (see ``evidence.sharpness``); 0.10 sits between, about twice from either side.
    """

    size_limits: dict[EvidenceKind, int] = field(default_factory=_default_size_limits)
    max_pixels: int = 40_000_000
    photo_min_short_side: int = 480
    sharpness_threshold: float = 0.10
    # A JPEG's decoding work grows with its scans (each one passes over every block of its
    # components); counted before any decoder runs. See evidence/jpeg.py for the measurements.
    jpeg_max_scans: int = 32
    jpeg_max_segments: int = 1000
    video_min_short_side: int = 240
    video_min_seconds: float = 1.0
    video_max_seconds: float = 600.0
    video_frames_to_decode: int = 3
    # How far a video's timing boxes (mdhd, mvhd, the edit list) and its packets' timestamps may
    # disagree (as a ratio) before the file is inconsistent.
    video_timing_tolerance: float = 1.5
    # Every file is decoded in the sandbox with this much CPU time (all threads), then killed.
    decoder_cpu_seconds: float = 2.0
    # Wall-clock limit for a decoder that neither answers nor computes (blocked, starved).
    decoder_seconds: float = 30.0
    decoder_memory_bytes: int = 3 * 1024 * MIB
    pdf_text_pages: int = 50
    capture_tolerance: timedelta = timedelta(hours=24)
    certificate_max_age_days: int = 365
    near_duplicate_distance: int = 6
    zone: str = "Asia/Shanghai"
    # None: the default patterns (CNAS L + 4-5 digits, or a 12-digit CMA number) are accredited.
    # A deployment narrows this to its registry of accreditation numbers.
    accreditation_registry: frozenset[str] | None = None

    def size_limit(self, kind: EvidenceKind) -> int:
        return self.size_limits[kind]


DEFAULT_POLICY = EvidencePolicy()
