"""End to end in a real browser: Debian's Chromium, headless, driven by Selenium through Debian's
chromedriver (never a browser a test tool downloads), against a real server process.

Every page visited must load with no console error and no failed request to the test server, and fit
a 390-px phone as well as a desktop with no sideways scrolling. Only what concerns the test server's
origin counts: Chromium's own start page makes requests of its own (Chromium 156 asks a host it cannot
resolve here), which say nothing about our pages. Screenshots of every page at both widths go to
`test-artifacts/` (or `$SKATEGRAPH_ARTIFACTS`), which the test creates.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

from .conftest import ROOT
from .server import Server, seed_server
from .source_facts import RACES

ARTIFACTS = Path(os.environ.get("SKATEGRAPH_ARTIFACTS", ROOT / "test-artifacts"))
WIDTHS = {"phone": (390, 844), "desktop": (1280, 1000)}
NATIONS = "SELECT ?code WHERE { ?n a sg:Nation ; skos:notation ?code } ORDER BY ?code"
PAGES = {  # every kind of page a person meets, by name: its path on the test server
    "front": "/",
    "skater": "/id/skater/ahn-hyun-soo",
    "season": "/id/season/2002-03",
    "nation": "/id/nation/CAN",
    "race": "/id/race/2002-03/chuncheon/men-1500m",
    "query-result": "/query?query=" + quote(NATIONS),
    "query-error": "/query?query=" + quote("SELECT ?x WHERE { ?x ?y }"),
    "reconcile-preview": "/reconcile/preview?id=skater/lee-seung-jae",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Iterator[Server]:
    with seed_server(tmp_path_factory.mktemp("browser"), "--processes", "1", seed=seed_dir) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "Debian's chromium and chromium-driver are needed: .ci/run installs them"
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not fetch anything
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    running = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    running.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield running
    finally:
        running.quit()


# Where each request the browser made went, by its id: a failure names only the id. Kept across checks,
# since a request may start before one check and fail after it.
_requests: dict[str, str] = {}


def visit_checks(browser: WebDriver, name: str) -> None:
    """No console errors and no failed requests of our pages since the last check; a screenshot for
    the record. A console message that names a URL of another origin (Chromium's own pages) is not ours."""
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    origin = urlsplit(browser.current_url).netloc  # every page checked is the test server's

    def ours(url: str) -> bool:
        return urlsplit(url).netloc == origin

    errors = [
        entry
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE"
        and (ours(entry["message"].split(" ", 1)[0]) or "://" not in entry["message"].split(" ", 1)[0])
    ]
    assert not errors, errors
    failed = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message["params"]
        if message["method"] == "Network.requestWillBeSent":
            _requests[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.loadingFailed" and ours(_requests.get(params["requestId"], "")):
            failed.append((_requests[params["requestId"]], params))
        elif message["method"] == "Network.responseReceived" and params["response"]["status"] >= 400:
            failed.append(params["response"]["url"]) if ours(params["response"]["url"]) else None
    assert not failed, failed


def at_width(browser: WebDriver, width: str) -> None:
    """The viewport of a phone or a desktop (not a mobile emulation, which would zoom out a page too
    wide for it and so hide what this checks)."""
    wide, high = WIDTHS[width]
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": wide, "height": high, "deviceScaleFactor": 1, "mobile": False}
    )


def overflow(browser: WebDriver) -> tuple[int, int]:
    return tuple(browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]"))


def follow(browser: WebDriver, by: str, value: str) -> None:
    """Click what navigates (a link, a submit button) and wait until the next page has replaced this one."""
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(by, value).click()
    WebDriverWait(browser, 20).until(_replaced(page))


def _replaced(page: WebElement) -> Callable[[WebDriver], bool]:
    """`staleness_of(page)`, and also true when chromedriver, asked about the old page's element while
    the new page replaces it, answers that the node does not belong to the document (an "unknown
    error" rather than a stale element: seen with Chromium 156 once in CI)."""
    stale = staleness_of(page)

    def replaced(browser: WebDriver) -> bool:
        try:
            return bool(stale(browser))
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise

    return replaced


def heading(browser: WebDriver) -> str:
    return str(browser.find_element(By.TAG_NAME, "h1").text)


def test_follow_links_from_the_front_page_to_a_skater_to_a_race_and_back(server: Server, browser: WebDriver) -> None:
    browser.get(server.url + "/")
    assert "skategraph" in browser.title
    visit_checks(browser, "01-front")
    follow(browser, By.LINK_TEXT, "2002–03 ISU Short Track Speed Skating World Cup")
    assert heading(browser) == "2002–03 ISU Short Track Speed Skating World Cup"
    visit_checks(browser, "02-season")
    follow(browser, By.LINK_TEXT, "Fu Tianyu")
    assert heading(browser) == "Fu Tianyu"
    visit_checks(browser, "03-skater")
    won = next(r for r in RACES if r.podium[0][1] == "Fu Tianyu")
    follow(browser, By.PARTIAL_LINK_TEXT, f"Women's {won.event}, {won.venue}")
    assert heading(browser).startswith(f"Women's {won.event}, {won.venue}")
    visit_checks(browser, "04-race")
    podium = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "section:first-of-type td:nth-child(2)")]
    assert podium == [name for _code, name in won.podium]
    follow(browser, By.LINK_TEXT, "Fu Tianyu")
    assert heading(browser) == "Fu Tianyu"
    visit_checks(browser, "05-back-to-skater")


