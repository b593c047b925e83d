"""The console in a real headless Chromium (Debian's `chromium` and `chromium-driver`, driven
by Selenium) against a real tabot runtime, database and fake Telegram server.

Each page is checked with axe-core (vendored in tests/console/vendor, MPL-2.0) for serious and
critical problems, at phone width (360 px) and on a desktop. Screenshots go to
$TABOT_ARTEFACTS (default: a folder of the test run's own); they are not committed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.app import Runtime, Schedule
from bot.chat.messages import Message
from bot.config import Settings
from bot.console.auth import LINK_LIFETIME, digest, issue_link_token
from bot.insights import reports
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.learning import Confirmation, record_confirmed
from bot.store.database import Database
from bot.store.tables import ConsoleLink, utcnow
from bot.triage import members
from bot.triage.escalations import Reason
from tests.conftest import REPO, migrated, new_escalation, new_interaction, running
from tests.console.conftest import STAFF
from tests.fakes.telegram_api import FakeTelegramAPI

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support import expected_conditions as seen  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ASKER = "4242"
CURFEW = "shelter-curfew"
pytestmark = pytest.mark.browser


def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    if os.environ.get("CI"):
        pytest.fail("CI must run the browser tests: .ci/run installs chromium and "
                    "chromium-driver with apt-get")
    pytest.skip("chromium and chromedriver are not installed (apt-get install chromium "
                "chromium-driver; .ci/run does)")


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    binary, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = Path(os.environ.get("TABOT_ARTEFACTS") or tmp_path_factory.mktemp("artefacts"))
    where.mkdir(parents=True, exist_ok=True)
    return where


@dataclass
class Served:
    runtime: Runtime
    base: str
    db: Database
    kb_dir: Path
    telegram: FakeTelegramAPI

    async def link(self) -> str:
        token = await issue_link_token(self.db, STAFF, self.runtime.settings.staff)
        return f"{self.base}/signin/{token}"


@pytest.fixture
async def served(console_kb_dir: Path, tmp_path: Path) -> AsyncIterator[Served]:
    """tabot serving Telegram (to a fake server) and the console, on SQLite."""
    telegram = FakeTelegramAPI()
    await telegram.start()
    url = f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"
    settings = Settings(database_url=url, knowledge_dir=console_kb_dir,
                        staff=frozenset({STAFF.id}), port=0)
    env = {"TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_URL": telegram.base_url,
           "TELEGRAM_BOT_USERNAME": "coalition_ta_bot"}
    schedule = Schedule(deliveries=0.2, sweep=3600, daily=3600)
    try:
        async with migrated(url) as db, running(
                settings, ["telegram"], env, KnowledgeBase.load(console_kb_dir),
                schedule) as runtime:
            yield Served(runtime, f"http://127.0.0.1:{runtime.web.port}/console", db,
                         console_kb_dir, telegram)
    finally:
        await telegram.stop()


def wait(driver: WebDriver, seconds: float = 10) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def replaced(element: WebElement) -> Callable[[WebDriver], bool]:
    """`staleness_of`, also for the way Chromium sometimes reports a node of the page just
    left: not as stale, but as an inspector error (seen once in CI, 2026-11-28)."""
    def check(_: WebDriver) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in (exc.msg or ""):
                return True
            raise
        return False
    return check


def sign_in(driver: WebDriver, link: str) -> None:
    driver.get(link)
    driver.find_element(By.ID, "signin").click()
    wait(driver).until(seen.title_contains("Queue"))


def axe_problems(driver: WebDriver) -> list[str]:
    """axe-core's serious and critical violations on the page now shown. WebDriver scripts
    are not bound by the page's Content-Security-Policy, so the page itself stays strict."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations));")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']}"
            for v in result if v["impact"] in ("serious", "critical")]


