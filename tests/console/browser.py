"""Headless Chromium driven through selenium, for the console's browser tests.

`ensure_chromium()` installs Debian's `chromium` and `chromium-driver` with
apt-get when they are missing (the test machines run as root). `Browser`
wraps a WebDriver with the few waits the scenarios need, collects the
browser console (any SEVERE entry fails a test) and saves screenshots.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "console-screenshots"
DOC_SHOTS = ROOT / "docs" / "screenshots"
CHROME_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
)


def ensure_chromium() -> None:
    """Install chromium + chromium-driver from Debian when either is absent."""
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return
    if os.geteuid() != 0:
        raise RuntimeError("chromium/chromium-driver are missing and installing them needs root: "
                           "apt-get install -y chromium chromium-driver")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", "chromium-driver"],
                   check=True, env=env, stdout=subprocess.DEVNULL)


class ConsoleErrors(AssertionError):
    pass


class Browser:
    def __init__(self, base_url: str, width: int = 1280, height: int = 900):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.base_url = base_url.rstrip("/")
        self.profile = tempfile.mkdtemp(prefix="stepflow-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in CHROME_ARGS:
            opts.add_argument(arg)
        opts.add_argument(f"--user-data-dir={self.profile}")
        opts.add_argument(f"--window-size={width},{height}")
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
        self.driver.set_window_size(width, height)
        self.log: list[dict] = []
        self.allowed: list[re.Pattern] = []

    # ---------------------------------------------------------------- lifecycle
    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:150] + ".png")
        self.driver.save_screenshot(str(path))
        return path

    def shot(self, name: str, docs: bool = False, at: str | None = None) -> None:
        """A screenshot for a person to look at, when CONSOLE_SHOTS=1: full page in
        build/console-screenshots/, or (docs=True) the viewport in docs/screenshots/
        for the README."""
        if os.environ.get("CONSOLE_SHOTS") == "1":
            import base64
            width = self.driver.get_window_size()["width"]
            if docs:
                if at:   # that element at the top, below the sticky bar
                    self.driver.execute_script("arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -56);",
                                               self.find(at))
                else:
                    self.driver.execute_script("window.scrollTo(0, 0)")
                DOC_SHOTS.mkdir(parents=True, exist_ok=True)
                self.driver.save_screenshot(str(DOC_SHOTS / f"{name}.png"))
                return
            png = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "format": "png"})
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            (SCREENSHOTS / f"shot-{name}-{width}.png").write_bytes(base64.b64decode(png["data"]))

    # ---------------------------------------------------------------- console
    def allow_console(self, pattern: str) -> None:
        """An expected SEVERE entry (say, a 4xx the scenario provokes)."""
        self.allowed.append(re.compile(pattern))

    def drain_console(self) -> list[dict]:
        entries = self.driver.get_log("browser")
        self.log.extend(entries)
        return entries

    def console_errors(self) -> list[dict]:
        self.drain_console()
        return [e for e in self.log if e.get("level") == "SEVERE"
                and not any(p.search(e.get("message", "")) for p in self.allowed)]

    def assert_no_console_errors(self) -> None:
        errors = self.console_errors()
        if errors:
            raise ConsoleErrors("browser console errors:\n" + "\n".join(e["message"] for e in errors))

    # ---------------------------------------------------------------- navigation
    def open(self, path: str = "/") -> None:
        self.driver.get(self.base_url + path)

    def go(self, hash_route: str) -> None:
        """Navigate inside the console (hash route such as '#/dynamic')."""
        self.driver.execute_script("location.hash = arguments[0];", hash_route)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    # ---------------------------------------------------------------- waits
    def wait(self, predicate, timeout: float = 15.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        last_exc: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = predicate()
                if value:
                    return value
            except Exception as exc:  # noqa: BLE001 - element not there yet
                last_exc = exc
            time.sleep(0.05)
        errors = self.console_errors()
        raise TimeoutError(f"timed out waiting for {what}" + (f" (last error: {last_exc})" if last_exc else "")
                           + (f"; console errors: {[e['message'] for e in errors]}" if errors else ""))

    def find(self, css: str, timeout: float = 15.0):
        from selenium.webdriver.common.by import By

        def visible():
            for el in self.driver.find_elements(By.CSS_SELECTOR, css):
                if el.is_displayed():
                    return el
            return None
        return self.wait(visible, timeout, f"visible {css!r}")

    def find_all(self, css: str):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_text(self, css: str, text: str, timeout: float = 15.0):
        """The first visible element matching `css` whose text contains `text`."""
        def match():
            for el in self.find_all(css):
                if el.is_displayed() and text in el.text:
                    return el
            return None
        return self.wait(match, timeout, f"{css!r} containing {text!r}")

    def wait_gone(self, css: str, timeout: float = 15.0) -> None:
        self.wait(lambda: not any(e.is_displayed() for e in self.find_all(css)), timeout, f"{css!r} to disappear")

    # ---------------------------------------------------------------- input
    def click(self, css: str, timeout: float = 15.0):
        el = self.find(css, timeout)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
        el.click()
        return el

    def click_text(self, css: str, text: str, timeout: float = 15.0):
        el = self.wait_text(css, text, timeout)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
        el.click()
        return el

    def fill(self, css: str, value: str, timeout: float = 15.0):
        """Set a field's value as a user would (long texts are set at once, then an input event)."""
        el = self.find(css, timeout)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
        el.clear()
        if len(value) > 200 or "\n" in value or value == "":
            self.driver.execute_script(
                "arguments[0].value = arguments[1];"
                "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
                "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));", el, value)
        else:
            el.send_keys(value)
        return el

    def choose(self, css: str, value: str | None = None, text: str | None = None, timeout: float = 15.0):
        from selenium.webdriver.support.ui import Select
        el = self.find(css, timeout)
        if text is not None:
            self.wait(lambda: any(text in o.text for o in Select(el).options), timeout, f"option {text!r} in {css!r}")
            for o in Select(el).options:
                if text in o.text:
                    Select(el).select_by_visible_text(o.text)
                    break
        else:
            self.wait(lambda: any(o.get_attribute("value") == value for o in Select(el).options), timeout,
                      f"option value {value!r} in {css!r}")
            Select(el).select_by_value(value)
        return el

    def sign_in(self, key: str) -> None:
        self.open("/")
        self.fill("#api-key", key)
        self.click("#login-submit")
        self.find("#who-role")
