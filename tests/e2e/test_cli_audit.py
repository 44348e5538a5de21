"""``audit verify``, ``keygen`` and ``checkpoint`` as an operator types them, against each way
the issue "The log proves what the engine shows" tampered with a database.

On SQLite only: the command is one layer over ``Adjudicator.audit``, which
tests/integration/test_audit.py holds to every one of these attacks on each kind of database
(each command here is a process of its own, and the suite's time is the budget)."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from adjudicator.auditlog import MemoryJournal
from adjudicator.checkpoint import SigningKey, write_keypair
from tests import tamper
from tests.e2e.cli import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
SPEC = tamper.SPEC


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'disputes.db'}"


@pytest.fixture(autouse=True)
def evidence_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADJUDICATOR_EVIDENCE_DIR", str(tmp_path / "store"))


@pytest.fixture
def loaded(db_url: str) -> str:
    """The specification's example, then another dispute after it in the log."""
    cases = [str(EXAMPLES / f"{SPEC}.json"), str(EXAMPLES / "KS-EX-0002.json")]
    done = run("replay", "--db", db_url, *cases)
    assert done.returncode == 0, done.stderr
    return db_url


@pytest.fixture
def engine(loaded: str) -> Iterator[Engine]:
    made = create_engine(loaded)
    yield made
    made.dispose()


@pytest.fixture
def key(tmp_path: Path) -> Path:
    """A signing key, as ``audit keygen`` writes it (that command has its own test)."""
    path = tmp_path / "checkpoint.key"
    write_keypair(path)
    return path


def checkpoint(url: str, key: Path, into: Path) -> dict[str, object]:
    """Sign a checkpoint and append it to ``into``, as the scheduled job in docs/audit.md does
    (held to the checkpoints already there; the first run finds no file)."""
    done = run("audit", "checkpoint", "--db", url, "--key", str(key), "--checkpoint", str(into))
    assert done.returncode == 0, done.stderr
    with into.open("a", encoding="utf-8") as out:
        out.write(done.stdout)
    line: dict[str, object] = json.loads(done.stdout)
    return line


def verify(url: str, checkpoints: Path | None = None, key: Path | None = None) -> tuple[int, str]:
    extra = [] if checkpoints is None else ["--checkpoint", str(checkpoints)]
    extra += [] if key is None else ["--public-key", f"{key}.pub"]
    done = run("audit", "verify", "--db", url, *extra)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout


def test_the_issue_edited_refund_is_named_with_the_dispute_and_the_field(
    loaded: str, engine: Engine
) -> None:
    tamper.edit_refund(engine)
    assert "refund_amount: 99999.00" in run("show", SPEC, "--db", loaded).stdout
    code, out = verify(loaded)
    assert code == 1
    assert (
        f"{loaded}: broken at dispute {SPEC}: refund_amount is 99999.00 in the stored dispute "
        "but 649.50 in its log\n"
    ) in out
    assert "decision.refund_amount is 99999.00 in the stored dispute but 649.50" in out
    assert out.endswith(f"{loaded}: broken (3 problem(s); read 23 entries)\n")


def test_a_payout_raised_in_the_outbox_is_named_with_the_effect_and_the_field(
    loaded: str, engine: Engine
) -> None:
    """What the host pays out is held to the log too (docs/effects.md)."""
    key = tamper.refund_due(engine)["key"]
    tamper.edit_payout(engine)
    code, out = verify(loaded)
    assert code == 1
    assert out == (
        f"{loaded}: broken at dispute {SPEC}: effect {key} amount is 6495.00 in the effects "
        f"table but 649.50 in its log\n{loaded}: broken (1 problem(s); read 23 entries)\n"
    )


