"""The ``/label`` page in a real headless Chromium (Selenium): confirm, correct and "not a digit"
clicked and typed as a user would, then ``collected.csv`` on disk checked.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium chromium-driver``;
.ci/run installs them) and ``selenium`` (the ``dev`` extra). Nothing is downloaded: the driver is
the system's, Selenium Manager is kept offline, and the browser gets a fresh profile.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge.cam.collect import CSV_NAME, read_rows
from edge.cam.labeling import LabelStore
from tests.conftest import missing
from tests.test_collect import collect

TOKEN = "0123456789abcdef0123456789abcdef"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
WAIT_S = 15.0

pytestmark = pytest.mark.skipif(not (Path(CHROMEDRIVER).is_file() and Path(CHROMIUM).is_file()),
                                reason="needs a headless browser: apt-get install -y chromium chromium-driver")


@pytest.fixture
def browser(tmp_path, monkeypatch):
    """A headless Chromium driven through the system chromedriver, with a throw-away profile."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium is not installed: pip install selenium (it is in the dev extra)")
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()


@pytest.fixture
def served_crops(tmp_path, server_factory):
    """A server with a token over a collect folder of 4 crops predicted 0-3: (url, folder)."""
    folder = tmp_path / "crops"
    collector = collect(folder, 0.9, 0.8, 0.7, 0.6)
    server = server_factory(token=TOKEN, labels=LabelStore(folder, collector.lock))
    host, port = server.server_address[:2]
    return f"http://{host}:{port}", folder


def test_confirm_correct_and_not_a_digit_in_a_real_browser(browser, served_crops):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    url, folder = served_crops
    wait = WebDriverWait(browser, WAIT_S)
    browser.get(f"{url}/label?token={TOKEN}")
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "1")
    assert "4 crops, 0 labelled" in browser.find_element(By.ID, "summary").text

    def card(file: str):
        return browser.find_element(By.CSS_SELECTOR, f'div.card[data-file="{file}"]')

    def saved(file: str) -> None:
        wait.until(lambda _d: card(file).get_attribute("data-saved") == "1")

    # The crops arrive through the token-protected image route (a 28x28 PNG each).
    wait.until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('.card img:not(.context)')].every(i => i.naturalWidth === 28)"))
    card("crop-000000.png").find_element(By.CSS_SELECTOR, "button.confirm").click()  # the model read 0: right
    saved("crop-000000.png")
    card("crop-000001.png").find_element(By.CSS_SELECTOR, "input.digit").send_keys("7" + Keys.ENTER)  # read 1
    saved("crop-000001.png")
    card("crop-000002.png").find_element(By.CSS_SELECTOR, "button.not-digit").click()
    saved("crop-000002.png")

    assert [row["label"] for row in read_rows(folder / CSV_NAME)] == ["0", "7", "x", ""]
    assert "label: 7" in card("crop-000001.png").text
    assert not list(folder.glob(".collected-*"))

    # A bad digit typed is refused by the server and shown on the card; nothing changes on disk.
    field = card("crop-000003.png").find_element(By.CSS_SELECTOR, "input.digit")
    field.send_keys("q" + Keys.ENTER)
    wait.until(lambda _d: "not saved" in card("crop-000003.png").text)
    assert "unknown label 'q'" in card("crop-000003.png").text
    assert [row["label"] for row in read_rows(folder / CSV_NAME)] == ["0", "7", "x", ""]

    # A reload shows what was saved; "only unlabelled" leaves the last crop.
    browser.refresh()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "1")
    assert "4 crops, 3 labelled" in browser.find_element(By.ID, "summary").text
    browser.find_element(By.ID, "todo").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "div.card")) == 1)
    assert browser.find_element(By.CSS_SELECTOR, "div.card").get_attribute("data-file") == "crop-000003.png"
