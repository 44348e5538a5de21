"""Fuzzed real files: whatever the bytes, validation returns a verdict."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence import DecoderSandbox, EvidenceKind, validate
from tests.conftest import CORPUS

SEEDS = {
    "photo": CORPUS / "photos" / "real" / "exif-org_canon-ixus.jpg",
    "png": CORPUS / "photos" / "broken" / "pillow_truncated_image.png",
    "heic": CORPUS / "photos" / "heic" / "samplefilehub.heif",
    "video": CORPUS / "videos" / "white.mp4",
    "pdf": CORPUS / "pdfs" / "minimal-document.pdf",
}


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name].read_bytes())
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return name, bytes(data)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=mutated(), kind=st.sampled_from(list(EvidenceKind)))
def test_mutated_real_files_always_get_a_verdict(
    corpus: Path, sandbox: DecoderSandbox, case: tuple[str, bytes], kind: EvidenceKind
) -> None:
    _, data = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.bin"
        path.write_bytes(data)
        verdict = validate(path, kind, sandbox=sandbox)
    assert verdict.sha256 == hashlib.sha256(data).hexdigest()
    assert verdict.mime
    for finding in verdict.findings:
        assert finding.detail
        assert "decoder crashed" not in finding.detail
