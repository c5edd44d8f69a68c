"""Live mode in a real browser: type a sentence key by key and watch the translation grow.

Reuses the browser set-up of test_ui_browser.py (Debian's Chromium through Playwright) but
serves the bundled model, so what the page shows can be compared with what
`Translator.load().translate([text])` gives. No button is clicked: the page asks for live
updates itself while the text is typed, and for the final translation at a full stop or a
pause.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from typing import Any

import pytest
from test_ui_browser import browser, context, page  # noqa: F401  (fixtures, shared)
from ui_support import SENTENCE, serve

# Records, in the page, every state the live panel goes through, and for each word how long
# after the keystroke that completed it (the space) the panel first showed a translation of
# that many words (its data-words).
_WATCH_JS = """() => {
    const w = window;
    w.liveSeen = []; w.liveLatencies = [];
    const completed = {}, measured = {};
    const box = document.querySelector("#source textarea");
    box.addEventListener("input", () => {
        if (!/\\s$/.test(box.value)) return;
        const n = box.value.trim().split(/\\s+/).length;
        if (!(n in completed)) completed[n] = performance.now();
    });
    const panel = document.getElementById("live");
    new MutationObserver(() => {
        const text = panel.querySelector(".live-text");
        if (!text) return;
        const entry = {
            text: text.textContent, state: text.dataset.state,
            tentative: text.querySelector(".tentative")?.textContent || "",
        };
        const n = Number(text.dataset.words);
        if (entry.state === "typing" && n in completed && !(n in measured)) {
            measured[n] = true;
            w.liveLatencies.push(performance.now() - completed[n]);
        }
        const last = w.liveSeen[w.liveSeen.length - 1];
        if (last && last.text === entry.text && last.state === entry.state) return;
        w.liveSeen.push(entry);
    }).observe(panel, {subtree: true, childList: true, characterData: true, attributes: true});
}"""

# Faster than anyone types, slower than a word's decode; well under the page's pause.
KEY_DELAY_MS = 60


@pytest.fixture(scope="module")
def app_url(browser) -> Iterator[str]:  # noqa: F811
    with serve(bundled=True) as (_, url):
        yield url


@pytest.fixture(scope="module")
def bundled() -> Any:
    from nmt.translator import Translator

    return Translator.load()


def _turn_on_live(page) -> None:  # noqa: F811
    from playwright.sync_api import expect

    page.locator("#live-toggle input").check()
    expect(page.locator("#live")).to_be_visible()
    page.evaluate(_WATCH_JS)
    page.locator("#source textarea").click()


def test_typing_a_sentence_shows_it_growing_then_the_offline_translation(
    page, bundled  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    _turn_on_live(page)
    page.keyboard.type(SENTENCE, delay=KEY_DELAY_MS)

    # The full stop asks for the final translation: the offline one, unmarked.
    expected = bundled.translate([SENTENCE])[0]
    final = page.locator("#live .live-text[data-state=final]")
    expect(final).to_have_text(expected)
    expect(page.locator("#live .tentative")).to_have_count(0)

    seen = page.evaluate("window.liveSeen")
    typing = [s for s in seen if s["state"] == "typing" and s["text"]]
    # It appeared and grew while the words were typed, before any final translation.
    assert len(typing) >= 3, seen
    assert len(typing[-1]["text"]) > len(typing[0]["text"]), seen
    assert seen.index(typing[-1]) < next(i for i, s in enumerate(seen) if s["state"] == "final")
    # The tail that may still change was marked while typing.
    assert any(s["tentative"] for s in typing), seen
    # No button was pressed: the ordinary translation box is still empty.
    expect(page.locator("#translation textarea")).to_have_value("")

    latencies = page.evaluate("window.liveLatencies")
    if latencies:
        print(f"\nlive mode: last keystroke to updated translation, median "
              f"{statistics.median(latencies):.0f} ms, max {max(latencies):.0f} ms "
              f"over {len(latencies)} updates (bundled model, beam "
              f"{bundled.options.beam})")


def test_a_pause_gives_the_final_translation_then_typing_goes_live_again(
    page, bundled  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    _turn_on_live(page)
    text = "And God said, Let there be light"  # no full stop: only the pause finishes it
    page.keyboard.type(text, delay=KEY_DELAY_MS)
    expect(page.locator("#live .live-text[data-state=final]")).to_have_text(
        bundled.translate([text])[0])

    # Typing on starts a new live translation, finished again at the full stop.
    page.keyboard.type(": and there was ", delay=KEY_DELAY_MS)
    expect(page.locator("#live .live-text[data-state=typing]")).to_be_visible()
    more = ": and there was light."
    page.keyboard.type("light.", delay=KEY_DELAY_MS)
    expect(page.locator("#live .live-text[data-state=final]")).to_have_text(
        bundled.translate([text + more])[0])

    # Switching live mode off hides the panel; the Translate button works as before.
    page.locator("#live-toggle input").uncheck()
    expect(page.locator("#live")).to_be_hidden()
    page.locator("#translate-btn").click()
    expect(page.locator("#translation textarea")).to_have_value(bundled.translate([text + more])[0])
