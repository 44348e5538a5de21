"""``adjudicator whatif`` and ``rules diff`` end to end, over the example disputes: new
releases of both built-in rulebooks with a smaller share for shared liability (both_ratio 0.5
-> 0.4) and a stricter sharpness threshold (0.10 -> 0.495), which rejects the photos whose
sharpness is at or below it."""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
NEW_RATIO, NEW_THRESHOLD = Decimal("0.4"), 0.495
CLAIM_TYPES = {
    "kuaishou.general": '"visible_defect", "invisible_defect", "wrong_item", "missing_parts", '
    '"not_shipped", "not_received", "not_as_described", "illegal_origin", "no_reason_return"',
    "kuaishou.used_3c": '"visible_defect", "invisible_defect", "wrong_item", "missing_parts", '
    '"not_shipped", "not_received", "not_as_described", "illegal_origin", '
    '"unofficial_repair", "no_reason_return"',
}


def release(folder: Path, rulebook_id: str, ratio: Decimal = NEW_RATIO) -> Path:
    """A new release (2026.4) of a built-in rulebook that changes only its settings."""
    path = folder / f"{rulebook_id}.2026.4.toml"
    path.write_text(
        f'id = "{rulebook_id}"\nversion = "2026.4"\nextends = "{rulebook_id}"\n'
        f"claim_types = [{CLAIM_TYPES[rulebook_id]}]\n\n"
        '[rules."settings"]\nkind = "settings"\nzone = "Asia/Shanghai"\n'
        f'both_ratio = "{ratio}"\nsharpness_threshold = {NEW_THRESHOLD}\n'
        "near_duplicate_distance = 6\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("releases")
    out = []
    for rid in CLAIM_TYPES:
        out += ["--rulebook", str(release(folder, rid))]
    return out


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


@functools.cache
def replayed() -> dict[str, dict[str, Any]]:
    """The examples' outcomes under their own rulebooks, as ``replay`` gives them."""
    done = run("replay", "--json", str(EXAMPLES))
    assert done.returncode == 0, done.stderr
    return {line["case_id"]: line for line in lines(done.stdout)}


def paid(case_id: str) -> Decimal:
    case = json.loads((EXAMPLES / f"{case_id}.json").read_text("utf-8"))
    return Decimal(case["order"]["paid_amount"])


def test_whatif_shows_each_changed_dispute_and_the_money_exactly(releases: list[str]) -> None:
    done = run("whatif", str(EXAMPLES), *releases, "--json")
    assert done.returncode == 0, done.stderr
    *changed, last = lines(done.stdout)
    by_id = {c["case_id"]: c for c in changed}
    before = replayed()
    # shared liability: the buyer's share of the paid amount is now 0.4, not 0.5
    shared = [cid for cid, line in before.items() if line["liability"] == "both"]
    assert sorted(shared) == ["KS-2026-000123", "KS-EX-0004", "KS-EX-0008"]
    for case_id in ("KS-2026-000123", "KS-EX-0004"):
        change = by_id[case_id]
        assert change["differs"] == ["refund_amount"]
        assert change["old"]["refund_amount"] == before[case_id]["refund_amount"]
        assert Decimal(change["old"]["refund_amount"]) == paid(case_id) * Decimal("0.5")
        assert Decimal(change["new"]["refund_amount"]) == paid(case_id) * NEW_RATIO
        assert change["old"]["rulebook"].endswith("@2026.3")
        assert change["new"]["rulebook"] == change["old"]["rulebook"].replace("2026.3", "2026.4")
    # KS-EX-0008's buyer photo (sharpness 0.4921) is no longer clear: the buyer proves
    # nothing, is liable, and gets nothing back; the merchant pays no penalty
    blurred = by_id["KS-EX-0008"]
    assert blurred["old"]["liability"] == "both"
    assert blurred["new"]["liability"] == "buyer"
    assert blurred["new"]["remedy"] == "reject_refund"
    assert blurred["new"]["refund_amount"] == "0.00"
    assert blurred["new"]["penalty_amount"] == "0.00"
    assert blurred["evidence"] == [
        {
            "id": "E1",
            "kind": "photo",
            "old": {"accepted": True, "reasons": []},
            "new": {"accepted": False, "reasons": ["not_clear"]},
        }
    ]
    assert "remedy.both" in blurred["rules_removed"]
    assert "remedy.buyer" in blurred["rules_added"]
    # KS-EX-0019's buyer photo is rejected too: the merchant wins, and the buyer's later
    # return shipment is an event the new outcome refuses
    refused = by_id["KS-EX-0019"]
    assert refused["differs"] == ["refused"]
    assert refused["new"]["refused"].startswith("/events/7: return_shipped is not allowed")
    assert set(by_id) == {"KS-2026-000123", "KS-EX-0004", "KS-EX-0008", "KS-EX-0019"}

    summary = last["summary"]
    assert summary["disputes"] == summary["compared"] == len(before)
    assert (summary["changed"], summary["refused_under_new"], summary["invalid"]) == (4, 1, 0)
    assert summary["by_claim"]["not_as_described"]["liability_moves"] == {"both->buyer": 1}
    # the money, over the disputes that replay under both (KS-EX-0019 left out)
    counted = [line for cid, line in before.items() if cid != "KS-EX-0019"]
    old_refunds = sum(Decimal(line["refund_amount"] or 0) for line in counted)
    old_penalties = sum(Decimal(line["penalty_amount"] or 0) for line in counted)
    cut = sum(paid(cid) * (Decimal("0.5") - NEW_RATIO) for cid in ("KS-2026-000123", "KS-EX-0004"))
    new_refunds = old_refunds - cut - Decimal(before["KS-EX-0008"]["refund_amount"])
    new_penalties = old_penalties - Decimal(before["KS-EX-0008"]["penalty_amount"])
    money = summary["money"]["CNY"]
    assert Decimal(money["refunds"]["old"]) == old_refunds
    assert Decimal(money["refunds"]["new"]) == new_refunds
    assert Decimal(money["refunds"]["difference"]) == new_refunds - old_refunds
    assert Decimal(money["penalties"]["new"]) == new_penalties
    assert Decimal(money["penalties"]["difference"]) == new_penalties - old_penalties
    assert {book["label"] for book in summary["new_rulebooks"]} == {
        "kuaishou.general@2026.4",
        "kuaishou.used_3c@2026.4",
    }


def test_whatif_text_and_html_are_the_same_bytes_every_time(
    releases: list[str], tmp_path: Path
) -> None:
    outputs = []
    for attempt in range(2):
        html = tmp_path / f"report{attempt}.html"
        done = run("whatif", str(EXAMPLES), *releases, "--html", str(html))
        assert done.returncode == 0, done.stderr
        outputs.append((done.stdout, html.read_bytes()))
    assert outputs[0] == outputs[1]
    text = outputs[0][0]
    assert "KS-EX-0008  not_as_described" in text
    assert "  liability       both -> buyer" in text
    assert "  evidence E1     accepted -> rejected (not_clear)" in text
    assert "27 dispute(s): 27 compared, 4 changed, 23 unchanged, 1 no longer replay" in text


class _Page(HTMLParser):
    """What a self-contained report must be: every tag and attribute, the table's rows and
    the chart's bars."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[str] = []
        self.bars: dict[str, dict[str, float]] = {}
        self._group: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.tags.append((tag, named))
        if tag == "tr" and named.get("data-case"):
            self.rows.append(str(named["data-case"]))
        if tag == "g" and named.get("data-claim"):
            self._group = str(named["data-claim"])
        if tag == "rect" and self._group is not None and named.get("class"):
            self.bars.setdefault(self._group, {})[str(named["class"])] = float(str(named["width"]))


def test_the_html_report_needs_nothing_else_and_draws_the_summary(
    releases: list[str], tmp_path: Path
) -> None:
    html = tmp_path / "report.html"
    done = run("whatif", str(EXAMPLES), *releases, "--html", str(html), "--json")
    assert done.returncode == 0, done.stderr
    summary = lines(done.stdout)[-1]["summary"]
    page = _Page()
    page.feed(html.read_text("utf-8"))
    for tag, attrs in page.tags:  # nothing is fetched: no link, no external src or href
        assert tag not in ("link", "iframe", "object", "embed")
        for name in ("src", "href", "xlink:href"):
            assert not attrs.get(name), (tag, attrs)
    assert sorted(page.rows) == ["KS-2026-000123", "KS-EX-0004", "KS-EX-0008", "KS-EX-0019"]
    # one bar pair per claim type, the changed bar in proportion to the compared one
    assert set(page.bars) == set(summary["by_claim"])
    for claim, counts in summary["by_claim"].items():
        bars = page.bars[claim]
        assert bars["changed"] * counts["compared"] == pytest.approx(
            bars["compared"] * counts["changed"], abs=1
        )


def test_whatif_over_a_database_reads_only_and_agrees_with_the_case_files(
    db_url: str, releases: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADJUDICATOR_EVIDENCE_DIR", str(tmp_path / "store"))
    stored = run("replay", "--db", db_url, str(EXAMPLES))
    assert stored.returncode == 0, stored.stderr
    before = _database_state(db_url)
    from_db = run("whatif", "--db", db_url, *releases)
    assert from_db.returncode == 0, from_db.stderr
    assert _database_state(db_url) == before  # nothing written
    from_files = run("whatif", str(EXAMPLES), *releases)
    assert from_db.stdout == from_files.stdout


def _database_state(url: str) -> str:
    """A digest of every row of the tables a what-if could touch."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for table, order in (
            ("disputes", "case_id"),
            ("events", "id"),
            ("evidence", "id"),
            ("decisions", "id"),
            ("log", "seq"),
            ("log_head", "id"),
            ("effects", "id"),
        ):
            for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY {order}")):
                digest.update(repr(tuple(row)).encode())
    engine.dispose()
    return digest.hexdigest()


