"""Take the README's screenshots of the web UI with Playwright and Debian's Chromium.

    python docs/screenshots.py                          # the bundled model
    python docs/screenshots.py --model runs/a --model runs/b

Serves the app on a free local port, drives it like a user (translate an example, pick a
hypothesis, open the model list, type in live mode, translate a file) and writes PNGs to
docs/img/. Re-run
it whenever the UI or the bundled model changes, so the pictures never drift from the app.
Needs /usr/bin/chromium (apt-get install chromium) and `pip install playwright`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SENTENCE = "And God saw the light, that it was good."
# Typed in live mode and caught mid-sentence, while part of the translation is tentative.
LIVE_TEXT = "And the word was made flesh, "
FILE_LINES = [
    "In the beginning God created the heaven and the earth.",
    "And the earth was without form, and void.",
    "",
    "And God saw the light, that it was good.",
]
# Images in the README should load fast; warn when one grows past this.
MAX_BYTES = 300 * 1024


def _shoot(page, path: Path, clip_to: str | None = None) -> None:
    """Screenshot the page, or the box from the page's top to the bottom of `clip_to`."""
    if clip_to:
        box = page.locator(clip_to).bounding_box()
        height = min(int(box["y"] + box["height"] + 16), 2400)
        page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": 1200, "height": height},
                        full_page=True)
    else:
        page.screenshot(path=str(path))
    size = path.stat().st_size
    note = "" if size <= MAX_BYTES else f"  (over {MAX_BYTES // 1024} KB: crop or shrink it)"
    print(f"{path} {size / 1024:.0f} KB{note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, action="append", default=[], metavar="DIR",
                        help="model to show (repeatable; default: the bundled model)")
    parser.add_argument("--sentence", default=SENTENCE, help="the text to translate")
    parser.add_argument("--out", type=Path, default=HERE / "img")
    args = parser.parse_args(argv)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

    from playwright.sync_api import expect, sync_playwright

    from nmt.errors import NmtError
    from nmt.ui.app import launch
    from nmt.ui.models import load_catalog

    try:
        catalog = load_catalog(args.model, bundled=not args.model)
    except NmtError as exc:
        print(f"screenshots: error: {exc}", file=sys.stderr)
        return 2
    port = _free_port()
    demo = launch(catalog, host="127.0.0.1", port=port, block=False)
    url = f"http://127.0.0.1:{port}/"
    args.out.mkdir(parents=True, exist_ok=True)
    sample = Path(tempfile.mkdtemp()) / "genesis.txt"
    sample.write_text("\n".join(FILE_LINES) + "\n", encoding="utf-8")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(120_000)
            expect.set_options(timeout=120_000)
            page.goto(url)

            page.locator("#source textarea").fill(args.sentence)
            page.locator("#translate-btn").click()
            page.locator("#heatmap table").wait_for()
            page.mouse.move(0, 0)
            _shoot(page, args.out / "ui-translate.png", clip_to="#heatmap")

            page.locator("#model input").click()
            page.get_by_role("option").first.wait_for()
            _shoot(page, args.out / "ui-models.png", clip_to="[role=listbox]")
            page.keyboard.press("Escape")

            page.locator("#clear-btn").click()
            page.locator("#live-toggle input").check()
            page.locator("#live").wait_for()
            page.locator("#source textarea").click()
            # Word by word, each translated before the next (a fast typist skips some), then
            # hold the page's pause clock, which would otherwise finish the translation.
            for n, word in enumerate(LIVE_TEXT.split(), start=1):
                page.keyboard.type(word + " ", delay=40)
                page.evaluate("clearTimeout(window.nmtLivePause)")
                page.locator(f'#live .live-text[data-words="{n}"]').wait_for()
            page.locator("#live .tentative").wait_for()
            page.mouse.move(0, 0)
            _shoot(page, args.out / "ui-live.png", clip_to="#live-toggle")
            page.locator("#live-toggle input").uncheck()

            page.get_by_role("tab", name="File").click()
            page.locator("#file-in input[type=file]").set_input_files(str(sample))
            page.locator("#file-btn").click()
            expect(page.locator("#file-status")).to_contain_text(re.compile("Translated"))
            page.mouse.move(0, 0)
            _shoot(page, args.out / "ui-file.png", clip_to="#file-status")
            browser.close()
    finally:
        demo.close()
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
