"""The reviewer's desk over a real database (SQLite, and PostgreSQL where one is configured),
called in-process: who may use it, forged and stale forms, hostile words, the pictures, and a
decision that goes through the checked decide command (the browser test drives the same pages
in chromium)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from adjudicator import review_queue, tokens
from adjudicator.casefile import read_case
from adjudicator.httpapi import create_app
from adjudicator.replay import replay_into
from adjudicator.review_queue import awaiting_review
from adjudicator.service import Adjudicator
from tests.desk_case import HOSTILE, waiting_case

NOW = datetime(2026, 3, 1, tzinfo=UTC)


class Desk:
    def __init__(self, service: Adjudicator, folder: Path) -> None:
        self.service = service
        for case_id, day, source in (("KS-DESK-2", 6, 1), ("KS-DESK-1", 5, 0)):
            replay_into(service, read_case(waiting_case(folder, case_id, day, source)))
        self.client = TestClient(create_app(service), base_url="http://desk.test")
        self.tokens = {r: tokens.create(service.engine, r, at=NOW) for r in tokens.Role}

    def sign_in(self, role: str = "reviewer") -> str:
        """Signs the client in; the page's CSRF token."""
        answer = self.client.post("/desk/login", data={"token": self.tokens[tokens.Role(role)]})
        assert answer.status_code == 200, answer.text  # followed the redirect to the queue
        return csrf_of(answer.text)

    def decide(self, csrf: str, **fields: str) -> Any:
        form = {"csrf": csrf, "liability": "merchant", "remedy": "refund_only"} | fields
        return self.client.post("/desk/disputes/KS-DESK-1/decide", data=form)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


@pytest.fixture
def desk(service: Adjudicator, tmp_path: Path) -> Desk:
    return Desk(service, tmp_path)


def test_the_queue_is_the_disputes_waiting_for_a_reviewer_oldest_first(desk: Desk) -> None:
    waiting = desk.service.awaiting_review()
    assert [w.case_id for w in waiting] == ["KS-DESK-1", "KS-DESK-2"]
    assert waiting[0].since == datetime.fromisoformat("2026-03-05T13:05:00+08:00")
    assert waiting[0].rules == ("review.amount",)
    assert "12000.00 is at or above" in waiting[0].because
    assert review_queue.waiting(desk.service.engine, "KS-DESK-1") == waiting[0]
    assert review_queue.waiting(desk.service.engine, "NOPE") is None
    desk.sign_in()
    page = desk.client.get("/desk").text
    assert page.index("KS-DESK-1") < page.index("KS-DESK-2")


def test_nothing_of_the_desk_shows_without_a_reviewer_signed_in(desk: Desk) -> None:
    for path in (
        "/desk",
        "/desk/disputes/KS-DESK-1",
        "/desk/disputes/KS-DESK-1/evidence/E1/picture",
    ):
        answer = desk.client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/desk/login"
    answer = desk.client.post(
        "/desk/disputes/KS-DESK-1/decide", data={"liability": "merchant", "remedy": "refund_only"}
    )
    assert answer.status_code == 401
    for role in ("host", "auditor"):
        refused = desk.client.post("/desk/login", data={"token": desk.tokens[tokens.Role(role)]})
        assert refused.status_code == 401
        assert f"a {role} token cannot use the desk" in refused.text
    forged = desk.client.post("/desk/login", data={"token": "t_00000000." + "A" * 43})
    assert forged.status_code == 401
    assert "desk_session" not in forged.cookies
    assert desk.service.get("KS-DESK-1").resolution == "pending_review"


