"""evidence.sniff calls libmagic itself, as python-magic's ``Magic(mime=True)`` does: the same
MIME type for every buffer, without python-magic's import (which runs ``ldconfig -p``)."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import magic
import pytest

from evidence import sniff

REPO = Path(__file__).resolve().parents[2]


def _buffers(folders: list[Path]) -> Iterator[bytes]:
    """Each file's head (what sniff gives libmagic), a few leading bytes of it, and its end."""
    rng = random.Random(7)
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            data = path.read_bytes()[: sniff.HEAD_BYTES]
            if data:
                yield data
                yield data[: rng.randint(1, 64)]
                yield data[rng.randint(0, len(data) - 1) :]
    for _ in range(500):
        yield rng.randbytes(rng.randint(1, 2048))


def _same_types(folders: list[Path]) -> int:
    ours = sniff._open_libmagic()
    assert isinstance(ours, sniff._Libmagic)  # this system has libmagic.so.1
    theirs = magic.Magic(mime=True)
    seen = 0
    for buffer in _buffers(folders):
        assert ours.from_buffer(buffer) == theirs.from_buffer(buffer), buffer[:32]
        seen += 1
    return seen


def test_the_same_types_as_python_magic_for_the_examples_and_the_tests() -> None:
    assert _same_types([REPO / "examples", REPO / "tests"]) > 500


def test_the_same_types_as_python_magic_for_the_corpus(corpus: Path) -> None:
    assert _same_types([corpus]) > 900


def test_sniffing_does_not_import_python_magic() -> None:
    photo = REPO / "examples" / "cases" / "evidence" / "KS-EX-0002" / "buyer-crack.jpg"
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from evidence.sniff import sniff\n"
        f"print(sniff(Path({str(photo)!r})).mime, 'magic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.split() == ["image/jpeg", "False"]


@pytest.mark.parametrize(
    ("head", "mime"), [(b"", "application/x-empty"), (b"\x00", "application/octet-stream")]
)
def test_an_empty_file_and_one_byte(head: bytes, mime: str) -> None:
    assert sniff.mime_of(head) == mime
