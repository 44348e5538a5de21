"""The reviewer's desk in a real browser: Playwright driving Debian's chromium against a real
``adjudicator serve`` process. ``.ci/run`` installs chromium and sets ADJUDICATOR_TEST_BROWSER,
so there the test runs or fails; elsewhere, without chromium, it skips and says why."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.desk_case import HOSTILE, waiting_case
from tests.e2e.cli import run, serving

BROWSER_ENV = "ADJUDICATOR_TEST_BROWSER"
SCREENSHOTS_ENV = "ADJUDICATOR_SCREENSHOTS"  # where the test leaves its screenshots


def chromium() -> str:
    wanted = os.environ.get(BROWSER_ENV)
    path = wanted or "/usr/bin/chromium"
    if not Path(path).is_file():
        if wanted:  # CI asked for a browser: its absence is a failure, not a skip
            pytest.fail(f"{BROWSER_ENV}={wanted} names no browser")
        pytest.skip(f"the desk's browser tests need chromium at {path} (set {BROWSER_ENV})")
    return path


@dataclass(frozen=True)
class Desk:
    base: str
    reviewer: str
    host: str
    db: str


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    db = f"sqlite:///{tmp_path / 'desk.db'}"
    older = waiting_case(tmp_path, "KS-DESK-1", at_day=5)
    newer = waiting_case(tmp_path, "KS-DESK-2", at_day=6, source=1)
    replayed = run("replay", "--db", db, str(newer), str(older))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    tokens = {}
    for role in ("reviewer", "host"):
        made = run("token", "create", "--role", role, "--db", db)
        assert made.returncode == 0, made.stderr
        tokens[role] = made.stdout.strip()
    with serving(db) as base:
        yield Desk(base, tokens["reviewer"], tokens["host"], db)


def _screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_reviewer_signs_in_sees_the_three_pictures_decides_and_the_dispute_leaves_the_queue(
    desk: Desk, tmp_path: Path
) -> None:
    from playwright.sync_api import Dialog, expect, sync_playwright

    shots = _screenshots(tmp_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium())
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        scripts_ran: list[str] = []

        def dialog(shown: Dialog) -> None:  # an alert() would mean injected script ran
            scripts_ran.append(shown.message)
            shown.dismiss()

        page.on("dialog", dialog)

        page.goto(f"{desk.base}/desk")
        expect(page).to_have_url(f"{desk.base}/desk/login")  # nothing without signing in
        page.fill("#token", desk.reviewer)
        page.click("button[type=submit]")

        expect(page.locator("h1")).to_contain_text("Waiting for a reviewer")
        rows = page.locator("table.queue tbody tr")
        expect(rows).to_have_count(2)
        # oldest first, with how long each has waited
        expect(rows.nth(0).locator("td").first).to_have_text("KS-DESK-1")
        expect(rows.nth(1).locator("td").first).to_have_text("KS-DESK-2")
        expect(rows.nth(0).locator("td.waited")).to_contain_text(" d")
        page.screenshot(path=str(shots / "desk-queue.png"), full_page=True)

        page.click("text=KS-DESK-1")
        expect(page.locator("h1")).to_contain_text("KS-DESK-1")
        pictures = page.locator("figure.item img")
        expect(pictures).to_have_count(3)
        for index in range(3):  # each picture loaded and decoded by the browser
            picture = pictures.nth(index)
            picture.scroll_into_view_if_needed()
            expect(picture).to_have_js_property("complete", True)
            width = picture.evaluate("img => img.naturalWidth")
            assert width > 0, f"picture {index} did not load"
        kinds = [pictures.nth(i).get_attribute("alt") for i in range(3)]
        assert kinds == [
            "photo E1 from the buyer",
            "video E2 from the buyer",
            "inspection_certificate E3 from the merchant",
        ]
        # hostile words are shown as text and ran nothing
        expect(page.locator(".statement .words")).to_have_text(HOSTILE)
        expect(page.locator("dd.words")).to_contain_text(HOSTILE)
        assert page.title().startswith("KS-DESK-1")
        expect(page.locator("text=review.amount").first).to_be_visible()
        expect(page.get_by_role("heading", name="The automatic outcome")).to_be_visible()
        page.screenshot(path=str(shots / "desk-dispute.png"), full_page=True)

        page.select_option("#liability", "merchant")
        page.select_option("#remedy", "refund_only")
        page.fill("#refund_amount", "3000.00")
        page.fill("#reason", "划痕轻微, 部分退款")
        page.click("form.decide button[type=submit]")

        expect(page.locator(".notice")).to_have_text("Decided: KS-DESK-1.")
        expect(rows).to_have_count(1)
        expect(rows.nth(0).locator("td").first).to_have_text("KS-DESK-2")
        assert scripts_ran == []
        browser.close()

    shown = run("show", "KS-DESK-1", "--db", desk.db, "--json")
    assert '"refund_amount": "3000.00"' in shown.stdout
    assert '"resolution": "adjudicated"' in shown.stdout
    history = run("audit", "export", "--db", desk.db).stdout
    reviewer_id = desk.reviewer.split(".")[0]
    assert f'"via": "{reviewer_id}"' in history  # the decision names the reviewer's token
