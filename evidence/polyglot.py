"""Polyglots: files that are valid as their declared type *and* as another, riskier one.

A JPEG that is also a ZIP archive, a PDF or an HTML page gets past a type check and then is
opened by something else. Each detector looks for the second format's own anchor where that
format's readers look for it.
"""

from __future__ import annotations

import re
import struct

from evidence.sniff import Sniffed

_PDF_MAGIC_WINDOW = 1024  # PDF readers accept "%PDF-" anywhere in the first KiB
_ZIP_EOCD = b"PK\x05\x06"
_HTML = re.compile(rb"<\s*(html|script|body|iframe|!doctype\s+html)\b", re.IGNORECASE)


def second_format(sniffed: Sniffed) -> str | None:
    """The other format these bytes also are, or None."""
    if sniffed.mime != "application/pdf" and b"%PDF-" in sniffed.head[:_PDF_MAGIC_WINDOW]:
        return "a PDF document"
    if _is_zip(sniffed.tail):
        return "a ZIP archive"
    if not sniffed.mime.startswith("text/") and _HTML.search(sniffed.head[:4096]):
        return "an HTML page"
    return None


def _is_zip(tail: bytes) -> bool:
    """A ZIP end-of-central-directory record whose comment length reaches exactly to EOF."""
    at = tail.find(_ZIP_EOCD)
    while at >= 0:
        if at + 22 <= len(tail):
            (comment_length,) = struct.unpack_from("<H", tail, at + 20)
            if at + 22 + comment_length == len(tail):
                return True
        at = tail.find(_ZIP_EOCD, at + 1)
    return False