def test_an_intact_log_is_intact_and_extends_its_checkpoints(
    loaded: str, key: Path, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    first = checkpoint(loaded, key, checkpoints)
    assert (first["format"], first["size"]) == ("adjudicator-checkpoint/1", 23)
    assert run("replay", "--db", loaded, str(EXAMPLES / "KS-EX-0003.json")).returncode == 0
    second = checkpoint(loaded, key, checkpoints)
    assert isinstance(second["size"], int)
    assert second["size"] > 23
    code, out = verify(loaded, checkpoints, key)
    assert code == 0, out
    assert out == (
        f"{loaded}: intact ({second['size']} entries); 3 dispute(s) are what their entries "
        "say; it extends 2 signed checkpoint(s)\n"
    )


CAUGHT_BY_A_CHECKPOINT: dict[str, tuple[Callable[[Engine], None], str]] = {
    # the attack, and what verify says of the checkpoint (line 1, signed over 23 entries)
    "rewritten and re-hashed": (
        tamper.edit_refund_everywhere,
        "checkpoint line 1: signed entry 23 with hash",
    ),
    "tail cut, head fixed": (
        lambda engine: tamper.cut_tail(engine, 3),
        "checkpoint line 1: signed 23 entries at",
    ),
    "truncated, head reset": (tamper.truncate, "checkpoint line 1: signed 23 entries at"),
    "a dispute dropped, the rest renumbered": (
        lambda engine: tamper.drop_dispute(engine, SPEC),
        "checkpoint line 1: signed 23 entries at",
    ),
}


@pytest.mark.parametrize("attack", sorted(CAUGHT_BY_A_CHECKPOINT))
def test_what_the_chain_cannot_show_a_checkpoint_names(
    loaded: str, engine: Engine, key: Path, tmp_path: Path, attack: str
) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    checkpoint(loaded, key, checkpoints)
    tamper_with, named = CAUGHT_BY_A_CHECKPOINT[attack]
    tamper_with(engine)

    code, out = verify(loaded, checkpoints, key)
    assert code == 1
    assert f"{loaded}: broken at {named}" in out
    if attack == "rewritten and re-hashed":
        assert "but it now hashes to" in out
        assert "the log up to it was rewritten" in out
    else:
        assert "entries were deleted" in out
    # and a new checkpoint is not signed over a log that no longer extends the old ones
    done = run(
        "audit", "checkpoint", "--db", loaded, "--key", str(key), "--checkpoint", str(checkpoints)
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert "no checkpoint signed: the log is broken" in done.stderr


def test_a_dispute_dropped_from_the_log_is_named_without_a_checkpoint(
    loaded: str, engine: Engine
) -> None:
    tamper.drop_dispute(engine, SPEC)
    code, out = verify(loaded)
    assert code == 1
    assert (
        f"broken at dispute {SPEC}: is stored but has no entries in the log (they were deleted)"
    ) in out
    assert f"broken at dispute {SPEC}: decision 1 is in the decisions table but not in its log" in (
        out
    )


def test_a_cut_tail_with_the_head_fixed_shows_in_the_state_it_leaves_behind(
    loaded: str, engine: Engine
) -> None:
    """The chain and its head alone cannot tell a shorter log; the dispute whose last
    entries went still says where it got to."""
    tamper.cut_tail(engine, 1)  # KS-EX-0002's last transition: its state no longer agrees
    code, out = verify(loaded)
    assert code == 1
    assert "broken at dispute KS-EX-0002: state is refunded in the disputes table but " in out


def test_a_deleted_head_row_is_a_verdict(loaded: str, engine: Engine) -> None:
    tamper.delete_head(engine)
    code, out = verify(loaded)
    assert code == 1
    assert (
        f"{loaded}: broken at log_head: the row is missing (deleted), so nothing shows where "
        "the log ends\n"
    ) in out


def test_garbage_in_an_entry_is_a_verdict(loaded: str, engine: Engine) -> None:
    tamper.garble(engine, 3)
    code, out = verify(loaded)
    assert code == 1
    assert f"{loaded}: broken at entry 3: is not JSON\n" in out


def test_a_checkpoint_is_not_signed_over_a_broken_log(
    loaded: str, engine: Engine, key: Path
) -> None:
    tamper.edit_refund(engine)
    done = run("audit", "checkpoint", "--db", loaded, "--key", str(key))
    assert (done.returncode, done.stdout) == (1, "")
    assert f"adjudicator: {loaded}: broken at dispute {SPEC}: refund_amount is 99999.00" in (
        done.stderr
    )


def test_an_exported_log_is_held_to_its_checkpoints(loaded: str, key: Path, tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    checkpoint(loaded, key, checkpoints)
    exported = run("audit", "export", "--db", loaded).stdout.splitlines(keepends=True)
    log = tmp_path / "log.jsonl"
    log.write_text("".join(exported), "utf-8")
    pub = f"{key}.pub"
    done = run(
        "audit", "verify", "--log", str(log), "--checkpoint", str(checkpoints), "--public-key", pub
    )
    assert done.returncode == 0, done.stdout
    assert "intact (23 entries); it extends 1 signed checkpoint(s)" in done.stdout

    log.write_text("".join(exported[:-2]), "utf-8")  # a valid, shorter chain
    assert run("audit", "verify", "--log", str(log)).returncode == 0
    done = run(
        "audit", "verify", "--log", str(log), "--checkpoint", str(checkpoints), "--public-key", pub
    )
    assert done.returncode == 1
    assert "broken at checkpoint line 1: signed 23 entries at" in done.stdout
    assert "but the log has 21: entries were deleted" in done.stdout


def test_bad_checkpoint_lines_are_each_named(tmp_path: Path) -> None:
    """No database: an exported log and a checkpoint file with every kind of bad line."""
    journal = MemoryJournal()
    for n in range(3):
        journal.append({"case_id": "K", "event": f"e{n}"})
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in journal.entries), "utf-8")
    key = tmp_path / "k"
    mine, other = write_keypair(key), SigningKey.generate()
    at = datetime(2026, 3, 20, tzinfo=UTC)
    good = mine.sign(3, journal.entries[2]["hash"], at).line()
    forged = json.loads(good)
    forged["size"] = 2
    lines = [
        good,
        "",
        "not json",
        json.dumps({**json.loads(good), "format": "other/1"}),
        json.dumps({k: v for k, v in json.loads(good).items() if k != "signature"}),
        json.dumps(forged),
        other.sign(3, journal.entries[2]["hash"], at).line(),
        mine.sign(2, "0" * 64, at).line(),
    ]
    checkpoints = tmp_path / "checkpoints.jsonl"
    checkpoints.write_text("\n".join(lines) + "\n", "utf-8")
    done = run(
        "audit",
        "verify",
        "--log",
        str(log),
        "--checkpoint",
        str(checkpoints),
        "--public-key",
        f"{key}.pub",
    )
    assert done.returncode == 1
    said = [line.split(": broken at ", 1)[1] for line in done.stdout.splitlines()[:-1]]
    assert said == [
        "checkpoint line 3: is malformed: it is not JSON",
        "checkpoint line 4: is malformed: it is not an adjudicator-checkpoint/1 line "
        "(format 'other/1')",
        "checkpoint line 5: is malformed: it lacks signature",
        "checkpoint line 6: its signature does not verify (the line was altered, or forged)",
        f"checkpoint line 7: is signed by key {other.public.key_id}, not by the public key "
        f"given ({mine.public.key_id})",
        "checkpoint line 8: signed entry 2 with hash 000000000000… at 2026-03-20T00:00:00+00:00, "
        f"but it now hashes to {journal.entries[1]['hash'][:12]}…: the log up to it was "
        "rewritten",
    ]


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(
    tmp_path: Path,
) -> None:
    key = tmp_path / "k"
    done = run("audit", "keygen", str(key))
    assert done.returncode == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert Path(f"{key}.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    before = key.read_bytes()
    again = run("audit", "keygen", str(key))
    assert again.returncode == 2
    assert (
        again.stderr == f"adjudicator: error: {key}: already exists; a key is never overwritten\n"
    )
    assert key.read_bytes() == before

    Path(f"{tmp_path / 'j'}.pub").write_text("mine")
    assert run("audit", "keygen", str(tmp_path / "j")).returncode == 2
    assert not (tmp_path / "j").exists()  # nothing written when the .pub is in the way


def test_usage_errors_exit_2_with_one_line(loaded: str, key: Path, tmp_path: Path) -> None:
    absent = tmp_path / "absent.jsonl"
    cases = [
        (["audit", "verify", "--db", loaded, "--checkpoint", str(absent)], "go together"),
        (
            [
                "audit",
                "verify",
                "--db",
                loaded,
                "--checkpoint",
                str(absent),
                "--public-key",
                f"{key}.pub",
            ],
            f"{absent}: cannot read: No such file or directory",
        ),
        (
            ["audit", "verify", "--db", loaded, "--checkpoint", str(key), "--public-key", str(key)],
            f"{key}: not a PEM public key (that is a private key; give its .pub)",
        ),
        (
            ["audit", "checkpoint", "--db", loaded, "--key", f"{key}.pub"],
            f"{key}.pub: not an unencrypted PEM private key",
        ),
        (["audit", "checkpoint", "--db", loaded, "--key", str(absent)], "cannot read"),
    ]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    cases.append(
        (
            [
                "audit",
                "verify",
                "--db",
                loaded,
                "--checkpoint",
                str(empty),
                "--public-key",
                f"{key}.pub",
            ],
            f"{empty}: holds no checkpoint",
        )
    )
    for args, named in cases:
        done = run(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.startswith("adjudicator: error: "), done.stderr
        assert named in done.stderr
        assert len(done.stderr.splitlines()) == 1
