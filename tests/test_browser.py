"""The pages in a real browser: Debian's headless Chromium driven by Selenium through Debian's
chromedriver (given explicitly, so Selenium Manager downloads nothing), against
`newswatch serve` on the bundled example. Screenshots of the main pages are taken (see DOCS)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.served import example_with_matches, newswatch_serve

# The README's screenshots: refreshed when NEWSWATCH_SCREENSHOTS=docs, else kept in the test's
# own directory so a test run leaves the checkout clean.
DOCS = Path(__file__).parent.parent / "docs"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TOPIC = "defence-secretary-meetings"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,860",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()  # ends chromedriver and the browser it started


def test_a_reader_marks_a_match_not_relevant_and_sees_the_label(tmp_path, browser):
    config = example_with_matches(tmp_path)
    shots = DOCS if os.environ.get("NEWSWATCH_SCREENSHOTS") == "docs" else tmp_path / "shots"
    shots.mkdir(exist_ok=True)
    with newswatch_serve(config) as base:
        browser.get(f"{base}/")
        link = browser.find_element(By.LINK_TEXT, "Defence meetings between countries")
        browser.save_screenshot(str(shots / "web-topics.png"))
        link.click()
        WebDriverWait(browser, 20).until(expected_conditions.title_contains("Defence meetings"))

        rows = browser.find_elements(By.CSS_SELECTOR, "#matches tbody tr[id^=match-]")
        assert rows, "the example's run matched articles for this topic"
        row_id = rows[0].get_attribute("id")
        assert rows[0].find_element(By.CSS_SELECTOR, ".label-cell").text == ""
        rows[0].find_element(By.XPATH, ".//button[normalize-space()='Not relevant']").click()

        # The form posts, the server redirects back, and the row now shows the label.
        WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda b: "not relevant" in b.find_element(By.ID, row_id).text
        )
        row = browser.find_element(By.ID, row_id)
        assert row.find_element(By.CSS_SELECTOR, ".label.not_relevant").text == "not relevant"
        assert "by web (web)" in row.text
        current = row.find_element(By.CSS_SELECTOR, "button.current")
        assert current.text == "Not relevant"
        browser.save_screenshot(str(shots / "web-topic.png"))

        row.find_element(By.LINK_TEXT, "why it matched").click()
        WebDriverWait(browser, 20).until(expected_conditions.title_contains("Why"))
        assert "passes" in browser.find_element(By.ID, "verdict").text
        assert browser.find_elements(By.CSS_SELECTOR, ".snippet mark")
        browser.save_screenshot(str(shots / "web-explanation.png"))

        # What the topic nearly caught: linked from its page; the example's articles are from
        # 2025, so the reader widens the window.
        browser.get(f"{base}/topics/{TOPIC}")
        browser.find_element(By.LINK_TEXT, "Near misses").click()
        WebDriverWait(browser, 20).until(expected_conditions.title_contains("Near misses"))
        browser.find_element(By.LINK_TEXT, "3650 days").click()
        WebDriverWait(browser, 20).until(lambda b: "days=3650" in b.current_url)
        near = browser.find_elements(By.CSS_SELECTOR, "#near-misses tbody tr[id^=near-]")
        # most promising first: the excluded cricket meeting, then two that lack one clause
        # (the legislator's talks lack a defence official; the chipmaker's deal lacks NATO)
        assert [row.find_element(By.CSS_SELECTOR, ".why").text for row in near] == [
            "excluded: title:cricket (title)",
            "missing clause: @defence_officials",
            "missing clause: nato",
        ]
        assert "Cricket board meeting" in near[0].text
        browser.save_screenshot(str(shots / "web-near-misses.png"))

        browser.get(f"{base}/labels")
        table = browser.find_element(By.ID, "labels").text
        assert "not relevant" in table and TOPIC in table
        browser.save_screenshot(str(shots / "web-labels.png"))

        browser.get(f"{base}/feeds")
        assert "World & Defence Desk" in browser.find_element(By.ID, "feeds").text
        browser.save_screenshot(str(shots / "web-feeds.png"))
    for name in ("topics", "topic", "explanation", "near-misses", "labels", "feeds"):
        assert (shots / f"web-{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
