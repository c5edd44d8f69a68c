"""`nmt serve --ui`: the web UI mounted at /ui on the service, translating through the same
batcher as the HTTP API: its answers are the model's, and they show up in the service's
metrics. One Playwright test checks the page itself works under the /ui prefix."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from serve_support import VERSES, call, metric, served
from test_ui_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, _require_browser
from ui_support import SENTENCE, client


@pytest.fixture(scope="module")
def translator():
    from nmt.translator import Translator

    return Translator.load(None)


@pytest.fixture(scope="module")
def url(translator):
    from nmt.serve import ServeSettings, create_app

    with served(create_app([translator], ServeSettings(ui=True, max_wait_ms=50))) as base:
        yield base


def translated(url: str) -> float:
    return metric(call(f"{url}/metrics")[2], "nmt_sentences_translated_total", model="bible-en-fr")


def test_the_ui_translates_through_the_services_batcher(url, translator):
    before = translated(url)
    api = client(f"{url}/ui/")
    beam = translator.options.beam
    verses = VERSES[:6]
    with ThreadPoolExecutor(6) as pool:  # the UI and the HTTP API at once, in shared batches
        ui = [pool.submit(api.predict, v, beam, 1.0, 1, "bible-en-fr", api_name="/translate")
              for v in verses[:3]]
        http = [pool.submit(call, f"{url}/v1/translate", {"text": v, "length_penalty": 1.0})
                for v in verses[3:]]
        answers = [f.result()[0] for f in ui] + [f.result()[2]["translations"][0]["text"]
                                                 for f in http]
    assert answers == [translator.translate([v], length_penalty=1.0)[0] for v in verses]
    # Live mode's searches (re-translation with forced prefixes) go through it too.
    page = api.predict(SENTENCE, beam, 1.0, api_name="/live_final")
    assert translator.translate([SENTENCE], length_penalty=1.0)[0] in page.replace("&#x27;", "'")
    assert translated(url) - before >= len(verses) + 1


def test_the_page_works_under_the_ui_prefix(url, translator):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{url}/")  # the service's root sends a browser to the UI
            assert re.search(r"/ui/?$", page.url)
            page.locator("#source textarea").fill(SENTENCE)
            page.locator("#translate-btn").click()
            expected = translator.translate([SENTENCE], length_penalty=1.0)[0]
            expect(page.locator("#translation textarea")).to_have_value(expected,
                                                                         timeout=TIMEOUT_MS)
        finally:
            browser.close()
