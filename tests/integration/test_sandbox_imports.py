"""The decoder sandbox's worker imports each decoder when first given a file for it.

FFmpeg's and the PDF parser's libraries cost more CPU to import than most files cost to
decode: a worker that is only given photos never imports them, and one given a video imports
PyAV before that call's CPU budget starts (``DECODER_IMPORTS``), not at start-up.
"""

from __future__ import annotations

import sys
from pathlib import Path

from evidence.policy import DEFAULT_POLICY
from evidence.sandbox import SandboxFailure, shared_sandbox

REPO = Path(__file__).resolve().parents[2]
EVIDENCE = REPO / "examples" / "cases" / "evidence"
PHOTO = EVIDENCE / "KS-EX-0002" / "buyer-crack.jpg"
VIDEO = EVIDENCE / "KS-EX-0005" / "buyer-unboxing.mp4"
PDF = EVIDENCE / "KS-EX-0003" / "merchant-cert-pass.pdf"
DECODERS = {"PIL", "pillow_heif", "av", "pypdf"}


def loaded() -> list[str]:
    """Run in the worker: the top-level packages it has imported (this module, which the
    worker imports to run it, imports no decoder)."""
    return sorted({name.split(".")[0] for name in sys.modules})


def test_the_shared_worker_imports_each_decoder_when_first_given_its_kind() -> None:
    from evidence.image import probe_image
    from evidence.pdf import probe_pdf
    from evidence.video import probe_video

    # a (time, memory) pair of its own: a fresh worker, configured as validate's
    box = shared_sandbox(DEFAULT_POLICY.decoder_seconds + 0.25, DEFAULT_POLICY.decoder_memory_bytes)
    try:
        assert set(box.call(loaded)) & DECODERS == set()

        cpu = DEFAULT_POLICY.decoder_cpu_seconds
        photo = box.call(probe_image, str(PHOTO), "image/jpeg", b"", DEFAULT_POLICY, True)
        assert not isinstance(photo, SandboxFailure), photo
        assert set(box.call(loaded)) & DECODERS == {"PIL", "pillow_heif"}

        video = box.call(probe_video, str(VIDEO), "video/mp4", DEFAULT_POLICY, cpu_seconds=cpu)
        assert not isinstance(video, SandboxFailure), video
        assert not video["findings"], video
        assert set(box.call(loaded)) & DECODERS == {"PIL", "pillow_heif", "av"}

        pdf = box.call(probe_pdf, str(PDF), (), DEFAULT_POLICY.pdf_text_pages, cpu_seconds=cpu)
        assert not isinstance(pdf, SandboxFailure), pdf
        assert set(box.call(loaded)) & DECODERS == DECODERS
    finally:
        box.close()
