"""The what-if report as a person uses it: opened from disk in chromium (no network), its
chart drawn and its table sorted by a click on a column's heading."""

from __future__ import annotations

import os
from pathlib import Path

from tests.browser.test_desk import SCREENSHOTS_ENV, chromium
from tests.e2e.cli import run
from tests.e2e.test_cli_whatif import CLAIM_TYPES, EXAMPLES, release


def test_the_report_opens_offline_draws_its_chart_and_sorts_its_table(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    releases = []
    for rid in CLAIM_TYPES:
        releases += ["--rulebook", str(release(tmp_path, rid))]
    report = tmp_path / "whatif.html"
    done = run("whatif", str(EXAMPLES), *releases, "--html", str(report))
    assert done.returncode == 0, done.stderr
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium())
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(report.as_uri())
        expect(page.locator("#changed")).to_have_text("4")
        chart = page.locator("#claims-chart")
        expect(chart.locator("g[data-claim]")).to_have_count(10)  # one per claim type compared
        box = chart.bounding_box()
        assert box is not None
        assert box["width"] > 0
        assert box["height"] > 0
        rows = page.locator("#changes tbody tr")
        expect(rows).to_have_count(4)

        def order() -> list[str | None]:
            return [rows.nth(i).get_attribute("data-case") for i in range(4)]

        change = page.locator("#changes th", has_text="refund change")
        change.locator("button").click()  # ascending: the largest cut first
        expect(change).to_have_attribute("aria-sort", "ascending")
        # KS-EX-0008 loses 649.50; the two shared-liability refunds lose 129.90 each;
        # KS-EX-0019 no longer replays (no amount: sorted as 0)
        assert order() == ["KS-EX-0008", "KS-2026-000123", "KS-EX-0004", "KS-EX-0019"]
        change.locator("button").click()
        expect(change).to_have_attribute("aria-sort", "descending")
        assert order()[0] == "KS-EX-0019"
        assert order()[-1] == "KS-EX-0008"
        page.locator("#changes th", has_text="dispute").locator("button").click()
        assert order() == sorted(order(), key=str)
        shots = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "whatif-report.png"), full_page=True)
        browser.close()
    assert errors == []
    assert requests == [report.as_uri()]  # the page itself, and nothing else
