"""The page in a real browser: headless Chromium (Debian's package) driven by Selenium opens index.html from disk.

Every <img> must decode (naturalWidth > 0), every <audio> must load its file without an error, and the console
must show no errors. Skipped when Selenium, chromium or chromedriver is missing; `.ci/run` installs them.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def _browser_paths() -> tuple[str, str] | None:
    browser = next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    paths = _browser_paths()
    if paths is None:
        pytest.skip("no chromium and chromedriver on PATH (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--mute-audio",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=paths[1])
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait_for(driver, script: str, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    value = driver.execute_script(script)
    while not value and time.monotonic() < deadline:
        time.sleep(0.2)
        value = driver.execute_script(script)
    return value


def test_page_loads_every_image_and_audio_without_console_errors(browser, gallery_runs: Path):
    browser.get((gallery_runs / "index.html").resolve().as_uri())
    assert browser.title.startswith("rnn-gallery")
    assert _wait_for(browser, "return document.readyState === 'complete';")
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);"
    )
    assert len(images) >= 10
    broken = [source for source, complete, width in images if not complete or width == 0]
    assert not broken, f"images that did not load: {broken}"

    assert _wait_for(
        browser,
        "return Array.from(document.querySelectorAll('audio')).every(a => a.readyState >= 1 || a.error);",
    )
    audio = browser.execute_script(
        "return Array.from(document.querySelectorAll('audio')).map("
        "a => [a.getAttribute('src'), a.readyState, a.error ? a.error.code : null, a.duration]);"
    )
    assert len(audio) == 2
    for source, ready_state, error, duration in audio:
        assert error is None and ready_state >= 1, f"audio {source} did not load (error {error})"
        assert duration == pytest.approx(0.4, abs=0.01)

    svgs = browser.execute_script("return document.querySelectorAll('section.card svg.layout').length;")
    assert svgs >= 7
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, f"console errors: {errors}"


def test_a_broken_image_is_caught(browser, tmp_path):
    """The check above can fail: a page with a missing image shows up as broken and as a console error."""
    (tmp_path / "index.html").write_text('<!DOCTYPE html><title>t</title><img src="missing.png">', encoding="utf-8")
    browser.get_log("browser")  # drop earlier entries
    browser.get((tmp_path / "index.html").as_uri())
    assert _wait_for(browser, "return document.readyState === 'complete';")
    width = browser.execute_script("return document.images[0].naturalWidth;")
    assert width == 0
    assert any(entry["level"] == "SEVERE" for entry in browser.get_log("browser"))
