"""A case file is untrusted: it reaches only regular files inside its own folder, names
rulebooks by id, and leaves nothing in the evidence store when it does not commit."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from adjudicator.casefile import InvalidCase, read_case
from adjudicator.rulebook import load_rulebook
from evidence.intake import OutsideFolder, open_confined
from tests.conftest import REPO
from tests.e2e.cli import run

EXAMPLES = REPO / "examples" / "cases"
SECRET = "TOP-SECRET-5f3a"


def case_folder(tmp_path: Path) -> Path:
    """A copy of KS-EX-0002 (the buyer's photos are event 3) with its evidence, and a secret
    file beside the folder that no case may reach."""
    folder = tmp_path / "cases"
    folder.mkdir()
    shutil.copytree(EXAMPLES / "evidence", folder / "evidence")
    (tmp_path / "SECRET.txt").write_text(SECRET, "utf-8")
    return folder


def write_case(folder: Path, change: dict[str, Any], name: str = "case.json") -> Path:
    source = json.loads((EXAMPLES / "KS-EX-0002.json").read_text("utf-8"))
    source["case_id"] = "EXF-1"
    for pointer, value in change.items():
        *path, last = pointer.strip("/").split("/")
        node: Any = source
        for part in path:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value
    file = folder / name
    file.write_text(json.dumps(source, ensure_ascii=False), "utf-8")
    return file


def photo_at(name: str) -> dict[str, Any]:
    return {"/events/3/evidence": [{"kind": "photo", "file": name}]}


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def out_of_reach(folder: Path) -> dict[str, dict[str, Any]]:
    """Every way out of the folder the issue named, as a change to the case."""
    (folder / "out.jpg").symlink_to(folder.parent / "SECRET.txt")
    (folder / "environ.jpg").symlink_to("/proc/self/environ")
    (folder / "zero.jpg").symlink_to("/dev/zero")
    os.mkfifo(folder / "fifo.jpg")
    return {
        "absolute": photo_at("/etc/shadow"),
        "proc": photo_at("/proc/self/environ"),
        "dotdot": photo_at("../SECRET.txt"),
        "symlink out": photo_at("out.jpg"),
        "symlink to /proc": photo_at("environ.jpg"),
        "device": photo_at("zero.jpg"),
        "fifo": photo_at("fifo.jpg"),
        "long name": photo_at("x" * 5000),
    }


WAYS_OUT = ["absolute", "proc", "dotdot", "symlink out", "symlink to /proc", "device", "fifo"]


@pytest.mark.parametrize("way", [*WAYS_OUT, "long name"])
def test_evidence_outside_the_case_folder_is_an_invalid_case(tmp_path: Path, way: str) -> None:
    folder = case_folder(tmp_path)
    case = write_case(folder, out_of_reach(folder)[way])
    with pytest.raises(InvalidCase) as caught:
        read_case(case)
    assert caught.value.pointer == "/events/3/evidence/0/file"


@pytest.mark.parametrize("way", WAYS_OUT)
def test_replay_into_a_database_stores_nothing_from_outside(tmp_path: Path, way: str) -> None:
    folder = case_folder(tmp_path)
    case = write_case(folder, out_of_reach(folder)[way])
    db = tmp_path / "exf.db"
    done = run("replay", "--db", f"sqlite:///{db}", str(case), timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"{case}: /events/3/evidence/0/file:" in done.stderr
    assert "Traceback" not in done.stderr
    assert stored_files(Path(f"{db}.evidence")) == []
    assert SECRET not in done.stdout + done.stderr


def test_a_symlink_inside_the_folder_to_a_file_inside_it_is_followed(tmp_path: Path) -> None:
    folder = case_folder(tmp_path)
    original = json.loads((EXAMPLES / "KS-EX-0002.json").read_text("utf-8"))
    first = original["events"][3]["evidence"][0]
    (folder / "alias.jpg").symlink_to(folder / first["file"])
    case = write_case(folder, {"/events/3/evidence/0/file": "alias.jpg"})
    assert read_case(case).events[3].evidence[0].file == folder / "alias.jpg"


def test_the_file_opened_is_checked_not_only_the_name(tmp_path: Path) -> None:
    """What the reader checked by name can be swapped before the file is opened: the intake
    checks the descriptor it holds."""
    inside = tmp_path / "inside"
    inside.mkdir()
    (tmp_path / "secret").write_text(SECRET, "utf-8")
    (inside / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    stream, _ = open_confined(inside / "photo.jpg", inside)
    stream.close()
    (inside / "photo.jpg").unlink()  # swapped after the reader's check
    (inside / "photo.jpg").symlink_to(tmp_path / "secret")
    with pytest.raises(OutsideFolder, match="outside"):
        open_confined(inside / "photo.jpg", inside)


@pytest.mark.parametrize(
    "rulebook", ["/etc/passwd", "../kuaishou.general.toml", "/dev/zero", "rules/x", "X Y"]
)
def test_a_case_file_rulebook_is_an_id_never_a_path(tmp_path: Path, rulebook: str) -> None:
    folder = case_folder(tmp_path)
    case = write_case(folder, {"/rulebook": rulebook})
    done = run("replay", str(case), timeout=60)
    assert done.returncode == 2
    assert f"{case}: /rulebook: must be a rulebook id" in done.stderr


def test_an_unknown_rulebook_id_is_not_looked_up_as_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = case_folder(tmp_path)
    case = write_case(folder, {"/rulebook": "acme.rules"})
    here = tmp_path / "cwd"  # where a relative path would have been read from
    here.mkdir()
    (here / "acme.rules").write_text("not toml at all [", "utf-8")
    monkeypatch.chdir(here)
    done = run("replay", str(case), timeout=60)
    assert done.returncode == 2
    assert f"{case}: /rulebook: no rulebook 'acme.rules'" in done.stderr


def registered_rulebook(folder: Path) -> Path:
    general = (REPO / "adjudicator" / "rulebooks" / "kuaishou.general.toml").read_text("utf-8")
    own = folder.parent / "acme.general.toml"
    own.write_text(general.replace('id = "kuaishou.general"', 'id = "acme.general"'), "utf-8")
    return own


def test_a_registered_rulebook_is_named_by_its_id(tmp_path: Path) -> None:
    folder = case_folder(tmp_path)
    case = write_case(folder, {"/rulebook": "acme.general"})
    unregistered = run("replay", "--json", str(case), timeout=60)
    assert unregistered.returncode == 2
    own = registered_rulebook(folder)
    for extra in ([], ["--db", f"sqlite:///{tmp_path / 'r.db'}"]):
        done = run("replay", "--json", "--register-rulebook", str(own), *extra, str(case))
        assert done.returncode == 0, done.stderr
        version = load_rulebook("kuaishou.general").version  # the file copies this release
        assert json.loads(done.stdout)["rulebook"] == f"acme.general@{version}"


def test_a_case_file_that_is_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "case.json"
    os.mkfifo(fifo)
    done = run("replay", str(fifo), timeout=60)  # it would hang if it were read
    assert done.returncode == 2
    assert f"{fifo}: /: not a regular file" in done.stderr


def test_an_operator_rulebook_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    done = run("replay", "--rulebook", "/dev/zero", str(EXAMPLES), timeout=60)
    assert done.returncode == 2
    assert "/dev/zero: not a regular file" in done.stderr


def test_a_file_over_the_size_limit_is_too_large_and_never_read(tmp_path: Path) -> None:
    folder = case_folder(tmp_path)
    huge = folder / "huge.jpg"
    with huge.open("wb") as out:  # sparse: 30 MiB of holes, over the 20 MiB photo limit
        out.write(b"\xff\xd8\xff\xe0")
        out.truncate(30 * 1024 * 1024)
    events = json.loads((EXAMPLES / "KS-EX-0002.json").read_text("utf-8"))["events"][:4]
    events[3]["evidence"] = [{"kind": "photo", "file": "huge.jpg"}]
    case = write_case(folder, {"/events": events, "/expected": {}})
    done = run("replay", "--json", "--db", f"sqlite:///{tmp_path / 'h.db'}", str(case))
    assert done.returncode == 0, done.stderr
    item = json.loads(done.stdout)["evidence"][0]
    assert (item["reasons"], item["sha256"]) == (["too_large"], "")
    assert stored_files(tmp_path / "h.db.evidence") == []


# --- the store after a crash -------------------------------------------------------------------
STAGER = """
import sys
from evidence import FilesystemStore
store = FilesystemStore(sys.argv[1])
print("staging", flush=True)
store.stage_stream(sys.stdin.buffer)
"""


def test_a_killed_writer_leaves_only_garbage_that_store_gc_removes(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    assert run("replay", "--db", f"sqlite:///{db}", str(EXAMPLES)).returncode == 0
    store = Path(f"{db}.evidence")
    objects = sorted(stored_files(store / "objects"))
    writer = subprocess.Popen(
        [sys.executable, "-c", STAGER, str(store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=REPO,
    )
    assert writer.stdin is not None
    assert writer.stdout is not None
    assert writer.stdout.readline() == b"staging\n"
    writer.stdin.write(b"x" * (4 * 1024 * 1024))
    writer.stdin.flush()
    for _ in range(200):  # until its temporary file has the bytes
        leftovers = list((store / "tmp").iterdir())
        if leftovers and leftovers[0].stat().st_size > 0:
            break
        time.sleep(0.05)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert [p.name[:9] for p in (store / "tmp").iterdir()] == ["incoming-"]

    kept = run("store", "gc", "--db", f"sqlite:///{db}")  # within the grace period
    assert kept.returncode == 0
    assert len(list((store / "tmp").iterdir())) == 1
    done = run("store", "gc", "--db", f"sqlite:///{db}", "--grace", "0")
    assert done.returncode == 0, done.stderr
    assert "1 temporary file(s)" in done.stdout
    assert list((store / "tmp").iterdir()) == []
    assert sorted(stored_files(store / "objects")) == objects  # every referenced object stays
