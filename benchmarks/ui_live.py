"""Live mode in a real browser: how long after a keystroke the live translation is updated.

    python benchmarks/ui_live.py                       # 30 test verses, 80 ms a key
    python benchmarks/ui_live.py --verses 100 --key-delay 120 --server-core 0 --browser-core 1

Issue 16's goal: "Browser: last keystroke to updated translation <= 150 ms median for one
user". Starts `nmt ui` (the bundled model) in its own process pinned to one core with one
thread, drives Debian's Chromium (headless, through Playwright) pinned to another, turns Live
on and types the first N Bible test verses key by key. Everything is timed in the page with
performance.now(), so neither Python nor Playwright's round trips count:

- word update: from the input event of a space that completes a word to the first change of
  the live panel to a typing-state translation of at least that many words (its data-words).
  A space right after a full stop inside a verse is not counted (it is reported as such): the
  page asks for a final translation there, not a live update, and such inner finals are not timed.
- final: from the verse's last keystroke to the first final-state translation of all its words.
  Verses ending in a full stop (., !, ?, ...) ask for it at once; the others only after the
  page's typing pause, which that figure then includes, so it is reported apart.

"Change of the live panel" is the DOM update (a MutationObserver callback), not the next paint.
Each verse starts on a freshly loaded page: a new session, so a new stream. Writes
benchmarks/results/ui_live-<host>.json and prints a table; exits non-zero if a verse never
reached its final translation or the final differs from the offline translation.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from serving import cpu_name, free_port, stop, wait_for  # benchmarks/serving.py

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ENVIRONMENT = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
               "HF_DATASETS_OFFLINE": "1"}
WARMUP_TEXT = "In the beginning God created the heaven and the earth."
GOAL_MS = 150.0

# The page's own test for a sentence end (ui/app.py, _LIVE_JS): typing one asks for the final
# translation at once, and so does a space typed after it.
SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u2019\u201d\u00bb)\]]*\s*$")

# Installed in the page once Live is on. Logs, in page time: every input event of the source
# box with the box's value (capture phase on window, before the app's own listeners), every
# request the page makes (clicks on the hidden #live-tick / #live-pause), and every distinct
# state of the live panel: [time, data-state, data-words, text].
_WATCH_JS = """() => {
    const log = window.nmtBench = {keys: [], asks: [], shows: []};
    const box = document.querySelector("#source textarea");
    window.addEventListener("input", (e) => {
        if (e.target === box) log.keys.push([performance.now(), box.value]);
    }, true);
    document.addEventListener("click", (e) => {
        const id = e.target && e.target.id;
        if (id === "live-tick" || id === "live-pause") log.asks.push([performance.now(), id]);
    }, true);
    const panel = document.getElementById("live");
    let last = null;
    new MutationObserver(() => {
        const now = performance.now();
        const text = panel.querySelector(".live-text");
        const show = text ? [text.dataset.state, Number(text.dataset.words), text.textContent]
                          : ["", 0, ""];
        const key = JSON.stringify(show);
        if (key === last) return;
        last = key;
        log.shows.push([now, ...show]);
    }).observe(panel, {subtree: true, childList: true, characterData: true, attributes: true});
}"""

# True once the panel has shown a final translation of `words` words after time `since`.
_FINAL_SHOWN_JS = """([words, since]) => window.nmtBench.shows.some(
    ([t, state, n]) => t >= since && state === "final" && n === words)"""


@dataclass
class Verse:
    """What one typed verse gave: latencies in ms, and what could not be measured."""

    index: int
    chars: int
    words: int
    word_ms: list[float] = field(default_factory=list)
    words_after_full_stop: int = 0  # spaces after a full stop: the page asks for a final there
    words_unmeasured: int = 0  # no typing update of that many words was ever shown
    final_ms: float | None = None
    final_trigger: str = "full stop"  # or "pause": no sentence end, the page waits for a pause
    final_matches_offline: bool = False
    ended_final: bool = False  # the panel's last state is the final translation
    key_interval_ms: float | None = None  # median time between keystrokes, as the page saw it
    stalls: int = 0  # gaps between keystrokes longer than the page's pause (it then finishes)
    error: str = ""


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile: a value that was actually observed."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _summary(values: list[float]) -> dict[str, float | int | None]:
    ordered = sorted(values)
    if not ordered:
        return {"median": None, "p95": None, "max": None, "mean": None, "count": 0}
    return {"median": round(statistics.median(ordered), 1),
            "p95": round(_percentile(ordered, 95), 1), "max": round(ordered[-1], 1),
            "mean": round(statistics.fmean(ordered), 1), "count": len(ordered)}


def _same_text(a: str, b: str) -> bool:
    return a.split() == b.split()


def analyse(index: int, verse: str, expected: str, log: dict[str, list], pause_ms: float) -> Verse:
    """Latencies of one verse from the page's log (times in ms of page time)."""
    keys: list[tuple[float, str]] = [(k[0], k[1]) for k in log["keys"]]
    shows: list[tuple[float, str, int, str]] = [tuple(s) for s in log["shows"]]
    result = Verse(index=index, chars=len(verse), words=len(verse.split()))
    if not keys:
        result.error = "no keystroke reached the page"
        return result

    previous = ""
    for t, value in keys:
        completes = (value[-1:].isspace() and previous != "" and not previous[-1].isspace()
                     and value.startswith(previous))
        if completes and SENTENCE_END.search(previous):
            result.words_after_full_stop += 1
        elif completes:
            n = len(value.split())
            shown = next((s for s in shows if s[0] >= t and s[1] == "typing" and s[2] >= n), None)
            if shown is None:
                result.words_unmeasured += 1
            else:
                result.word_ms.append(shown[0] - t)
        previous = value

    last_key = keys[-1][0]
    result.final_trigger = "full stop" if SENTENCE_END.search(verse) else "pause"
    final = next((s for s in shows if s[0] >= last_key and s[1] == "final"
                  and s[2] == result.words), None)
    if final is not None:
        result.final_ms = final[0] - last_key
    if shows:
        result.ended_final = shows[-1][1] == "final"
        result.final_matches_offline = result.ended_final and _same_text(shows[-1][3], expected)
    gaps = [b[0] - a[0] for a, b in zip(keys, keys[1:])]
    if gaps:
        result.key_interval_ms = round(statistics.median(gaps), 1)
        result.stalls = sum(g > pause_ms for g in gaps)
    if keys[-1][1] != verse:
        result.error = "the box did not hold the verse after typing"
    elif final is None:
        result.error = "no final translation of the whole verse after its last keystroke"
    elif not result.final_matches_offline:
        result.error = "the last translation shown is not the offline translation"
    return result


