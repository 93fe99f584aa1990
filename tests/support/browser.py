"""A real browser for the dashboard tests: Debian's Chromium driven by Selenium through Debian's
``chromedriver`` (same source package, so the two always match; nothing is downloaded).

* ``chromium_paths()``: ``(browser, driver)`` paths, or None when either is missing. The browser is
  the real binary under ``/usr/lib/chromium`` when there (Debian's ``/usr/bin/chromium`` is a shell
  launcher that sources ``/etc/chromium.d`` and adds flags of its own, e.g. remote extensions).
* ``check_versions(paths)``: both ``--version`` lines, asserting the same major version.
* ``start_browser(workdir)``: a headless Chrome ``WebDriver`` on a fresh profile in ``workdir``
  (its HOME, ``chromedriver.log`` and ``netlog.json`` are there too). Chromium may reach only
  loopback: every host name resolves to nothing (``--host-resolver-rules``) and every
  non-loopback URL goes to a proxy on ``127.0.0.1:9`` where nothing listens (Chromium never
  proxies loopback), with its background services (updates, sync, metrics, pings) switched off.
* ``offbox_traffic(netlog)``: what the browser sent beyond loopback, read from the net log
  written as it quit (an empty list is the expected answer).
* ``console_errors(driver)``: the console entries of level SEVERE since the last call (failed
  loads, CSP violations, uncaught exceptions).
* ``open_alert(driver)``: the text of an open JavaScript dialog, else None.
* ``screenshot(driver, directory, name)``: a full-page PNG ``<directory>/<name>.png`` (its path).
* ``screenshot_dir(default)``: ``$LAKELOOP_UI_SCREENSHOTS`` when set (created), else ``default``.

Selenium is imported inside the functions that need it, so this module imports without it.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

DEBIAN_BROWSER = Path("/usr/lib/chromium/chromium")
SCREENSHOTS_ENV = "LAKELOOP_UI_SCREENSHOTS"
# Nothing listens on the discard port of loopback: a request sent to this proxy fails at once.
DEAD_PROXY = "http://127.0.0.1:9"

FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI and the sessions run as root, where Chromium's sandbox refuses to start
    "--disable-dev-shm-usage",  # a container's /dev/shm is small
    "--window-size=1366,900",  # a laptop screen
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-extensions",
    "--no-pings",
    "--metrics-recording-only",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    f"--proxy-server={DEAD_PROXY}",
)


def chromium_paths() -> tuple[str, str] | None:
    """``(browser binary, chromedriver)`` as absolute paths, or None when either is not installed."""
    launcher = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if launcher is None or driver is None:
        return None
    browser = str(DEBIAN_BROWSER) if os.access(DEBIAN_BROWSER, os.X_OK) else launcher
    return browser, driver


def _version_line(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.strip() or done.stderr.strip()


def check_versions(paths: tuple[str, str]) -> tuple[str, str]:
    """Both ``--version`` lines (browser, driver), e.g. ``("Chromium 156.0.8078.129",
    "ChromeDriver 156.0.8078.129 (…)")``. Raises AssertionError (with both lines) when their major
    versions differ or either has no version number."""
    lines = (_version_line(paths[0]), _version_line(paths[1]))
    majors = [re.search(r"\b(\d+)\.\d+\.\d+", line) for line in lines]
    assert majors[0] and majors[1] and majors[0][1] == majors[1][1], (
        f"chromium and chromedriver differ in major version: {lines[0]!r} vs {lines[1]!r}"
    )
    return lines


def start_browser(workdir: Path, paths: tuple[str, str] | None = None) -> WebDriver:
    """Start headless Chromium with a fresh profile ``<workdir>/profile`` and return its driver.
    The driver's log goes to ``<workdir>/chromedriver.log``, the browser's net log to
    ``<workdir>/netlog.json`` (complete once ``driver.quit()`` returned). Raises RuntimeError when
    Chromium or chromedriver is missing, selenium's WebDriverException when the browser won't start."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    paths = paths or chromium_paths()
    if paths is None:
        raise RuntimeError("chromium or chromedriver is not installed (apt-get install chromium chromium-driver)")
    workdir.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={workdir / 'profile'}")
    options.add_argument(f"--log-net-log={workdir / 'netlog.json'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.unhandled_prompt_behavior = "ignore"  # a dialog stays open for open_alert to see
    # Chromium writes under HOME (~/.pki, ~/.cache) whatever its profile: give it one of its own.
    env = {**os.environ, "HOME": str(workdir / "home")}
    # A path given to Service skips Selenium Manager, which would otherwise look for (download) a driver.
    service = Service(executable_path=paths[1], log_output=str(workdir / "chromedriver.log"), env=env)
    return webdriver.Chrome(options=options, service=service)


def _is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def offbox_traffic(netlog: Path) -> list[str]:
    """What the browser sent beyond loopback according to its net log (``--log-net-log``, read
    after the browser quit): each TCP connection attempt to a non-loopback address, each UDP
    datagram sent to one, each host name handed to the system resolver or to DNS. Returns
    ``["tcp 10.0.0.1:443", …]``, empty when everything stayed on loopback. A UDP "connect" without
    a datagram (Chromium's IPv6 reachability probe: a route lookup) is not traffic. Raises
    OSError/ValueError when the file is missing or not JSON (the browser did not quit cleanly)."""
    data = json.loads(netlog.read_text(encoding="utf-8"))
    names = {number: name for name, number in data["constants"]["logEventTypes"].items()}
    found: list[str] = []
    udp_peer: dict[int, str] = {}
    for event in data.get("events", []):
        kind = names.get(event.get("type"), "")
        params: dict[str, Any] = event.get("params") or {}
        source = event.get("source", {}).get("id", -1)
        address = params.get("address")
        if kind == "TCP_CONNECT_ATTEMPT" and address and not _is_loopback(address):
            found.append(f"tcp {address}")
        elif kind == "UDP_CONNECT" and address:
            udp_peer[source] = address
        elif kind == "UDP_BYTES_SENT":
            peer = params.get("address") or udp_peer.get(source, "?")
            if not _is_loopback(peer):
                found.append(f"udp {peer}")
        elif kind.startswith(("HOST_RESOLVER_SYSTEM_TASK", "DNS_TRANSACTION")) and params.get("hostname"):
            found.append(f"dns {params['hostname']}")
    return sorted(set(found))


def console_errors(driver: WebDriver) -> list[str]:
    """The browser console's SEVERE entries since the previous call (each its message); reading
    the log empties it."""
    return [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def open_alert(driver: WebDriver) -> str | None:
    """The text of the JavaScript dialog (alert/confirm/prompt) open in the page, else None."""
    from selenium.common.exceptions import NoAlertPresentException

    try:
        return driver.switch_to.alert.text
    except NoAlertPresentException:
        return None


def screenshot(driver: WebDriver, directory: Path, name: str) -> Path:
    """Write a full-page PNG (beyond the window's height) to ``<directory>/<name>.png``; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path = directory / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def screenshot_dir(default: Path) -> Path:
    """The directory screenshots go to: ``$LAKELOOP_UI_SCREENSHOTS`` when set, else ``default``."""
    chosen = os.environ.get(SCREENSHOTS_ENV)
    directory = Path(chosen) if chosen else default
    directory.mkdir(parents=True, exist_ok=True)
    return directory
