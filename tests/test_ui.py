"""The web UI, exercised the way users reach it: a real server on localhost, driven over HTTP.

One in-process server is shared by the module (starting Gradio costs seconds); the CLI
test starts its own process because that is the path `nmt ui` really takes.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from nmt.ui.heatmap import attention_heatmap

SENTENCE = "In the beginning God created the heaven and the earth."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client(url: str):
    from gradio_client import Client

    # analytics_enabled must be passed explicitly: the client ignores the env var when True.
    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


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


# -- CLI arguments --------------------------------------------------------------------------------


def test_cli_defaults_are_local_only() -> None:
    from nmt.ui import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args([])
    assert (args.model, args.host, args.port) == (None, "127.0.0.1", 7860)
    with pytest.raises(SystemExit):
        parser.parse_args(["--port", "70000"])


# -- the served app -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def translator(tiny_model: Path):
    from nmt.translator import Translator

    return Translator.load(tiny_model)


@pytest.fixture(scope="module")
def served(translator):
    from nmt.ui.app import launch

    port = _free_port()
    demo = launch(translator, host="127.0.0.1", port=port, block=False)
    try:
        yield demo, _client(f"http://127.0.0.1:{port}/")
    finally:
        demo.close()


def test_translate_endpoint_matches_translator(served, translator) -> None:
    _, client = served
    text, page = client.predict(SENTENCE, 3, api_name="/translate")
    assert text == translator.translate([SENTENCE], beam=3)[0]

    best = translator.translate_detailed(SENTENCE, beam=3)[0]
    assert _cells(page) == len(best.src_pieces) * len(best.tgt_pieces)
    for piece in best.src_pieces + best.tgt_pieces:
        if not set("${}") & set(piece):  # those characters are written as references
            assert html.escape(piece) in page


def test_beam_defaults_when_omitted(served, translator) -> None:
    _, client = served
    text, _ = client.predict(SENTENCE, api_name="/translate")
    assert text == translator.translate([SENTENCE], beam=5)[0]


def test_empty_input_gives_empty_outputs(served) -> None:
    _, client = served
    assert tuple(client.predict("", 5, api_name="/translate")) == ("", "")
    assert tuple(client.predict("  \n\t ", 5, api_name="/translate")) == ("", "")


def test_overlong_input_is_refused_with_a_message(served) -> None:
    from gradio_client.exceptions import AppError

    _, client = served
    with pytest.raises(AppError, match="limit is 2,000"):
        client.predict("a" * 2001, 5, api_name="/translate")
    # Exactly at the limit is accepted (mostly spaces, to keep the decode short).
    text, _ = client.predict(" " * 1999 + "a", 1, api_name="/translate")
    assert text == client.predict("a", 1, api_name="/translate")[0]


def test_header_names_model_and_languages(served, translator) -> None:
    demo, _ = served
    config = str(demo.get_config_file())
    assert html.escape(translator.name) in config
    assert f"{translator.src_lang} \u2192 {translator.tgt_lang}" in config


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


def test_cli_serves_the_model(tiny_model: Path, translator, tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "ui.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nmt", "ui", "--model", str(tiny_model), "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_serving(url, proc, log, timeout=120)
        text, page = _client(url).predict(SENTENCE, 2, api_name="/translate")
        assert text == translator.translate([SENTENCE], beam=2)[0]
        assert "<table" in page
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