def test_run_a_saved_query_from_its_form(server: Server, browser: WebDriver) -> None:
    browser.get(server.url + "/")
    follow(browser, By.LINK_TEXT, "Race podiums")
    Select(browser.find_element(By.NAME, "category")).select_by_value("women")
    Select(browser.find_element(By.NAME, "distance")).select_by_value("500")
    follow(browser, By.CSS_SELECTOR, "form.saved button[type=submit]")
    rows = browser.find_elements(By.CSS_SELECTOR, "#results tbody tr")
    expected = [r.podium[0][1] for r in RACES if r.category == "Women" and r.event == "500m"]
    assert [row.find_elements(By.TAG_NAME, "td")[5].text for row in rows] == expected
    assert "category=women" in browser.current_url  # a URL that reproduces the result
    visit_checks(browser, "06-saved-query")


@pytest.fixture
def no_javascript(browser: WebDriver) -> Iterator[WebDriver]:
    """The same browser with JavaScript off, as a reader who turned it off."""
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        yield browser
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_run_a_hand_written_query_and_see_an_error_without_javascript(server: Server, no_javascript: WebDriver) -> None:
    browser = no_javascript
    browser.get(server.url + "/")
    follow(browser, By.LINK_TEXT, "Query")
    editor = browser.find_element(By.NAME, "query")
    assert editor.is_displayed() and not browser.find_elements(By.CSS_SELECTOR, ".CodeMirror")
    assert "PREFIX sg:" in editor.get_attribute("value")
    editor.clear()
    editor.send_keys(NATIONS)
    follow(browser, By.CSS_SELECTOR, "form button[type=submit]")
    codes = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#results tbody td")]
    assert codes[:3] == ["BUL", "CAN", "CHN"] and len(codes) == 11
    assert browser.find_element(By.ID, "curl").text.startswith("curl -s ")
    visit_checks(browser, "07-query-without-javascript")
    editor = browser.find_element(By.NAME, "query")
    editor.clear()
    editor.send_keys("SELECT ?x WHERE { ?x ?y }")
    follow(browser, By.CSS_SELECTOR, "form button[type=submit]")
    error = browser.find_element(By.ID, "error").text
    assert "the query does not parse" in error and "(line 1, column" in error
    assert not browser.find_elements(By.PARTIAL_LINK_TEXT, "CSV") and not browser.find_elements(By.ID, "curl")
    visit_checks(browser, "08-query-error-without-javascript")


def type_in_editor(browser: WebDriver, *keys: str) -> None:
    ActionChains(browser).send_keys(*keys).perform()


def control(browser: WebDriver, key: str) -> None:
    ActionChains(browser).key_down(Keys.CONTROL).send_keys(key).key_up(Keys.CONTROL).perform()


