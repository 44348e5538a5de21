"""PDFs (certificates, logistics and chat exports): parsed by pypdf inside the decoder sandbox."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from evidence.reasons import Finding, Reason
from evidence.report import ProbeReport

if TYPE_CHECKING:
    from pypdf import PdfReader

_MAX_TEXT = 2_000_000
_SPACE = re.compile(r"\s+")


def probe_pdf(path: str, needles: tuple[str, ...], text_pages: int) -> ProbeReport:
    """Opens, page count, password, and which ``needles`` the extractable text contains."""
    from pypdf import PdfReader  # imported in the sandbox worker, not by the caller

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    report = ProbeReport()
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            report.facts["encrypted"] = True
            if not reader.decrypt(""):
                report.findings.append(
                    Finding(Reason.PASSWORD_PROTECTED, "the PDF needs a password to open")
                )
                return report
        pages = len(reader.pages)
    except Exception as exc:  # pypdf raises many types on malformed files
        report.findings.append(Finding(Reason.UNDECODABLE, f"not a readable PDF: {exc}"[:300]))
        return report
    report.facts["pages"] = pages
    if pages == 0:
        report.findings.append(Finding(Reason.UNDECODABLE, "the PDF has no pages"))
        return report
    text = _text(reader, text_pages)
    report.facts["text_chars"] = len(text)
    flat = _SPACE.sub("", text).casefold()
    report.matched = tuple(n for n in needles if _SPACE.sub("", n).casefold() in flat)
    return report


def _text(reader: PdfReader, text_pages: int) -> str:
    parts: list[str] = []
    total = 0
    for page in reader.pages[:text_pages]:
        try:
            chunk = page.extract_text() or ""
        except Exception:  # a page whose content stream is broken has no text for us
            continue
        parts.append(chunk)
        total += len(chunk)
        if total >= _MAX_TEXT:
            break
    return "".join(parts)[:_MAX_TEXT]
