"""A real headless browser for the portal's acceptance tests and screenshots: Debian's `chromium`,
driven by Selenium through Debian's `chromium-driver` (`make test` installs both when missing; no
browser is downloaded)."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def _first(candidates: tuple[str, ...], name: str) -> str | None:
    return next((c for c in candidates if Path(c).exists()), None) or shutil.which(name)


def missing() -> str | None:
    """Why no browser can run here, or None."""
    if _first(CHROMIUM, "chromium") is None:
        return "Debian's chromium is not installed (make test installs it: apt-get install chromium)"
    if _first(CHROMEDRIVER, "chromedriver") is None:
        return "Debian's chromium-driver is not installed (make test installs it: apt-get install chromium-driver)"
    return None


def chrome(width: int = 1280, height: int = 900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _first(CHROMIUM, "chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--disable-extensions", "--no-first-run", "--password-store=basic",
                     f"--window-size={width},{height}", "--lang=en-US"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(_first(CHROMEDRIVER, "chromedriver")), options=options)
    driver.set_page_load_timeout(30)
    return driver


def sign_in(driver, base: str, token: str) -> None:
    """Through the login form, as a person would (pasting the ID token)."""
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    box = driver.find_element(By.ID, "id_token")
    driver.execute_script("arguments[0].value = arguments[1];", box, token)  # a paste, not 1,000 key presses
    submit(driver, driver.find_element(By.ID, "sign-in"))


def submit(driver, button, timeout: float = 15) -> None:
    """Click a form's button and wait until the next page has replaced this one (a click returns
    before the navigation it starts)."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    page = driver.find_element("tag name", "html")
    button.click()
    WebDriverWait(driver, timeout).until(expected_conditions.staleness_of(page))
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script("return document.readyState") == "complete")


def full_page_screenshot(driver, path: Path, width: int = 1366) -> None:
    driver.execute_script("window.scrollTo(0, 0)")
    driver.set_window_size(width, 900)
    height, chrome_ui = driver.execute_script(
        "return [Math.max(document.body.scrollHeight, document.documentElement.scrollHeight), "
        "window.outerHeight - window.innerHeight]")
    driver.set_window_size(width, max(600, int(height) + int(chrome_ui) + 8))
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)
    _shrink(path)


def _shrink(path: Path) -> None:
    """256 colours are plenty for pages of text: a third of the bytes in the repository."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    small.save(path, optimize=True)
