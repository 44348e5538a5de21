"""PDFs (certificates, logistics and chat exports): parsed by pypdf inside the decoder sandbox."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from evidence.reasons import Finding, Reason
from evidence.report import ProbeReport

if TYPE_CHECKING:
    from pypdf import PdfReader

_MAX_TEXT = 2_000_000
DECODER_IMPORTS = ("pypdf",)
"""What the sandbox's worker imports before a call of this module's, outside its CPU budget."""


def probe_pdf(path: str, needles: tuple[str, ...], text_pages: int) -> dict[str, Any]:
    """Opens, page count, password, and which ``needles`` the extractable text contains.

    Runs in the decoder sandbox, so it answers plain data (:meth:`ProbeReport.to_plain`).
    """
    return _probe(path, needles, text_pages).to_plain()


def _probe(path: str, needles: tuple[str, ...], text_pages: int) -> ProbeReport:
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
    report.matched = tuple(n for n in needles if _as_token(n).search(text))
    return report


def _as_token(needle: str) -> re.Pattern[str]:
    """``needle`` as a whole token of the text: "SZ-2026-01" is not found in "SZ-2026-011".

    Text extraction splits or joins words at will, so white space may come between any two of
    its characters; letters and digits may not stand right before or after it.
    """
    body = r"\s*".join(re.escape(c) for c in needle if not c.isspace())
    return re.compile(rf"(?<![0-9A-Za-z]){body}(?![0-9A-Za-z])", re.IGNORECASE)


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