def test_the_session_cookie_is_httponly_and_same_site_strict(desk: Desk) -> None:
    answer = desk.client.post(
        "/desk/login", data={"token": desk.tokens[tokens.Role.REVIEWER]}, follow_redirects=False
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/desk" in cookie
    assert desk.tokens[tokens.Role.REVIEWER] not in answer.headers["set-cookie"]


def test_a_form_without_the_sessions_csrf_token_or_from_another_site_decides_nothing(
    desk: Desk,
) -> None:
    csrf = desk.sign_in()
    assert desk.decide("").status_code == 403
    assert desk.decide("x" + csrf).status_code == 403
    other_site = desk.client.post(
        "/desk/disputes/KS-DESK-1/decide",
        data={"csrf": csrf, "liability": "merchant", "remedy": "refund_only"},
        headers={"Origin": "http://evil.test"},
    )
    assert other_site.status_code == 403
    assert "evil.test" in other_site.text
    assert desk.service.get("KS-DESK-1").resolution == "pending_review"


def test_hostile_words_are_shown_as_text_under_a_policy_that_runs_no_script(desk: Desk) -> None:
    desk.sign_in()
    answer = desk.client.get("/desk/disputes/KS-DESK-1")
    assert answer.status_code == 200
    assert "<script>" not in answer.text
    assert "<img src=x" not in answer.text
    escaped = HOSTILE.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
    assert answer.text.count(escaped) == 3  # the claim, the statement, the photo's description
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_each_evidence_item_has_a_picture_made_from_its_stored_bytes(desk: Desk) -> None:
    desk.sign_in()
    for evidence_id in ("E1", "E2", "E3"):
        answer = desk.client.get(f"/desk/disputes/KS-DESK-1/evidence/{evidence_id}/picture")
        assert answer.status_code == 200, evidence_id
        assert answer.headers["content-type"] == "image/jpeg"
        assert answer.content.startswith(b"\xff\xd8")
    for wrong in ("E9", "..%2F..%2F..%2Fetc%2Fpasswd", "E1%00"):
        answer = desk.client.get(f"/desk/disputes/KS-DESK-1/evidence/{wrong}/picture")
        assert answer.status_code == 404, wrong
    assert desk.client.get("/desk/disputes/NOPE").status_code == 404


def test_a_decision_goes_through_the_checked_decide_and_leaves_the_queue(desk: Desk) -> None:
    csrf = desk.sign_in()
    refused = desk.decide(csrf, liability="buyer", remedy="refund_only")
    assert refused.status_code == 409
    assert "buyer liability gives reject_refund" in refused.text
    too_much = desk.decide(csrf, refund_amount="99999.00", reason="x")
    assert too_much.status_code == 409, too_much.text
    not_money = desk.decide(csrf, refund_amount="lots")
    assert not_money.status_code == 422
    assert "/refund_amount" in not_money.text
    assert desk.service.get("KS-DESK-1").resolution == "pending_review"

    decided = desk.decide(csrf, refund_amount="3000.00", reason="划痕轻微", key="k1")
    assert decided.status_code == 200
    assert "Decided: KS-DESK-1." in decided.text
    again = desk.decide(csrf, refund_amount="3000.00", reason="划痕轻微", key="k1")
    assert again.status_code == 200  # the same form twice: once
    # the same form sent again from a stale page with other words: the first send stands
    # (its time differs too, as the desk decides at the moment a form arrives)
    edited = desk.decide(csrf, refund_amount="3000.00", reason="改了主意", key="k1")
    assert edited.status_code == 200
    assert "Decided: KS-DESK-1." in edited.text
    case = desk.service.get("KS-DESK-1")
    assert case.resolution == "adjudicated"
    assert str(case.refund_amount) == "3000.00"
    decisions = [e for e in desk.service.history("KS-DESK-1") if e["event"] == "decision"]
    assert len(decisions) == 1
    assert decisions[0]["via"] == desk.tokens[tokens.Role.REVIEWER].split(".")[0]
    assert [w.case_id for w in awaiting_review(desk.service.engine)] == ["KS-DESK-2"]
    assert review_queue.waiting(desk.service.engine, "KS-DESK-1") is None


def test_signing_out_ends_the_session(desk: Desk) -> None:
    csrf = desk.sign_in()
    assert desk.client.post("/desk/logout", data={"csrf": csrf}).status_code == 200
    assert desk.client.get("/desk", follow_redirects=False).status_code == 303


def test_a_form_sent_incomplete_or_too_long_gets_a_page_that_names_the_field(
    desk: Desk,
) -> None:
    """A browser shows what it is sent: the desk answers a bad form with its own page (the
    API's JSON problem is for programs), and decides nothing."""
    csrf = desk.sign_in()
    incomplete = desk.client.post("/desk/disputes/KS-DESK-1/decide", data={"csrf": csrf})
    assert incomplete.status_code == 422
    assert incomplete.headers["content-type"].startswith("text/html")
    assert "The form&#39;s liability: Field required." in incomplete.text
    assert incomplete.headers["content-security-policy"].startswith("default-src 'none'")
    too_long = desk.decide(csrf, reason="x" * 2001)
    assert too_long.status_code == 422
    assert "The form&#39;s reason: String should have at most 2000 characters." in too_long.text
    assert desk.service.get("KS-DESK-1").resolution == "pending_review"
    api = desk.client.post("/disputes", json={})  # the API still answers in JSON
    assert api.headers["content-type"] == "application/problem+json"


def test_the_queue_page_reads_its_disputes_together_however_many_wait(
    desk: Desk, tmp_path: Path
) -> None:
    """One read of the disputes for the page, not one per row."""
    desk.sign_in()

    def reads_of_disputes() -> int:
        seen: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "FROM disputes" in statement and "snapshot" in statement:
                seen.append(statement)

        event.listen(desk.service.engine, "before_cursor_execute", count)
        try:
            assert desk.client.get("/desk").status_code == 200
        finally:
            event.remove(desk.service.engine, "before_cursor_execute", count)
        return len(seen)

    two = reads_of_disputes()
    for n in range(3, 6):
        more = tmp_path / f"more-{n}"
        more.mkdir()
        replay_into(desk.service, read_case(waiting_case(more, f"KS-DESK-{n}", 7, 1)))
    assert len(desk.service.awaiting_review()) == 5
    assert reads_of_disputes() == two == 1


def test_get_many_gives_the_stored_disputes_by_id_and_leaves_out_the_rest(desk: Desk) -> None:
    found = desk.service.get_many(["KS-DESK-2", "KS-NONE", "KS-DESK-1", "KS-DESK-1"])
    assert sorted(found) == ["KS-DESK-1", "KS-DESK-2"]
    for case_id, case in found.items():
        assert case == desk.service.get(case_id)
    assert desk.service.get_many([]) == {}