_INTERACTIVE = """
// A group of radio buttons is one Tab stop (its checked button, else its first); the arrow
// keys move within it.
const stops = new Map();
document.querySelectorAll('input[type=radio][name]').forEach(r => {
  const stop = stops.get(r.name);
  if (!stop || (r.checked && !stop.checked)) stops.set(r.name, r);
});
const els = [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary')]
  .filter(e => !e.disabled && e.getClientRects().length > 0 && !e.closest('[hidden]'))
  .filter(e => e.type !== 'radio' || !e.name || stops.get(e.name) === e);
els.forEach((e, i) => { e.dataset.keyboardIndex = i; });
document.activeElement && document.activeElement.blur();
window.scrollTo(0, 0);
return els.map(e => e.outerHTML.slice(0, 90));
"""
_FOCUSED = """
const e = document.activeElement;
if (!e || e === document.body || e.dataset.keyboardIndex === undefined) return null;
const s = getComputedStyle(e);
const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
             || s.boxShadow !== 'none';
return [Number(e.dataset.keyboardIndex), ring];
"""


def keyboard_problems(driver: WebDriver) -> list[str]:
    """Tab through the page from the top: every control must take the focus, and show it."""
    controls = driver.execute_script(_INTERACTIVE)
    reached: set[int] = set()
    problems = []
    for _ in range(2 * len(controls) + 10):  # other focusable things may sit between
        ActionChains(driver).send_keys(Keys.TAB).perform()
        focused = driver.execute_script(_FOCUSED)
        if focused is None:
            continue
        index, ring = focused
        if not ring and index not in reached:
            problems.append(f"no visible focus on {controls[index]}")
        reached.add(index)
    problems += [f"never reached by Tab: {html}" for i, html in enumerate(controls)
                 if i not in reached]
    return problems