def test_whatif_refuses_what_it_cannot_compare(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('id = "kuaishou.general"\nversion = "x"\n', encoding="utf-8")
    bad_book = run("whatif", str(EXAMPLES), "--rulebook", str(broken))
    assert bad_book.returncode == 2
    assert bad_book.stderr.startswith(f"adjudicator: error: --rulebook: {broken}")
    assert bad_book.stdout == ""
    # an invalid case file is named, and the others are still compared
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "a.json").write_text((EXAMPLES / "KS-EX-0008.json").read_text("utf-8"))
    shutil.copytree(EXAMPLES / "evidence" / "KS-EX-0008", cases / "evidence" / "KS-EX-0008")
    (cases / "b.json").write_text('{"format": "dispute-case/1"', encoding="utf-8")
    new = release(tmp_path, "kuaishou.general")
    mixed = run("whatif", str(cases), "--rulebook", str(new))
    assert mixed.returncode == 2
    assert f"adjudicator: invalid case: {cases / 'b.json'}: /: not valid JSON" in mixed.stderr
    assert "KS-EX-0008  not_as_described" in mixed.stdout
    assert "2 dispute(s): 1 compared, 1 changed" in mixed.stdout
    neither = run("whatif", "--rulebook", str(new))
    assert neither.returncode == 2
    assert "give case files" in neither.stderr
    other = run("whatif", str(cases), "--rulebook", str(new), "--against", "kuaishou.used_3c")
    assert other.returncode == 2
    assert "no --rulebook is a release of kuaishou.used_3c" in other.stderr


