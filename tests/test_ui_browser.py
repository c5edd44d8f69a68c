"""The web UI in a real browser: Playwright drives Debian's Chromium against the running app.

These tests click what a user clicks and read what a user sees. They need /usr/bin/chromium
(`apt-get install chromium`) and the `playwright` package; Playwright's own browser download
is not used. Without a browser they are skipped locally, but in CI (CI set) they fail, so a
broken CI image can't pass silently.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SHORT_EXAMPLES
from ui_support import SENTENCE, serve

CHROMIUM = Path(os.environ.get("NMT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# Decoding is fast, but the CPU may be shared with other work: be patient, not flaky.
TIMEOUT_MS = 60_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _require_browser() -> None:
    problems = []
    if not CHROMIUM.is_file():
        problems.append(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the playwright package is missing (pip install -e '.[dev]')")
    if problems:
        reason = "browser tests need a browser: " + "; ".join(problems)
        if _in_ci():
            pytest.fail(reason + ". In CI this is an error, not a skip.", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def app_url(browser, tiny_model, tiny_model_short) -> Iterator[str]:
    with serve([tiny_model, tiny_model_short]) as (_, url):
        yield url


@pytest.fixture(scope="module")
def translators(tiny_model, tiny_model_short) -> dict[str, Any]:
    from nmt.translator import Translator

    return {"default": Translator.load(tiny_model), "short": Translator.load(tiny_model_short)}


@pytest.fixture(scope="module")
def context(browser, app_url: str) -> Iterator[Any]:
    """One browser profile for the module, so the app's scripts are fetched once."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url.rstrip("/"))
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context, app_url: str) -> Iterator[Any]:
    """A fresh tab on the app (a new session); fails the test if it talked to another host."""
    tab = context.new_page()
    elsewhere: list[str] = []
    tab.on("request", lambda r: None if _is_local(r.url, app_url) else elsewhere.append(r.url))
    try:
        tab.goto(app_url)
        tab.locator("#source textarea").wait_for()
        yield tab
        assert not elsewhere, f"the page made requests off this machine: {elsewhere}"
    finally:
        tab.close()


def _is_local(url: str, app_url: str) -> bool:
    return url.startswith(app_url) or url.startswith(("data:", "blob:"))


def test_a_missing_browser_skips_locally_but_fails_in_ci(monkeypatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        _require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="In CI this is an error"):
        _require_browser()


def _cells(translator, text: str, rank: int = 1, **search) -> int:
    hyp = translator.translate_detailed(text, nbest=rank, **search)[rank - 1]
    return len(hyp.src_pieces) * len(hyp.tgt_pieces)


def test_type_translate_read_heatmap_and_copy(page, translators) -> None:
    from playwright.sync_api import expect

    source = page.locator("#source textarea")
    source.fill(SENTENCE)
    expect(page.locator("#char-counter")).to_have_text(f"{len(SENTENCE)} / 2,000 characters")
    source.press("Enter")

    model = translators["default"]
    search = {"beam": model.config.decoding.beam, "length_penalty": 1.0}
    expected = model.translate([SENTENCE], **search)[0]
    expect(page.locator("#translation textarea")).to_have_value(expected)
    expect(page.locator("#heatmap td")).to_have_count(_cells(model, SENTENCE, **search))
    expect(page.locator("#heatmap caption")).to_contain_text("hypothesis #1")
    # The n-best list shows each hypothesis with its score; picking one redraws the map.
    hypotheses = model.translate_detailed(SENTENCE, nbest=3, **search)
    table = page.locator("#nbest")
    for hyp in hypotheses:
        expect(table).to_contain_text(str(round(hyp.score, 4)))
    page.locator("#hypothesis").get_by_text("#2", exact=True).click()
    expect(page.locator("#heatmap caption")).to_contain_text("hypothesis #2")
    expect(page.locator("#heatmap td")).to_have_count(_cells(model, SENTENCE, 2, **search))

    page.locator("#translation").get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == expected


def test_examples_counter_limit_and_clear(page, translators) -> None:
    from playwright.sync_api import expect

    recorded = translators["default"].meta["examples"]  # held-out sources of its training
    assert len(recorded) == 5
    example = recorded[2]
    page.get_by_text(example, exact=True).click()
    expect(page.locator("#source textarea")).to_have_value(example)
    expect(page.locator("#char-counter")).to_have_text(f"{len(example)} / 2,000 characters")
    # The box itself stops at the limit; the server refuses longer text sent any other way.
    page.locator("#source textarea").fill("x" * 2500)
    expect(page.locator("#source textarea")).to_have_value("x" * 2000)
    expect(page.locator("#char-counter")).to_contain_text("limit reached")
    page.locator("#clear-btn").click()
    expect(page.locator("#source textarea")).to_have_value("")
    expect(page.locator("#char-counter")).to_have_text("0 / 2,000 characters")


def test_switch_model(page, translators) -> None:
    from playwright.sync_api import expect

    page.locator("#model input").click()
    page.get_by_role("option", name=re.compile("tiny-short")).click()
    expect(page.locator("#model-card")).to_contain_text("tiny-short")
    expect(page.locator("#model-card")).to_contain_text("dev BLEU 1.50")
    # the examples are the chosen model's own
    expect(page.get_by_text(SHORT_EXAMPLES[0], exact=True)).to_be_visible()
    expect(page.get_by_text(translators["default"].meta["examples"][0], exact=True)).to_have_count(0)
    page.get_by_text(SHORT_EXAMPLES[1], exact=True).click()
    expect(page.locator("#source textarea")).to_have_value(SHORT_EXAMPLES[1])
    expect(page.locator("#beam input[type=number]")).to_have_value("2")  # its own default

    page.locator("#source textarea").fill(SENTENCE)
    page.locator("#translate-btn").click()
    expected = translators["short"].translate([SENTENCE], beam=2)[0]
    assert expected != translators["default"].translate([SENTENCE], beam=2)[0]
    expect(page.locator("#translation textarea")).to_have_value(expected)


def test_upload_a_file_and_download_the_translation(page, translators, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    lines = [SENTENCE, "", "And God said, Let there be light."]
    upload = tmp_path / "verses.txt"
    upload.write_text("\n".join(lines) + "\n", encoding="utf-8")

    page.get_by_role("tab", name="File").click()
    expect(page.locator("#file-limits")).to_contain_text("1 MB")
    page.locator("#file-in input[type=file]").set_input_files(str(upload))
    expect(page.locator("#file-in")).to_contain_text("verses")
    page.locator("#file-btn").click()
    expect(page.locator("#file-status")).to_contain_text("Translated 3 lines of verses.txt")

    expect(page.locator("#file-out")).to_contain_text("verses.fr")
    with page.expect_download() as download_info:
        page.locator("#file-out [data-testid=download-link]").click()
    download = download_info.value
    assert download.suggested_filename == "verses.fr.txt"
    model = translators["default"]
    expected = model.translate(lines, beam=model.config.decoding.beam, length_penalty=1.0)
    assert Path(download.path()).read_text(encoding="utf-8") == "".join(t + "\n" for t in expected)


def test_a_bad_upload_gets_one_clear_message(page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    upload = tmp_path / "latin1.txt"
    upload.write_bytes("fine\ncaf\u00e9\n".encode("latin-1"))
    page.get_by_role("tab", name="File").click()
    page.locator("#file-in input[type=file]").set_input_files(str(upload))
    page.locator("#file-btn").click()
    expect(page.get_by_text("latin1.txt is not UTF-8 text: line 2")).to_be_visible()
    expect(page.get_by_text("Traceback")).to_have_count(0)