def zoomed_overflow(driver: WebDriver) -> int:
    """The page at 200% zoom on a 1280-px window: a 640-px viewport at twice the pixels."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 640, "height": 450, "deviceScaleFactor": 2, "mobile": False})
    try:
        return driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth;")
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def check_page(driver: WebDriver, artefacts: Path, name: str) -> None:
    """axe at desktop width and at 360 px, with a screenshot of each; at 200% zoom nothing
    scrolls sideways; every control is reached by Tab and shows its focus."""
    assert zoomed_overflow(driver) <= 1, f"{name} scrolls sideways at 200% zoom"
    assert keyboard_problems(driver) == [], name
    for width, label in ((1280, "desktop"), (360, "phone")):
        driver.set_window_size(width, 900)
        assert axe_problems(driver) == [], f"{name} at {label}"
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth;")
        assert overflow <= 1, f"{name} scrolls sideways at {label} ({overflow} px)"
        driver.save_screenshot(str(artefacts / f"{name}-{label}.png"))
    driver.set_window_size(1280, 900)


async def test_sign_in_claim_and_answer_and_the_asker_receives_it_on_telegram(
        served: Served, browser: WebDriver, artefacts: Path) -> None:
    asker = Message("telegram", ASKER, ASKER, "x", program="Riverside Shelter")
    escalation = await new_escalation(served.db, asker, "how do we budget for a new roof",
                                      Reason.NO_MATCH, ["finance"])
    ref = escalation.reference
    answer = "Use unrestricted funds first, and ask your grant manager about capital costs."
    link = await served.link()

    def staff_work() -> None:
        sign_in(browser, link)
        check_page(browser, artefacts, "queue")
        browser.find_element(By.LINK_TEXT, ref).click()
        browser.find_element(By.ID, "claim").click()
        wait(browser).until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".notice.ok"),
                                                               "Claimed"))
        box = browser.find_element(By.ID, "answer")
        box.send_keys(answer)
        wait(browser).until(seen.text_to_be_present_in_element((By.ID, "preview"), answer))
        assert f"Answer from TA staff on {ref}" in browser.find_element(By.ID, "preview").text
        check_page(browser, artefacts, "escalation")
        browser.find_element(By.ID, "send-answer").click()
        wait(browser).until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".notice.ok"),
                                                               "Answer sent"))

    await asyncio.to_thread(staff_work)
    sent = await served.telegram.wait_for("sendMessage", 1)
    to_asker = [m for m in sent if str(m.get("chat_id")) == ASKER]
    assert to_asker and answer in to_asker[0]["text"]


async def test_edit_an_entry_and_tabot_ask_returns_the_new_text(
        served: Served, browser: WebDriver, artefacts: Path) -> None:
    link = await served.link()
    new_answer = "Curfews are house rules: apply them to everyone, and explain them at intake."

    def edit() -> None:
        sign_in(browser, link)
        browser.get(f"{served.base}/knowledge")
        check_page(browser, artefacts, "knowledge")
        browser.get(f"{served.base}/knowledge/{CURFEW}")
        box = browser.find_element(By.ID, "answer")
        box.clear()
        box.send_keys(new_answer)
        assert browser.find_element(By.ID, "answer-preview").text == new_answer  # live
        check_page(browser, artefacts, "entry")
        browser.find_element(By.ID, "save").click()
        wait(browser, 30).until(seen.text_to_be_present_in_element(
            (By.CSS_SELECTOR, ".notice.ok"), "Saved"))

    await asyncio.to_thread(edit)
    assert served.runtime.knowledge.get(CURFEW).answer == new_answer  # the running bot
    asked = await asyncio.to_thread(subprocess.run, [
        sys.executable, "-m", "bot", "ask", "can our shelter have a curfew"], cwd=REPO,
        env={**os.environ, "TABOT_KB": str(served.kb_dir)}, capture_output=True, text=True,
        timeout=60)
    assert new_answer in asked.stdout, asked.stderr


async def test_approve_a_proposed_phrasing_and_try_it(
        served: Served, browser: WebDriver, artefacts: Path) -> None:
    wording = "whats the rule on residents coming home late"
    async with served.db.engine.begin() as connection:
        await record_confirmed(connection, wording, served.runtime.knowledge.get(CURFEW),
                               Confirmation.PICKED)
    link = await served.link()

    def approve() -> None:
        sign_in(browser, link)
        browser.get(f"{served.base}/learning")
        check_page(browser, artefacts, "learning")
        browser.find_element(By.CSS_SELECTOR, "button[aria-label^='Approve']").click()
        wait(browser, 30).until(seen.text_to_be_present_in_element(
            (By.CSS_SELECTOR, ".notice.ok"), "Approved"))
        browser.get(f"{served.base}/try")
        browser.find_element(By.ID, "q").send_keys(wording)
        page_before = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.ID, "try").click()
        wait(browser).until(replaced(page_before))  # the answer's page, not this one
        wait(browser).until(seen.presence_of_element_located((By.ID, "result")))
        assert "residents" not in browser.current_url  # posted: not in history or logs
        check_page(browser, artefacts, "try")

    await asyncio.to_thread(approve)
    file = yaml.safe_load((served.kb_dir / f"{CURFEW}.yaml").read_text(encoding="utf-8"))
    assert file["questions"][-1] == wording


async def test_refusals_in_the_browser(served: Served, browser: WebDriver,
                                       artefacts: Path) -> None:
    link = await served.link()

    def refusals() -> None:
        browser.delete_all_cookies()
        browser.get(f"{served.base}/queue")
        assert "Please sign in" in browser.find_element(By.TAG_NAME, "h1").text
        check_page(browser, artefacts, "refusal")
        sign_in(browser, link)
        browser.find_element(By.CSS_SELECTOR, ".signout button").click()
        wait(browser).until(seen.text_to_be_present_in_element((By.TAG_NAME, "h1"),
                                                               "Signed out"))
        browser.get(link)  # the link was used
        assert "cannot be used" in browser.find_element(By.TAG_NAME, "h1").text
        browser.get(f"{served.base}/queue")
        assert "Please sign in" in browser.find_element(By.TAG_NAME, "h1").text

    await asyncio.to_thread(refusals)


HOSTILE = ('<script>window.pwned=1</script><img src=x onerror="window.pwned=2"> '
           '<a href="javascript:window.pwned=3">click me</a>')


async def test_script_csrf_and_non_staff_are_refused_in_the_browser(
        served: Served, browser: WebDriver, artefacts: Path) -> None:
    asker = Message("telegram", ASKER, ASKER, "x", program="Riverside Shelter")
    escalation = await new_escalation(served.db, asker, HOSTILE, Reason.NO_MATCH, ["x"])
    link = await served.link()
    outsider = "outsider-token-for-this-test"  # a live link for someone not in TABOT_STAFF
    async with served.db.session() as session, session.begin():
        session.add(ConsoleLink(token_hash=digest(outsider), actor="telegram:999",
                                created_at=utcnow(), expires_at=utcnow() + LINK_LIFETIME))

    def attempts() -> None:
        browser.delete_all_cookies()
        browser.get(f"{served.base}/signin/{outsider}")
        assert "cannot be used" in browser.find_element(By.TAG_NAME, "h1").text
        sign_in(browser, link)
        browser.get(f"{served.base}/escalations/{escalation.reference}")
        main = browser.find_element(By.TAG_NAME, "main")
        assert "<script>window.pwned=1</script>" in main.text  # shown as text, not run
        assert not browser.find_elements(By.LINK_TEXT, "click me")
        browser.find_element(By.ID, "claim").click()  # scripts get a chance to run
        wait(browser).until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".notice.ok"),
                                                               "Claimed"))
        assert browser.execute_script("return window.pwned === undefined")
        browser.execute_script(  # a forged form: "Close" without its CSRF token
            "document.getElementById('close').form.querySelector('[name=csrf]').remove()")
        browser.find_element(By.ID, "close").click()
        wait(browser).until(seen.text_to_be_present_in_element((By.TAG_NAME, "h1"), "expired"))
        assert "Traceback" not in browser.find_element(By.TAG_NAME, "body").text

    await asyncio.to_thread(attempts)


def downloaded(folder: Path, suffix: str, seconds: float = 20) -> Path:
    """The file Chromium finished saving into `folder` (no partial `.crdownload` left)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = [f for f in folder.iterdir() if f.suffix == suffix]
        if done and not any(f.suffix == ".crdownload" for f in folder.iterdir()):
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} file was downloaded into {folder}")