def test_a_release_of_another_rulebook_leaves_its_disputes_out(tmp_path: Path) -> None:
    new = release(tmp_path, "kuaishou.general", ratio=Decimal("0.5"))
    done = run("whatif", str(EXAMPLES), "--rulebook", str(new), "--json")
    assert done.returncode == 0, done.stderr
    summary = lines(done.stdout)[-1]["summary"]
    own = replayed()
    under_3c = sum(1 for line in own.values() if line["rulebook"].startswith("kuaishou.used_3c"))
    assert summary["other_rulebooks"] == {"kuaishou.used_3c": under_3c}
    assert summary["compared"] == len(own) - under_3c


def test_rules_diff_lists_the_rules_that_differ(tmp_path: Path) -> None:
    new = release(tmp_path, "kuaishou.general")
    done = run("rules", "diff", "kuaishou.general", str(new), "--json")
    assert done.returncode == 0, done.stderr
    diff = json.loads(done.stdout)
    assert diff["old"]["label"] == "kuaishou.general@2026.3"
    assert diff["new"]["label"] == "kuaishou.general@2026.4"
    assert diff["rulebook"] == [{"field": "version", "old": "2026.3", "new": "2026.4"}]
    assert diff["added"] == diff["removed"] == {}
    assert diff["changed"] == {
        "settings": [
            {"field": "both_ratio", "old": "0.5", "new": "0.4"},
            {"field": "sharpness_threshold", "old": 0.1, "new": NEW_THRESHOLD},
        ]
    }
    text = run("rules", "diff", "kuaishou.general", str(new))
    assert text.returncode == 0
    assert '~ settings.both_ratio: "0.5" -> "0.4"' in text.stdout.splitlines()


def test_rules_diff_between_releases_names_added_and_removed_rules() -> None:
    done = run("rules", "diff", "kuaishou.general@2026.1", "kuaishou.general", "--json")
    assert done.returncode == 0, done.stderr
    diff = json.loads(done.stdout)
    assert "review.amount" in diff["added"]
    assert diff["added"]["review.amount"]["kind"] == "review"
    settings = {c["field"]: c for c in diff["changed"]["settings"]}
    # a field the old release had and the new one dropped: its old value, no new one
    assert settings["manual_review_amount"] == {"field": "manual_review_amount", "old": "10000.00"}
    backwards = run("rules", "diff", "kuaishou.general", "kuaishou.general@2026.1", "--json")
    assert set(json.loads(backwards.stdout)["removed"]) == set(diff["added"])
    missing = run("rules", "diff", "kuaishou.general", "no.such.rulebook")
    assert missing.returncode == 2
    assert "NEW: no rulebook 'no.such.rulebook'" in missing.stderr
