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
_TEXTUAL = frozenset({"application/json", "text/plain"})  # "<body>" in text is just text
_HTML = re.compile(rb"<\s*(html|script|body|iframe|!doctype\s+html)\b", re.IGNORECASE)


def second_format(sniffed: Sniffed) -> str | None:
    """The other format these bytes also are, or None."""
    if sniffed.mime != "application/pdf" and b"%PDF-" in sniffed.head[:_PDF_MAGIC_WINDOW]:
        return "a PDF document"
    if _is_zip(sniffed.tail):
        return "a ZIP archive"
    if sniffed.mime not in _TEXTUAL and _HTML.search(sniffed.head[:4096]):
        return "an HTML page"
    return None


def _is_zip(tail: bytes) -> bool:
    """A ZIP end-of-central-directory record that ``zipfile`` (and unzip) would accept.

    As ``zipfile`` does, the record may stand anywhere in the last 64 KiB + 22 bytes with its
    comment inside the file (bytes after it are tolerated). To tell it from the same four bytes
    by chance inside image data, the record must also be consistent: its disk fields zero, its
    entry counts equal and not zero, and the central directory it names must begin with its
    own signature right before it (where ``zipfile`` looks for it in a file with data in front).
    """
    at = tail.rfind(_ZIP_EOCD)
    while at >= 0:
        if _plausible_end_record(tail, at):
            return True
        at = tail.rfind(_ZIP_EOCD, 0, at)
    return False


def _plausible_end_record(tail: bytes, at: int) -> bool:
    if at + 22 > len(tail):
        return False
    disk, cd_disk, here, total, cd_size, _, comment = struct.unpack_from("<HHHHIIH", tail, at + 4)
    if disk or cd_disk or not total or here != total or at + 22 + comment > len(tail):
        return False  # another disk's, inconsistent, or an archive with nothing in it
    cd_start = at - cd_size
    if cd_start < 0:
        return True  # a central directory larger than what we kept of the file
    return bool(tail[cd_start : cd_start + 4] == b"PK\x01\x02")
