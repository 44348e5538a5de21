"""What a command imports: only what it uses.

Each test runs the command's ``main`` in a fresh interpreter and lists the top-level packages
left in ``sys.modules``. The database layer (SQLAlchemy, sqlmodel, Alembic), the video and PDF
libraries and the web stack are imported by the commands that use them, never at start-up:
they are most of a short command's CPU time. No timing here: scripts/bench_startup.py measures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cases"
PHOTO = EXAMPLES / "evidence" / "KS-EX-0002" / "buyer-crack.jpg"

DATABASE = {"sqlalchemy", "sqlmodel", "alembic", "psycopg"}
VIDEO_AND_PDF = {"av", "pypdf", "pypdfium2", "cryptography"}
WEB = {"fastapi", "starlette", "jinja2", "uvicorn", "httpx"}
NEVER_AT_START = DATABASE | VIDEO_AND_PDF | WEB
# what validating case files, rulebooks and photos needs, and --help does not
VALIDATION = {"pydantic", "pydantic_core", "PIL", "pillow_heif", "magic", "transitions"}


def loaded_after(argv: list[str]) -> tuple[int, set[str]]:
    """The exit status of ``adjudicator ARGV`` run in-process in a fresh interpreter, and the
    top-level packages it left imported."""
    code = (
        "import contextlib, io, json, sys\n"
        "from adjudicator.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        status = main({argv!r})\n"
        "    except SystemExit as stop:\n"
        "        status = stop.code\n"
        "print(json.dumps([status, sorted({m.split('.')[0] for m in sys.modules})]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    status, modules = json.loads(done.stdout.splitlines()[-1])
    return status, set(modules)


def test_help_imports_nothing_heavy() -> None:
    status, modules = loaded_after(["--help"])
    assert status == 0
    assert modules & (NEVER_AT_START | VALIDATION) == set()


def test_replaying_the_examples_in_memory_imports_no_database_video_pdf_or_web() -> None:
    # the examples hold videos and PDFs: they are decoded in the sandbox's worker process,
    # which imports their libraries; the command's own process does not
    status, modules = loaded_after(["replay", str(EXAMPLES)])
    assert status == 0
    assert modules & NEVER_AT_START == set()


def test_checking_a_photo_imports_no_video_pdf_database_or_web() -> None:
    status, modules = loaded_after(["evidence", "check", str(PHOTO), "--kind", "photo"])
    assert status in (0, 1)
    assert modules & NEVER_AT_START == set()


def test_a_database_at_the_newest_revision_is_opened_without_alembic(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'disputes.db'}"
    status, modules = loaded_after(["replay", "--db", db, str(EXAMPLES / "KS-EX-0002.json")])
    assert status == 0
    assert "alembic" in modules  # an empty database: Alembic made the schema
    status, modules = loaded_after(["show", "KS-EX-0002", "--db", db])
    assert status == 0
    assert modules & ({"alembic", "mako"} | VIDEO_AND_PDF | WEB) == set()


def test_the_public_api_still_names_everything() -> None:
    code = (
        "import sys\n"
        "import adjudicator, evidence\n"
        "before = sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'sqlalchemy'})\n"
        "from adjudicator import Adjudicator, Claim, Rulebook, State, load_rulebook\n"
        "from evidence import DecoderSandbox, EvidenceKind, validate\n"
        "assert Adjudicator.__name__ == 'Adjudicator' and callable(load_rulebook)\n"
        "assert 'sqlalchemy' in sys.modules\n"
        "print(before)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
