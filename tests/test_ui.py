"""The web UI, exercised the way users reach it: a real server on localhost, driven over HTTP.

The request rules (limits, uploads, model choice) are tested on their own first, then every
API endpoint through gradio_client against one in-process server shared by the module
(starting Gradio costs seconds). The CLI tests start their own process because that is the
path `nmt ui` really takes.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import gradio as gr
import pytest
from conftest import SHORT_EXAMPLES
from ui_support import SENTENCE, client, fetch, free_port, serve

from nmt.errors import NmtError
from nmt.ui import limits
from nmt.ui.checks import check_decoding, check_text
from nmt.ui.heatmap import attention_heatmap
from nmt.ui.models import ModelCatalog, load_catalog, score_summary
from nmt.ui.textfile import output_name, read_lines, write_lines


def _cells(page: str) -> int:
    return len(re.findall(r"<td\b", page))


# -- heatmap: pure HTML, no model ---------------------------------------------------------------


def test_heatmap_shape_and_values() -> None:
    src = ["the", "word", "."]
    tgt = ["le", "verbe", ".", "</s>"]
    att = [[0.8, 0.1, 0.1], [0.0, 1.0, 0.0], [0.2, 0.2, 0.6], [1 / 3, 1 / 3, 1 / 3]]
    page = attention_heatmap(src, tgt, att)
    assert _cells(page) == 12
    assert page.count('scope="col"') == 3 and page.count('scope="row"') == 4
    # Target pieces label rows in order; weights are readable on hover.
    rows = re.findall(r'scope="row"[^>]*>([^<]*)<', page)
    assert rows == ["le", "verbe", ".", "&lt;/s&gt;"]
    assert 'title="word \u2192 verbe: 1.000"' in page
    assert "0.333" in page


def test_heatmap_escapes_all_text() -> None:
    evil = '<script>alert("x")</script>'
    page = attention_heatmap(
        [evil, "${window.x}", "{{x}}"], ["<b>", "a&b"], [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]],
        caption="<i>cap</i>",
    )
    assert "<script" not in page and "<b>" not in page and "<i>" not in page
    assert html.escape(evil) in page
    assert "&lt;b&gt;" in page and "a&amp;b" in page
    # Template syntax is neutralised too (Gradio's HTML component is a JS template).
    assert "${" not in page and "{{" not in page


def test_heatmap_rejects_mismatched_matrix_and_clamps() -> None:
    with pytest.raises(ValueError, match="rows"):
        attention_heatmap(["a", "b"], ["x"], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="columns"):
        attention_heatmap(["a", "b"], ["x"], [[1.0]])
    page = attention_heatmap(["a", "b"], ["x"], [[1.7, float("nan")]])
    assert ": 1.000" in page and ": 0.000" in page
    assert attention_heatmap([], [], []) == ""


def test_heatmap_too_large_gives_a_notice() -> None:
    page = attention_heatmap(["a"] * 5, ["b"] * 5, [[0.2] * 5] * 5, max_cells=10)
    assert _cells(page) == 0 and "not shown" in page


# -- request checks: what the server accepts, whatever the browser does ------------------------


def test_text_limit_is_checked() -> None:
    assert check_text(None) == ""
    assert check_text("x" * limits.MAX_CHARS) == "x" * limits.MAX_CHARS
    with pytest.raises(NmtError, match="limit is 2,000"):
        check_text("x" * (limits.MAX_CHARS + 1))
    with pytest.raises(NmtError, match="string"):
        check_text(["a list"])


def test_decoding_settings_are_checked() -> None:
    assert check_decoding("4", 0.5, 2.0) == check_decoding(4, "0.5", 2)
    # A beam of 2 holds two hypotheses at most; asking for five shows those two.
    assert check_decoding(2, 1.0, 5).nbest == 2
    for beam in (0, 11, 2.5, True, None, "wide", float("nan")):
        with pytest.raises(NmtError, match="Beam size"):
            check_decoding(beam, 1.0)
    for penalty in (-0.1, 2.1, float("inf"), "long"):
        with pytest.raises(NmtError, match="Length penalty"):
            check_decoding(5, penalty)
    with pytest.raises(NmtError, match="number of translations"):
        check_decoding(5, 1.0, limits.MAX_NBEST + 1)


# -- uploaded files -------------------------------------------------------------------------------


def test_upload_lines_utf8_bom_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes("\ufeffPremi\u00e8re ligne\r\n\nthird\n".encode())
    assert read_lines(path) == ["Premi\u00e8re ligne", "", "third"]


def test_upload_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("ok\nstill ok\ncaf\u00e9 au lait\n".encode("latin-1"))
    with pytest.raises(NmtError, match=r"latin1\.txt is not UTF-8 text: line 3, byte 4 \(0xe9\)"):
        read_lines(path)
    path.write_bytes(b"text\n\x00\x01binary")
    with pytest.raises(NmtError, match="binary file .* line 2"):
        read_lines(path)


def test_upload_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.txt"
    path.write_text("a\n" * 11, encoding="utf-8")
    monkeypatch.setattr(limits, "MAX_FILE_LINES", 10)
    with pytest.raises(NmtError, match="11 lines; the limit is 10"):
        read_lines(path)
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", 20)
    with pytest.raises(NmtError, match="big.txt is 22 bytes; the limit is 20 bytes"):
        read_lines(path)
    path.write_text("short\n" + "x" * (limits.MAX_CHARS + 1) + "\n", encoding="utf-8")
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", 10_000)
    with pytest.raises(NmtError, match="Line 2 of big.txt is 2,001 characters"):
        read_lines(path)


def test_output_files(tmp_path: Path) -> None:
    assert output_name("notes.en.txt", "fr") == "notes.en.fr.txt"
    assert output_name("../../x y;.txt", "f/r") == "x_y_.f_r.txt"
    first = write_lines(tmp_path, "a.fr.txt", ["un", "", "deux"])
    second = write_lines(tmp_path, "a.fr.txt", ["trois"])
    assert first != second and first.parent.parent == tmp_path
    assert first.read_text(encoding="utf-8") == "un\n\ndeux\n"


# -- the model catalog ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def translator(tiny_model: Path):
    from nmt.translator import Translator

    return Translator.load(tiny_model)


@pytest.fixture(scope="module")
def short_translator(tiny_model_short: Path):
    from nmt.translator import Translator

    return Translator.load(tiny_model_short)


def test_catalog_keys_labels_and_refusals(translator, short_translator) -> None:
    catalog = ModelCatalog([translator, short_translator, translator])
    keys = [key for _, key in catalog.choices()]
    assert keys == [translator.name, "tiny-short", f"{translator.name}-2"]
    assert catalog.default_key == translator.name
    label = dict((k, v) for v, k in catalog.choices())["tiny-short"]
    assert label == "tiny-short \u00b7 en \u2192 fr \u00b7 dev BLEU 1.50"
    assert catalog.get("tiny-short") is short_translator
    # Only offered keys reach a model: a path is just an unknown name.
    for bad in ("/etc", str(Path(short_translator.model_dir)), None, 3):
        with pytest.raises(NmtError, match="Unknown model .* offers: "):
            catalog.get(bad)
    assert score_summary({"dev_bleu": 12.345, "dev_ppl": 9, "note": "x"}) == (
        "dev BLEU 12.35 \u00b7 dev perplexity 9.00"
    )


def test_load_catalog_from_dirs(tiny_model, tiny_model_short, tmp_path: Path, monkeypatch) -> None:
    import nmt.translator

    models = tmp_path / "models"
    models.mkdir()
    (models / "broken").mkdir()
    (models / "broken" / "nmt.json").write_text("{}")
    (models / "not-a-model").mkdir()
    os.symlink(tiny_model_short, models / "short")
    monkeypatch.setattr(nmt.translator, "BUNDLED_MODEL", tmp_path / "no-bundled-model")
    warnings: list[str] = []
    catalog = load_catalog([tiny_model, tiny_model], models, bundled=True, warn=warnings.append)
    # The named model first, each directory once; broken entries skipped, not fatal.
    assert [e.translator.model_dir for e in catalog.entries] == [tiny_model, models / "short"]
    assert any("skipping" in w and "broken" in w for w in warnings)
    assert any("not offering the bundled model" in w for w in warnings)
    with pytest.raises(NmtError, match="bundled model is missing"):
        load_catalog([], bundled=True)
    # The bundled model comes last, and only once even when also named.
    monkeypatch.setattr(nmt.translator, "BUNDLED_MODEL", tiny_model_short)
    catalog = load_catalog([tiny_model, tiny_model_short], bundled=True)
    assert [e.translator.model_dir for e in catalog.entries] == [tiny_model, tiny_model_short]
    with pytest.raises(NmtError, match="does not exist"):
        load_catalog([tmp_path / "missing"], bundled=False)
    with pytest.raises(NmtError, match="no model directories"):
        load_catalog([], tmp_path / "models" / "not-a-model", bundled=False)


def test_file_translation_reports_progress_by_chunk(translator, tmp_path: Path, monkeypatch) -> None:
    from nmt.ui.handlers import Handlers

    monkeypatch.setattr(limits, "FILE_CHUNK_LINES", 2)
    lines = [SENTENCE, "", "And God said.", "Let there be light.", "Amen."]
    upload = tmp_path / "five.txt"
    upload.write_text("\n".join(lines), encoding="utf-8")
    (tmp_path / "out").mkdir()
    handlers = Handlers(ModelCatalog([translator]), tmp_path / "out")
    seen: list[tuple[int, int]] = []
    path, summary = handlers.translate_file(
        str(upload), 1, 1.0, translator.name, progress=lambda done, **_: seen.append(done)
    )
    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert Path(path).read_text(encoding="utf-8").splitlines() == translator.translate(lines, beam=1)
    assert Path(path).name == "five.fr.txt" and "5 lines" in summary


# -- live mode: one stream per session, a search per new word -------------------------------------


def test_live_words_and_rendering() -> None:
    from nmt.streaming import Update
    from nmt.ui.live import complete_words, render

    assert complete_words("In the beg") == "In the "
    assert complete_words("In the ") == "In the "
    assert complete_words("In") == complete_words("") == ""
    page = render(Update(" Au <b>", " ${x} & {{y}}", 0, 2))
    assert '<span class="committed">Au &lt;b&gt;</span>' in page
    assert '<span class="tentative"' in page and "&#36;&#123;x&#125; &amp;" in page
    assert "<b>" not in page and "${" not in page and "{{" not in page
    assert 'data-state="typing"' in page and 'data-words="2"' in page
    final = render(Update("Au commencement.", "", 0, 3, final=True))
    assert 'data-state="final"' in final and "tentative" not in final
    assert render(None) == render(Update("", "", 0, 0)) == ""


def test_live_handler_searches_once_per_word_and_ends_offline(
    translator, tmp_path, monkeypatch
) -> None:
    from nmt.streaming import Stream
    from nmt.ui.handlers import Handlers
    from nmt.ui.live import LiveSession, render

    handlers = Handlers(ModelCatalog([translator]), tmp_path)
    searches: list[int] = []
    search = translator.search

    def counted(*args, **kwargs):
        searches.append(1)
        return search(*args, **kwargs)

    monkeypatch.setattr(translator, "search", counted)
    session, pages = None, []
    for end in range(1, len(SENTENCE) + 1):  # key by key, as the page sends it
        page, session = handlers.live(SENTENCE[:end], 3, 1.0, translator.name, session)
        pages.append(page)
    assert isinstance(session, LiveSession)
    words = SENTENCE.split()
    assert len(searches) == len(words) - 1  # the last word has no space after it yet
    page, session = handlers.live_final(SENTENCE, 3, 1.0, translator.name, session)
    assert len(searches) == len(words)  # one more: the final translation
    # A late or repeated event for the finished text recomputes nothing.
    assert handlers.live_final(SENTENCE, 3, 1.0, translator.name, session)[0] == page
    assert handlers.live(SENTENCE, 3, 1.0, translator.name, session)[0] == page
    assert len(searches) == len(words)

    expected = translator.translate([SENTENCE], beam=3, length_penalty=1.0)[0]
    assert 'data-state="final"' in page and html.escape(expected, quote=True) in page
    # While typing, the page showed what a stream fed word by word shows, tail marked.
    stream = Stream(translator, options=translator.resolve(beam=3, length_penalty=1.0))
    for word in words[:-1]:
        update = stream.push(word + " ")
    assert pages[-1] == render(update)
    assert '<span class="tentative"' in "".join(pages)


def test_live_restarts_on_an_edit_or_new_settings(translator, short_translator, tmp_path) -> None:
    from nmt.ui.handlers import Handlers

    handlers = Handlers(ModelCatalog([translator, short_translator]), tmp_path)

    def fresh(text: str, beam: int = 3, model: str = translator.name) -> str:
        return handlers.live(text, beam, 1.0, model)[0]

    session = None
    for text in ("In the ", "In the beginning ", "In the beginning God "):
        page, session = handlers.live(text, 3, 1.0, translator.name, session)
    # An earlier word changed: the session starts again and shows what a new one shows.
    edited = "In a beginning God "
    assert handlers.live(edited, 3, 1.0, translator.name, session)[0] == fresh(edited)
    assert handlers.live(edited, 1, 1.0, translator.name, session)[0] == fresh(edited, beam=1)
    assert handlers.live(edited, 1, 1.0, "tiny-short", session)[0] == fresh(edited, 1, "tiny-short")
    # Blank text shows nothing; bad settings are refused as for /translate.
    assert handlers.live("   ", 3, 1.0, translator.name, session)[0] == ""
    with pytest.raises(gr.Error, match="Beam size"):
        handlers.live(SENTENCE, 0, 1.0, translator.name, session)
    with pytest.raises(gr.Error, match="limit is 2,000"):
        handlers.live_final("a " * 1001, 3, 1.0, translator.name, session)


# -- CLI arguments --------------------------------------------------------------------------------


def test_cli_defaults_are_local_only() -> None:
    from nmt.cli import ui as cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args([])
    assert (args.model, args.models_dir, args.bundled) == ([], None, True)
    assert (args.host, args.port) == ("127.0.0.1", 7860)
    args = parser.parse_args(["--model", "a", "--model", "b", "--no-bundled"])
    assert (args.model, args.bundled) == ([Path("a"), Path("b")], False)
    with pytest.raises(SystemExit):
        parser.parse_args(["--port", "70000"])
    with pytest.raises(NmtError, match="no model to serve"):
        cli.run(parser.parse_args(["--no-bundled"]))


# -- the served app, endpoint by endpoint ------------------------------------------------------


@pytest.fixture(scope="module")
def served(tiny_model, tiny_model_short):
    with serve([tiny_model, tiny_model_short]) as (demo, url):
        yield demo, url, client(url)


def test_translate_endpoint_matches_translator(served, translator) -> None:
    _, _, api = served
    text, table, page, picker = api.predict(SENTENCE, 3, 1.0, 1, api_name="/translate")
    assert text == translator.translate([SENTENCE], beam=3)[0]
    assert table["data"] == [[1, text, pytest.approx(table["data"][0][2])]]
    assert picker["choices"] == [["#1", 1]] and picker["value"] == 1

    best = translator.translate_detailed(SENTENCE, beam=3)[0]
    assert _cells(page) == len(best.src_pieces) * len(best.tgt_pieces)
    for piece in best.src_pieces + best.tgt_pieces:
        if not set("${}") & set(piece):  # those characters are written as references
            assert html.escape(piece) in page


def test_translate_nbest_and_length_penalty(served, translator) -> None:
    _, _, api = served
    text, table, _, picker = api.predict(
        text=SENTENCE, beam=4, length_penalty=0.5, nbest=3, api_name="/translate"
    )
    expected = translator.translate_detailed(SENTENCE, beam=4, length_penalty=0.5, nbest=3)
    assert [row[1] for row in table["data"]] == [h.text for h in expected]
    assert [row[0] for row in table["data"]] == [1, 2, 3]
    assert [row[2] for row in table["data"]] == [pytest.approx(h.score, abs=1e-3) for h in expected]
    assert text == expected[0].text == translator.translate([SENTENCE], beam=4, length_penalty=0.5)[0]
    assert [value for _, value in picker["choices"]] == [1, 2, 3]


def test_show_attention_picks_a_hypothesis_of_this_session(served, translator) -> None:
    _, url, api = served
    _, _, best_page, _ = api.predict(SENTENCE, 3, 1.0, 3, api_name="/translate")
    second = translator.translate_detailed(SENTENCE, beam=3, nbest=3)[1]
    page = api.predict(2, api_name="/show_attention")
    assert "hypothesis #2" in page
    assert _cells(page) == len(second.src_pieces) * len(second.tgt_pieces)
    assert api.predict(1, api_name="/show_attention") == best_page
    # Another session has translated nothing, so has no hypothesis to pick.
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError):
        client(url).predict(2, api_name="/show_attention")


def test_defaults_come_from_the_first_model(served, translator) -> None:
    _, _, api = served
    text, table, _, _ = api.predict(SENTENCE, api_name="/translate")
    assert text == translator.translate([SENTENCE])[0]  # the model's own beam and penalty
    assert len(table["data"]) == min(limits.DEFAULT_NBEST, translator.config.decoding.beam)


def test_empty_input_gives_empty_outputs(served) -> None:
    _, _, api = served
    for blank in ("", "  \n\t "):
        text, table, page, _ = api.predict(blank, 5, api_name="/translate")
        assert (text, table["data"], page) == ("", [], "")


def test_overlong_input_and_bad_settings_are_refused(served) -> None:
    from gradio_client.exceptions import AppError

    _, _, api = served
    with pytest.raises(AppError, match="limit is 2,000"):
        api.predict("a" * 2001, 5, api_name="/translate")
    # Exactly at the limit is accepted (mostly spaces, to keep the decode short).
    text = api.predict(" " * 1999 + "a", 1, 1.0, 1, api_name="/translate")[0]
    assert text == api.predict("a", 1, 1.0, 1, api_name="/translate")[0]
    with pytest.raises(AppError):
        api.predict(SENTENCE, 11, api_name="/translate")
    with pytest.raises(AppError):
        api.predict(SENTENCE, 5, 2.5, api_name="/translate")


def test_model_choice_is_a_key_never_a_path(served, tiny_model_short, short_translator, translator) -> None:
    from gradio_client.exceptions import AppError

    _, _, api = served
    text = api.predict(SENTENCE, 2, 1.0, 1, "tiny-short", api_name="/translate")[0]
    assert text == short_translator.translate([SENTENCE], beam=2)[0]
    assert text != translator.translate([SENTENCE], beam=2)[0]
    for bad in (str(tiny_model_short), "../tiny-short", "nope"):
        with pytest.raises(AppError, match="not in the list of choices"):
            api.predict(SENTENCE, 2, 1.0, 1, bad, api_name="/translate")


def test_select_model_describes_it_and_resets_the_page(served) -> None:
    _, _, api = served
    card, source, output, beam, penalty, table, page, picker, examples = api.predict(
        "tiny-short", api_name="/select_model"
    )
    assert examples["samples"] == [[e] for e in SHORT_EXAMPLES]  # its own, from its nmt.json
    assert "tiny-short" in card and "en \u2192 fr" in card and "dev BLEU 1.50" in card
    assert source["label"] == "Source (en)" and output["label"] == "Translation (fr)"
    assert output["value"] == "" and (table["data"], page, picker["choices"]) == ([], "", [])
    assert (beam, penalty) == (2, 1.0)  # tiny-short's own decoding settings


def test_live_endpoints_keep_a_stream_per_session(served, translator) -> None:
    _, url, api = served
    page = ""
    for end in range(1, len(SENTENCE)):
        page = api.predict(SENTENCE[:end], 3, 1.0, api_name="/live")
    assert 'data-state="typing"' in page and 'class="tentative"' in page
    final = api.predict(SENTENCE, 3, 1.0, api_name="/live_final")
    expected = api.predict(SENTENCE, 3, 1.0, 1, api_name="/translate")[0]
    assert 'data-state="final"' in final and html.escape(expected, quote=True) in final
    # Another session has its own stream and starts from its own text.
    assert 'data-words="2"' in client(url).predict("In the", 3, 1.0, api_name="/live_final")


def test_translate_file_round_trip(served, short_translator, tmp_path: Path) -> None:
    from gradio_client import handle_file

    _, _, api = served
    lines = [SENTENCE, "", "And God said, Let there be light."]
    upload = tmp_path / "genesis.txt"
    upload.write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = api.submit(handle_file(str(upload)), 2, 1.0, "tiny-short", api_name="/translate_file")
    result, summary = job.result(timeout=120)
    assert result["orig_name"] == "genesis.fr.txt"
    expected = short_translator.translate(lines, beam=2)
    assert fetch(result["url"]).decode("utf-8") == "".join(t + "\n" for t in expected)
    assert expected[1] == "" and "3 lines of genesis.txt" in summary


def test_translate_file_refusals(served, tmp_path: Path) -> None:
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    _, _, api = served
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("ok\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(AppError, match="latin1.txt is not UTF-8 text: line 2"):
        api.predict(handle_file(str(bad)), 2, 1.0, api_name="/translate_file")
    with pytest.raises(AppError, match="Choose a text file"):
        api.predict(None, 2, 1.0, api_name="/translate_file")
    # Over the size limit the upload itself is refused, before any handler runs.
    big = tmp_path / "big.txt"
    big.write_bytes(b"a\n" * (limits.MAX_UPLOAD_BYTES // 2 + 1))
    with pytest.raises(Exception, match="(?i)size|large"):
        api.predict(handle_file(str(big)), 2, 1.0, api_name="/translate_file")


def test_server_is_local_bounded_and_quiet(served, tiny_model_short) -> None:
    demo, url, _ = served
    assert url.startswith("http://127.0.0.1:") and demo.server_name == "127.0.0.1"
    assert not demo.share and demo.share_url is None
    assert demo.analytics_enabled is False
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert demo.max_file_size == limits.MAX_UPLOAD_BYTES
    assert demo._queue.max_size == limits.QUEUE_SIZE
    limits_by_api = {fn.api_name: fn.concurrency_limit for fn in demo.fns.values() if fn.api_name}
    assert limits_by_api["translate"] == limits.CONCURRENCY_LIMIT
    assert limits_by_api["translate_file"] == limits.FILE_CONCURRENCY_LIMIT
    # The page names its models by key, never by path.
    config = str(demo.get_config_file())
    assert "tiny-short" in config and str(tiny_model_short) not in config


# -- `python -m nmt ui` -------------------------------------------------------------------------


def _wait_until_serving(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"`nmt ui` exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    pytest.fail(f"`nmt ui` did not answer within {timeout:.0f}s:\n{log.read_text()}")


def test_cli_serves_the_models(tiny_model: Path, tiny_model_short: Path, translator, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "ui.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "nmt", "ui", "--no-bundled", "--model", str(tiny_model),
               "--models-dir", str(tiny_model_short.parent), "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_serving(url, proc, log, timeout=120)
        api = client(url)
        text, _, page, _ = api.predict(SENTENCE, 2, 1.0, 1, api_name="/translate")
        assert text == translator.translate([SENTENCE], beam=2)[0]
        assert "<table" in page
        assert "tiny-short" in api.predict("tiny-short", api_name="/select_model")[0]
        assert "Serving tiny-short" in log.read_text()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_cli_reports_a_bad_model_dir_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nmt", "ui", "--model", str(tmp_path / "missing")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "missing" in result.stderr
