"""The web page in headless Chromium (Debian's chromium + chromium-driver, driven over WebDriver by Selenium).

A CPA signs in, uploads the example company's statements, asks in French, watches the three phases stream, sees
the report, its charts and figures, downloads the workbook and signs off; the client signs in and reads the
signed report, and does not see an analysis still awaiting sign-off. Screenshots go to
`FINOPS_BROWSER_ARTIFACTS` (default `target/browser-artifacts/`).

The server binary is `FINOPS_SERVER_BIN` (default `target/debug/finops-server`, built by `scripts/test`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parents[3]
BISTRO = ROOT / "examples" / "data" / "bistro-saint-denis.json"
ARTIFACTS = Path(os.environ.get("FINOPS_BROWSER_ARTIFACTS", ROOT / "target" / "browser-artifacts"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    binary = Path(os.environ.get("FINOPS_SERVER_BIN", ROOT / "target" / "debug" / "finops-server"))
    assert binary.exists(), f"{binary}: build it with `cargo build -p finops-examples --bin finops-server`"
    data = tempfile.mkdtemp(prefix="finops-browser-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "FINOPS_OPENAI_BASE_URL"}
    env.pop("FINOPS_MASTER_KEY", None)
    proc = subprocess.Popen(
        [str(binary), "--listen", f"127.0.0.1:{port}", "--data-dir", data],
        env=env, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError("the server did not start: " + (proc.stderr.read() if proc.stderr else ""))
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def downloads() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="finops-downloads-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1600", "--lang=fr-FR"):
        options.add_argument(arg)
    # Two downloads from one page in a row: Chromium holds the second for a permission it asks for, unless the page
    # still has the click's activation when its fetch returns (not on a loaded machine). Allowed here.
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False,
                                              "profile.default_content_setting_values.automatic_downloads": 1})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def wait(driver: WebDriver, seconds: float = 60) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def shot(driver: WebDriver, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def sign_in(driver: WebDriver, url: str, role: str, client: str = "", sub: str = "") -> None:
    driver.get(url)
    driver.execute_script("sessionStorage.clear()")
    driver.get(url)
    wait(driver).until(ec.visibility_of_element_located((By.ID, "signin-form")))
    driver.find_element(By.ID, "lang-fr").click()
    driver.find_element(By.ID, "tenant").clear()
    driver.find_element(By.ID, "tenant").send_keys("cabinet-tremblay")
    Select(driver.find_element(By.ID, "role")).select_by_value(role)
    driver.find_element(By.ID, "client").send_keys(client)
    driver.find_element(By.ID, "sub").send_keys(sub)
    driver.find_element(By.ID, "signin-btn").click()
    wait(driver).until(ec.visibility_of_element_located((By.ID, "workspace")))


def run_analysis(driver: WebDriver, question: str, client: str) -> None:
    driver.find_element(By.ID, "files").send_keys(str(BISTRO))
    q = driver.find_element(By.ID, "question")
    q.clear()
    q.send_keys(question)
    c = driver.find_element(By.ID, "client-id")
    c.clear()
    c.send_keys(client)
    driver.find_element(By.ID, "submit-btn").click()
    wait(driver).until(ec.visibility_of_element_located((By.ID, "progress")))
    for phase in ("analyst", "researcher", "validator"):
        wait(driver).until(lambda d, p=phase: "done" in d.find_element(
            By.CSS_SELECTOR, f'.phase[data-phase="{p}"]').get_attribute("class"))
    wait(driver).until(ec.visibility_of_element_located((By.ID, "result")))
    wait(driver).until(lambda d: d.find_element(By.ID, "report").text.strip() != "")


def test_a_cpa_runs_an_analysis_and_signs_it_off_and_the_client_reads_it(
    server: str, browser: WebDriver, downloads: Path
) -> None:
    d = browser
    sign_in(d, server, "cpa", sub="Marie Tremblay")
    assert "Marie Tremblay" in d.find_element(By.ID, "whoami").text
    # French interface, then English on demand, then back.
    assert d.find_element(By.ID, "submit-btn").text == "Lancer l’analyse"
    run_analysis(d, "Analyse la rentabilité du bistro sur trois ans", "bistro")
    shot(d, "1-cpa-streamed-phases-and-report")
    # Each phase says who did it; computations were streamed as the Researcher made them.
    assert "offline" in d.find_element(By.CSS_SELECTOR, '.phase[data-phase="validator"] .state').text
    assert len(d.find_elements(By.CSS_SELECTOR, "#computations li")) > 0
    report = d.find_element(By.ID, "report").text
    assert "%" in report
    # Charts drawn by Chart.js from the figures: one per planned metric over the periods.
    drawn = d.execute_script(
        "return Array.from(document.querySelectorAll('#charts canvas'))"
        ".filter(c => window.Chart.getChart(c) && window.Chart.getChart(c).data.datasets[0].data.length >= 2).length")
    assert drawn >= 1
    # The figures table shows French values (comma decimals) from the server's exact figures.
    d.find_element(By.CSS_SELECTOR, "#result details summary").click()
    gross = d.execute_script(
        "return Array.from(document.querySelectorAll('#figures tbody tr'))"
        ".map(r => Array.from(r.cells).map(c => c.textContent))"
        ".find(c => c[0] === 'gross_margin' && c[1] === 'FY2023')")
    assert gross[2] == "68,97 %", gross
    # Downloads: the workbook (a zip) and the PDF.
    d.find_element(By.CSS_SELECTOR, '#downloads button[data-format="xlsx"]').click()
    d.find_element(By.CSS_SELECTOR, '#downloads button[data-format="pdf"]').click()
    wait(d).until(lambda _: any(p.suffix == ".xlsx" for p in downloads.iterdir())
                  and any(p.suffix == ".pdf" for p in downloads.iterdir()))
    xlsx = next(p for p in downloads.iterdir() if p.suffix == ".xlsx")
    pdf = next(p for p in downloads.iterdir() if p.suffix == ".pdf")
    wait(d).until(lambda _: xlsx.stat().st_size > 0 and pdf.stat().st_size > 0)
    assert xlsx.read_bytes()[:2] == b"PK"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    # Review: a note, then the sign-off.
    d.find_element(By.ID, "note").send_keys("Marges vérifiées avec le client")
    d.find_element(By.ID, "annotate-btn").click()
    wait(d).until(lambda _: "Marges vérifiées" in d.find_element(By.ID, "notes").text)
    d.find_element(By.ID, "signoff-btn").click()
    wait(d).until(lambda _: "status-signed_off" in d.find_element(By.ID, "review-status").get_attribute("class"))
    assert d.find_element(By.ID, "review-status").text == "approuvé"
    d.find_element(By.ID, "lang-en").click()
    assert d.find_element(By.ID, "review-status").text in ("approuvé", "signed off")
    assert d.find_element(By.ID, "submit-btn").text == "Run the analysis"
    shot(d, "2-cpa-signed-off-english")
    d.find_element(By.ID, "lang-fr").click()
    # A second analysis for the same client, left unsigned.
    run_analysis(d, "Is our working capital getting tighter?", "bistro")
    d.find_element(By.ID, "signout").click()

    # The client: only its signed-off analysis, no upload form, no review buttons.
    sign_in(d, server, "client", client="bistro", sub="Jean Dupont")
    assert not d.find_element(By.ID, "new-analysis").is_displayed()
    wait(d).until(lambda _: len(d.find_elements(By.CSS_SELECTOR, "#analyses tbody tr")) >= 1)
    rows = d.find_elements(By.CSS_SELECTOR, "#analyses tbody tr")
    assert len(rows) == 1, [r.text for r in rows]
    assert "rentabilité" in rows[0].text
    rows[0].click()
    wait(d).until(ec.visibility_of_element_located((By.ID, "result")))
    wait(d).until(lambda _: d.find_element(By.ID, "report").text.strip() != "")
    assert d.find_element(By.ID, "review-status").text == "approuvé"
    assert not d.find_element(By.ID, "review-actions").is_displayed()
    shot(d, "3-client-reads-signed-report")


def test_a_refused_upload_is_named_on_the_page(server: str, browser: WebDriver, tmp_path: Path) -> None:
    d = browser
    sign_in(d, server, "cpa", sub="Marie Tremblay")
    bad = tmp_path / "broken.json"
    bad.write_text('{"schema": "finops.statements/v1", "company": {"name": "X", "currency": "CAD"}, "periods": "nope"}')
    d.find_element(By.ID, "files").send_keys(str(bad))
    d.find_element(By.ID, "question").send_keys("Marges ?")
    d.find_element(By.ID, "submit-btn").click()
    wait(d).until(ec.visibility_of_element_located((By.ID, "error")))
    assert "periods" in d.find_element(By.ID, "error").text
    shot(d, "4-refused-upload")


def test_an_admin_exports_the_audit_trail_and_erases_a_client(
    server: str, browser: WebDriver, downloads: Path
) -> None:
    d = browser
    sign_in(d, server, "cpa", sub="Marie Tremblay")
    run_analysis(d, "Analyse la liquidité", "boulangerie")
    sign_in(d, server, "admin", sub="Admin Tremblay")
    assert d.find_element(By.ID, "admin").is_displayed()
    d.find_element(By.ID, "audit-btn").click()
    wait(d).until(lambda _: any(p.name == "finops-audit.jsonl" and p.stat().st_size > 0 for p in downloads.iterdir()))
    lines = (downloads / "finops-audit.jsonl").read_text().splitlines()
    assert lines and all(line.startswith("{") for line in lines)
    d.find_element(By.ID, "erase-client").send_keys("boulangerie")
    d.find_element(By.CSS_SELECTOR, "#erase-form button").click()
    wait(d).until(ec.alert_is_present())
    d.switch_to.alert.accept()
    wait(d).until(lambda _: "effacés" in d.find_element(By.ID, "admin-status").text)
    shot(d, "5-admin-erased-a-client")
    # The CPA no longer finds the erased client's analysis.
    sign_in(d, server, "cpa", sub="Marie Tremblay")
    wait(d).until(lambda _: d.find_element(By.ID, "analyses").is_displayed())
    assert "boulangerie" not in d.find_element(By.ID, "analyses").text