def _machine(chromium_version: str) -> dict[str, Any]:
    import gradio
    import torch

    cpu = cpu_name()
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "host": platform.node(),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gradio": gradio.__version__,
        "playwright": importlib.metadata.version("playwright"),
        "chromium": chromium_version,
    }


def _open_live_page(page: Any, url: str) -> None:
    """A fresh session with Live on, the watcher installed and the source box focused."""
    from playwright.sync_api import expect

    page.goto(url)
    page.locator("#source textarea").wait_for()
    page.locator("#live-toggle input").check()
    expect(page.locator("#live")).to_be_visible()  # the server answered the toggle
    page.evaluate(_WATCH_JS)
    page.locator("#source textarea").click()


def _type_verse(page: Any, url: str, text: str, key_delay_ms: float,
                final_timeout_ms: float) -> dict[str, list]:
    """Type `text` on a fresh page and return the page's log once its final translation is
    shown (or the timeout passes)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    _open_live_page(page, url)
    page.keyboard.type(text, delay=key_delay_ms)
    last_key = page.evaluate("window.nmtBench.keys.at(-1)?.[0] ?? 0")
    try:
        page.wait_for_function(_FINAL_SHOWN_JS, arg=[len(text.split()), last_key],
                               polling=100, timeout=final_timeout_ms)
        page.wait_for_timeout(300)  # a late, out-of-order update would show up here
    except PlaywrightTimeout:
        pass  # analyse() says what is missing
    return page.evaluate("window.nmtBench")


def _pin(core: int, what: str) -> None:
    allowed = os.sched_getaffinity(0)
    if core not in allowed:
        raise SystemExit(f"ui_live: error: --{what}-core {core} is not one of this process's "
                         f"cores {sorted(allowed)}.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verses", type=int, default=30,
                        help="how many Bible test verses to type, from the first (default: 30)")
    parser.add_argument("--key-delay", type=float, default=80,
                        help="ms Playwright waits between keys (default: 80, a quick typist)")
    parser.add_argument("--server-core", type=int, default=0,
                        help="CPU core for `nmt ui`, run with one thread (default: 0)")
    parser.add_argument("--browser-core", type=int, default=1,
                        help="CPU core for Chromium, Playwright and this script (default: 1)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="sentences typed first and not counted (default: 1)")
    parser.add_argument("--final-timeout", type=float, default=30,
                        help="seconds to wait for a verse's final translation (default: 30)")
    parser.add_argument("--time-limit", type=float, default=1800,
                        help="seconds for the whole run; verses not started by then are "
                        "skipped (default: 1800)")
    parser.add_argument("--out", type=Path,
                        default=HERE / "results" / f"ui_live-{platform.node()}.json")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.time_limit
    _pin(args.server_core, "server")
    _pin(args.browser_core, "browser")
    if not CHROMIUM.is_file():
        print(f"ui_live: error: {CHROMIUM} is missing (apt-get install chromium).", file=sys.stderr)
        return 2
    # Chromium and the Playwright driver are started by this process and inherit its core.
    os.sched_setaffinity(0, {args.browser_core})
    os.environ.update(ENVIRONMENT)
    os.environ["OMP_NUM_THREADS"] = "1"

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = ["taskset", "-c", str(args.server_core), sys.executable, "-m", "nmt", "ui",
               "--host", "127.0.0.1", "--port", str(port)]
    log = tempfile.TemporaryFile()  # a pipe nobody reads would fill up and stall the server
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, **ENVIRONMENT, "OMP_NUM_THREADS": "1"})
    try:
        return _run(args, url, server, deadline)
    except RuntimeError as exc:
        log.seek(0)
        print(f"ui_live: error: {exc}\n{log.read().decode('utf-8', 'replace')[-2000:]}",
              file=sys.stderr)
        return 2
    finally:
        stop(server)
        log.close()


def _run(args: argparse.Namespace, url: str, server: subprocess.Popen, deadline: float) -> int:
    import torch
    from playwright.sync_api import sync_playwright

    from nmt.data.corpus import load_splits
    from nmt.translator import Translator
    from nmt.ui.app import LIVE_PAUSE_MS

    torch.set_num_threads(1)
    # While the server starts on its own core: the verses and their offline translations,
    # which the final live translation must equal (the page uses the model's own settings).
    translator = Translator.load()
    verses = [v.strip() for v in load_splits(translator.config.data).test.src[: args.verses]]
    expected = [translator.translate([verse])[0] for verse in verses]  # one at a time, as served
    wait_for(url, server, deadline)

    results: list[Verse] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        machine = _machine(browser.version)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(60_000)
        page = context.new_page()
        for _ in range(args.warmup):
            _type_verse(page, url, WARMUP_TEXT, args.key_delay, args.final_timeout * 1000)
        for index, verse in enumerate(verses):
            if time.monotonic() > deadline:
                print(f"ui_live: time limit reached after {index} verses", file=sys.stderr)
                break
            page_log = _type_verse(page, url, verse, args.key_delay, args.final_timeout * 1000)
            verse_result = analyse(index, verse, expected[index], page_log, LIVE_PAUSE_MS)
            results.append(verse_result)
            print(f"  verse {index + 1}/{len(verses)}: {verse_result.words} words, word "
                  f"update median {_summary(verse_result.word_ms)['median']} ms, final "
                  f"{None if verse_result.final_ms is None else round(verse_result.final_ms)} ms"
                  f"{'  ' + verse_result.error if verse_result.error else ''}", flush=True)
        browser.close()

    return _report(args, translator, machine, results, LIVE_PAUSE_MS)


def _report(args: argparse.Namespace, translator: Any, machine: dict[str, Any],
            results: list[Verse], pause_ms: float) -> int:
    words = [ms for r in results for ms in r.word_ms]
    finals = [r for r in results if r.final_ms is not None]
    by_stop = [r.final_ms for r in finals if r.final_trigger == "full stop"]
    by_pause = [r.final_ms for r in finals if r.final_trigger == "pause"]
    intervals = [r.key_interval_ms for r in results if r.key_interval_ms is not None]
    word_summary = _summary(words)
    failed = [r for r in results if r.error]
    result = {
        "benchmark": "ui_live",
        "goal": f"Browser: last keystroke to updated translation <= {GOAL_MS:g} ms median "
                "for one user (issue 16)",
        "goal_met": word_summary["median"] is not None and word_summary["median"] <= GOAL_MS,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": translator.name, "pair": f"{translator.src_lang}-{translator.tgt_lang}",
                  "n_params": translator.n_params, "beam": translator.config.decoding.beam,
                  "length_penalty": translator.config.decoding.length_penalty},
        "settings": {
            "verses": len(results), "verses_asked": args.verses,
            "source": "Bible test split (load_splits(Translator.load().config.data).test), "
                      "first verses",
            "key_delay_ms": args.key_delay, "warmup_sentences": args.warmup,
            "server": "nmt ui, bundled model, separate process, OMP_NUM_THREADS=1",
            "server_core": args.server_core, "browser_core": args.browser_core,
            "browser": "Chromium headless through Playwright",
            "live_pause_ms": pause_ms, "fresh_stream": "page loaded again for each verse",
            "timing": "page time (performance.now): input event of the keystroke to the "
                      "MutationObserver callback of the live panel's change",
        },
        "word_update_ms": word_summary,
        "final_after_full_stop_ms": _summary(by_stop),
        "final_after_pause_ms": _summary(by_pause),
        "checks": {
            "words_measured": len(words),
            "words_after_full_stop": sum(r.words_after_full_stop for r in results),
            "words_unmeasured": sum(r.words_unmeasured for r in results),
            "verses_final_equal_offline": sum(r.final_matches_offline for r in results),
            "verses_failed": len(failed),
            "typing_stalls_over_pause": sum(r.stalls for r in results),
            "key_interval_ms_median": round(statistics.median(intervals), 1) if intervals else None,
        },
        "failures": [f"verse {r.index}: {r.error}" for r in failed][:10],
        "per_verse": [asdict(r) | {"word_ms": [round(ms, 1) for ms in r.word_ms],
                                   "final_ms": None if r.final_ms is None else round(r.final_ms, 1)}
                      for r in results],
        "machine": machine,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    print(f"\nui_live: {translator.name}, beam {result['model']['beam']}, {len(results)} verses, "
          f"{args.key_delay:g} ms a key (page saw {result['checks']['key_interval_ms_median']}), "
          f"server core {args.server_core}, browser core {args.browser_core}")
    print(f"{'ms':<40}{'median':>8}{'p95':>8}{'max':>8}{'count':>7}")
    for label, key in (("keystroke (space) -> word update", "word_update_ms"),
                       ("full stop -> final translation", "final_after_full_stop_ms"),
                       (f"last key -> final (+{pause_ms:g} ms pause)", "final_after_pause_ms")):
        s = result[key]
        cells = [("-" if s[k] is None else f"{s[k]:.0f}") for k in ("median", "p95", "max")]
        print(f"{label:<40}{cells[0]:>8}{cells[1]:>8}{cells[2]:>8}{s['count']:>7}")
    checks = result["checks"]
    print(f"goal (median word update <= {GOAL_MS:g} ms): "
          f"{'met' if result['goal_met'] else 'NOT met'}; finals equal to offline "
          f"{checks['verses_final_equal_offline']}/{len(results)}; words unmeasured "
          f"{checks['words_unmeasured']}; typing stalls {checks['typing_stalls_over_pause']}; "
          f"load average at start {machine['load_average_at_start']} -> {args.out}")
    for failure in result["failures"]:
        print(f"  failure: {failure}", file=sys.stderr)
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