def test_the_editor_completes_our_terms_marks_errors_and_runs_a_query(server: Server, browser: WebDriver) -> None:
    """YASQE over the query page, under the page's Content-Security-Policy, with nothing from elsewhere."""
    browser.get(server.url + "/query")
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".yasqe .CodeMirror"))
    assert not browser.find_element(By.NAME, "query").is_displayed()  # the editor stands in its place
    assert browser.execute_script("return window.skategraphEditor.getValue()").startswith("PREFIX sg:")
    visit_checks(browser, "09-editor")
    browser.find_element(By.CSS_SELECTOR, ".CodeMirror-code").click()
    control(browser, "a")
    type_in_editor(browser, Keys.DELETE, "SELECT ?code WHERE { ?n a sg:Nat")
    control(browser, " ")  # complete the class from our ontology
    hints = WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".CodeMirror-hints li"))
    assert [hint.text for hint in hints] == ["sg:Nation"]
    type_in_editor(browser, Keys.ENTER, " ; skos:nota")
    control(browser, " ")  # and a property the data uses
    hints = WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".CodeMirror-hints li"))
    assert [hint.text for hint in hints] == ["skos:notation"]
    type_in_editor(browser, Keys.ENTER, " ?code } ORDER BY ?code")
    text = browser.execute_script("return window.skategraphEditor.getValue()")
    assert text.endswith("SELECT ?code WHERE { ?n a sg:Nation ; skos:notation ?code } ORDER BY ?code"), text
    # The endpoint predeclares sg: and skos:, so the editor marks no error for them.
    assert not browser.find_elements(By.CSS_SELECTOR, ".parseErrorIcon")
    visit_checks(browser, "10-editor-completed")
    page = browser.find_element(By.TAG_NAME, "html")
    control(browser, Keys.ENTER)  # runs the query, as its form does
    WebDriverWait(browser, 20).until(staleness_of(page))
    codes = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#results tbody td")]
    assert codes[:3] == ["BUL", "CAN", "CHN"] and len(codes) == 11
    visit_checks(browser, "11-editor-result")

    # A syntax error is marked as it is typed (its tooltip is the one inline style the policy allows),
    # and the server's error position is marked once it has been run.
    browser.find_element(By.CSS_SELECTOR, ".CodeMirror-code").click()
    control(browser, "a")
    type_in_editor(browser, Keys.DELETE, "SELECT ?x WHERE { ?x ?y }")
    icon = WebDriverWait(browser, 10).until(lambda b: b.find_element(By.CSS_SELECTOR, ".parseErrorIcon"))
    ActionChains(browser).move_to_element(icon).perform()
    tip = WebDriverWait(browser, 10).until(lambda b: b.find_element(By.CSS_SELECTOR, ".yasqe_tooltip"))
    assert "Expected" in tip.get_attribute("textContent")
    visit_checks(browser, "12-editor-syntax-error")
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, 20).until(staleness_of(page))
    assert "the query does not parse" in browser.find_element(By.ID, "error").text
    marked = browser.find_element(By.CSS_SELECTOR, ".CodeMirror .server-error")
    assert marked.location["y"] > 0
    assert not browser.find_elements(By.PARTIAL_LINK_TEXT, "CSV")  # no download of a failed query
    visit_checks(browser, "13-editor-server-error")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_a_phone_and_a_desktop(server: Server, browser: WebDriver, width: str) -> None:
    """No page scrolls sideways: what is wide (a table, a curl line, an IRI) wraps or scrolls in its box."""
    at_width(browser, width)
    try:
        for name, path in PAGES.items():
            browser.get(server.url + path)
            scroll, inner = overflow(browser)
            browser.save_screenshot(str(ARTIFACTS / f"{name}-{width}.png"))
            assert scroll <= inner, f"{name} ({path}) is {scroll} px wide in a {inner}-px window"
            visit_checks(browser, f"{name}-{width}")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# The Accept header Comunica 5 sends for a document: over 128 bytes, so a browser asks first (preflight).
COMUNICA_ACCEPT = (
    "application/n-quads,application/trig;q=0.95,application/ld+json;q=0.9,application/n-triples;q=0.8,"
    "text/turtle;q=0.6,application/rdf+xml;q=0.5,text/n3;q=0.35,application/xml;q=0.3,image/svg+xml;q=0.3,"
    "text/xml;q=0.3,text/html;q=0.2,application/xhtml+xml;q=0.18,application/json;q=0.135,text/shaclc;q=0.1,"
    "text/shaclc-ext;q=0.05"
)


@pytest.mark.parametrize(
    "path", ["/sparql", "/id/skater/oh-se-jong", "/id/nation/KOR.ttl", "/dump", "/ontology", "/.well-known/void"]
)
def test_a_script_on_another_origin_reads_the_linked_data(server: Server, browser: WebDriver, path: str) -> None:
    """Issue 13: Comunica in a browser (its web client, or a page's own script) fetches our documents and
    the dump from another origin; only the endpoint and the APIs allowed it (CORS), so the browser
    refused every /id/ document, the dump, the ontology and the VoID ("Failed to fetch"). The script
    runs on a page of `localhost`, a different origin from the server's `127.0.0.1`."""
    browser.get(server.url.replace("127.0.0.1", "localhost") + "/limits")  # JSON: no page policy to obey
    fetched = browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch(arguments[0], {headers: {Accept: arguments[1]}}).then(
          async r => done({status: r.status, type: r.headers.get("content-type"), body: await r.text()}),
          e => done({error: String(e)}));""",
        server.url + path,
        COMUNICA_ACCEPT,
    )
    browser.get_log("browser")  # what a refusal logged must not count against the next page
    browser.get_log("performance")
    assert fetched.get("status") == 200, fetched
    assert fetched["type"].split(";")[0] in {"application/n-quads", "application/ld+json", "text/turtle"}, fetched
    assert "https://w3id.org/skategraph/" in fetched["body"], fetched["type"]
