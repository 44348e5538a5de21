"""``adjudicator evidence check``, run as the installed command a user runs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from tests.e2e.cli import run


def test_all_accepted_exits_0(corpus: Path) -> None:
    done = run("evidence", "check", str(corpus / "photos/real/jolla.jpg"), "--kind", "photo")
    assert done.returncode == 0, done.stderr
    assert "accepted" in done.stdout


def test_json_lines_in_the_order_given_and_exit_1_when_any_is_rejected(corpus: Path) -> None:
    files = [corpus / "photos/tiny/Nikon_D70.jpg", corpus / "photos/real/jolla.jpg"]
    done = run("evidence", "check", *map(str, files), "--kind", "photo", "--json")
    assert done.returncode == 1, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(f) for f in files]
    small, clear = lines
    assert list(small)[:7] == ["file", "accepted", "kind", "mime", "sha256", "size", "reasons"]
    assert (small["accepted"], small["reasons"]) == (False, ["too_small"])
    assert (clear["accepted"], clear["reasons"], clear["mime"]) == (True, [], "image/jpeg")
    assert clear["facts"]["width"] == 3264
    assert "reused" in clear["skipped"]


def test_meta_and_context_reach_the_checks(corpus: Path, tmp_path: Path) -> None:
    record = tmp_path / "trace.json"
    record.write_text('{"events": []}')
    meta = {
        "carrier": "SF",
        "tracking_no": "SF1",
        "status": "delivered",
        "at": "2026-03-04T15:20:00+08:00",
    }
    context = {"party": "merchant", "role": "proof", "tracking_no": "SF2"}
    done = run(
        "evidence",
        "check",
        str(record),
        "--kind",
        "logistics_record",
        "--json",
        "--meta",
        json.dumps(meta),
        "--context",
        json.dumps(context),
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["reasons"] == ["tracking_mismatch"]


def test_the_output_is_the_same_bytes_everyrun(corpus: Path) -> None:
    args = (
        "evidence",
        "check",
        str(corpus / "photos/heic/IMG_5195.HEIC"),
        str(corpus / "videos/white.mp4"),
        "--kind",
        "video",
        "--json",
    )
    assert run(*args).stdout == run(*args).stdout


def test_bad_usage_exits_2_and_says_what_is_wrong(corpus: Path, tmp_path: Path) -> None:
    photo = str(corpus / "photos/real/jolla.jpg")
    unknown_kind = run("evidence", "check", photo, "--kind", "selfie")
    assert unknown_kind.returncode == 2
    assert "selfie" in unknown_kind.stderr
    missing = run("evidence", "check", str(tmp_path / "nope.jpg"), "--kind", "photo")
    assert missing.returncode == 2
    assert "nope.jpg: no such file" in missing.stderr
    bad_meta = run("evidence", "check", photo, "--kind", "photo", "--meta", "{oops")
    assert bad_meta.returncode == 2
    assert "--meta: not valid JSON" in bad_meta.stderr
    bad_context = run(
        "evidence",
        "check",
        photo,
        "--kind",
        "photo",
        "--context",
        '{"party": "buyer", "signed_at": "yesterday"}',
    )
    assert bad_context.returncode == 2
    assert "signed_at" in bad_context.stderr


def test_the_installed_console_command_exists() -> None:
    assert shutil.which("adjudicator", path=str(Path(sys.executable).parent)) is not None
