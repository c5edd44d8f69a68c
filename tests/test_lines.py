"""One file, one line count: every reader of sentence-per-line text splits lines the same way.

The same tricky file (a BOM, CRLF and lone CR line ends, U+2028, NEL and a form feed inside
lines, an empty line, no final newline) goes through each way a user hands nmt a text file:
`nmt translate -i`, the web UI's file upload, `nmt evaluate --hyp/--ref` and a training corpus
(PREFIX.en / PREFIX.fr). Each must see the 6 lines an editor shows, where `str.splitlines`
would see 9 and a split on "\\n" alone 5.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from nmt import Translator
from nmt.cli import main
from nmt.errors import NmtError
from nmt.textio import read_lines, split_lines

TRICKY = (
    "\ufeffIn the beginning God created the heaven and the earth.\r\n"  # BOM, CRLF
    "And the earth was without form\u2028and void.\r"  # U+2028 inside, a lone CR (old Mac)
    "And God said, Let there be light:\x0cand there was light.\n"  # form feed inside
    "\r\n"  # an empty line
    "And God saw the light,\x85that it was good.\n"  # NEL inside
    "And the evening and the morning were the first day."  # no final newline
)
LINES = 6


@pytest.fixture(scope="module")
def tricky(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lines") / "tricky.en"
    path.write_bytes(TRICKY.encode("utf-8"))
    return path


@pytest.fixture(scope="module")
def bundled() -> Translator:
    return Translator.load()


def run_nmt(*argv: str) -> str:
    """`nmt ...` in-process, as the console script runs it; returns stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(argv)) == 0
    return out.getvalue()


def test_the_file_is_tricky(tricky: Path) -> None:
    text = tricky.read_bytes().decode("utf-8")
    assert len(text.splitlines()) == 9 and len(text.split("\n")) == 5
    assert len(read_lines(tricky)) == len(split_lines(text)) == LINES
    assert read_lines(tricky)[0].startswith("In the")  # the BOM is not text


def test_nmt_translate_gives_one_output_line_per_input_line(tricky: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.fr"
    run_nmt("translate", "-k", "1", "-i", str(tricky), "-o", str(out))
    assert len(out.read_bytes().decode("utf-8").split("\n")[:-1]) == LINES


def test_ui_upload_translates_the_same_lines(tricky: Path, tmp_path: Path,
                                             bundled: Translator) -> None:
    from nmt.ui.handlers import Handlers
    from nmt.ui.models import ModelCatalog

    handlers = Handlers(ModelCatalog([bundled]), tmp_path)
    path, summary = handlers.translate_file(
        str(tricky), 1, 1.0, bundled.name, progress=lambda *a, **k: None
    )
    assert f"{LINES} lines" in summary
    assert len(Path(path).read_bytes().decode("utf-8").split("\n")[:-1]) == LINES


def test_nmt_evaluate_scores_the_same_lines(tricky: Path) -> None:
    report = json.loads(run_nmt("evaluate", "--hyp", str(tricky), "--ref", str(tricky), "--json"))
    assert report["n_sentences"] == LINES
    assert report["metrics"][0]["score"] == pytest.approx(100)  # line i still pairs with line i


def test_corpus_loader_reads_the_same_lines(tricky: Path) -> None:
    from nmt.data.corpus import load_parallel

    (tricky.parent / "tricky.fr").write_bytes(tricky.read_bytes())
    data = load_parallel(str(tricky.parent / "tricky"), "en", "fr")
    assert len(data) == LINES and data.src == read_lines(tricky)


def test_a_bad_byte_is_named_by_the_same_line_count(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.en"
    bad.write_bytes(b"one\rtwo\r\nthree\xe2\x80\xa8still three\ncaf\xe9\n")
    with pytest.raises(NmtError, match=r"latin1\.en: line 4 is not valid UTF-8 \(byte 0xe9 at byte 4"):
        read_lines(bad)