async def test_figures_download_the_csv_and_members_make_an_invite_code(
        served: Served, browser: WebDriver, artefacts: Path, tmp_path: Path) -> None:
    asker = Message("telegram", ASKER, ASKER, "x", program="Riverside Shelter")
    for _ in range(3):
        await new_interaction(served.db, asker, "can our shelter have a curfew", "answer",
                              CURFEW)
    folder = tmp_path / "downloads"
    folder.mkdir()
    link = await served.link()

    def director() -> str:
        browser.execute_cdp_cmd("Browser.setDownloadBehavior",
                                {"behavior": "allow", "downloadPath": str(folder)})
        sign_in(browser, link)
        browser.find_element(By.LINK_TEXT, "Figures").click()
        wait(browser).until(seen.title_contains("Figures"))
        assert browser.find_element(By.ID, "contacts").text == "3"
        check_page(browser, artefacts, "figures")
        browser.find_element(By.ID, "download-csv").click()
        csv_file = downloaded(folder, ".csv").read_text(encoding="utf-8")
        browser.get(f"{served.base}/figures?from=2026-10-31&to=2026-10-01")
        assert "before the start date" in browser.find_element(By.ID, "period-error").text
        browser.find_element(By.LINK_TEXT, "Members").click()
        browser.find_element(By.ID, "program").send_keys("Riverside Shelter")
        browser.find_element(By.ID, "create-invite").click()
        wait(browser).until(seen.text_to_be_present_in_element(
            (By.CSS_SELECTOR, ".notice.ok"), "Invite code"))
        check_page(browser, artefacts, "members")
        browser.find_element(By.PARTIAL_LINK_TEXT, "Print the QR code").click()
        qr = browser.find_element(By.CSS_SELECTOR, "img.qr")
        assert browser.execute_script("return arguments[0].naturalWidth;", qr) > 0  # it loaded
        check_page(browser, artefacts, "invite-print")
        return csv_file

    got = await asyncio.to_thread(director)
    today = dt.datetime.now(dt.UTC).date()
    expected = reports.as_csv(await reports.build_report(
        served.db, served.runtime.knowledge, today - dt.timedelta(days=29), today))
    assert got.replace("\r\n", "\n") == expected.replace("\r\n", "\n")
    assert "summary,contacts,3" in got
    [invite] = await members.invites(served.db)
    assert invite.program == "Riverside Shelter" and not invite.revoked
