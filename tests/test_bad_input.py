"""Bad input, one small test per case of issue #9 not covered elsewhere, on the real bundled model.

Whatever the text, translation gives one string per input string (the Python API) and one line
per input line (``nmt translate``); every user mistake ends in one ``error:`` line on stderr, a
non-zero exit and no traceback. The 100,000-character line, non-UTF-8 corpora, mismatched files,
an empty corpus and broken checkpoints are tested in test_cli.py and test_data.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nmt import NmtError, Translator

WEPT = "Jesus wept."


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator.load(None)  # the bundled en->fr model: real weights, no training needed


def nmt(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nmt", *args], input=stdin, capture_output=True,
                          timeout=300)


def one_string_each(translator: Translator, texts: list[str]) -> list[str]:
    """Translate ``texts`` between two ordinary sentences, greedy and beam, and check the shape."""
    batch = [WEPT, *texts, WEPT]
    for beam in (1, 3):
        out = translator.translate(batch, beam=beam)
        assert len(out) == len(batch) and all(isinstance(o, str) for o in out)
        assert out[0] and out[-1]  # the neighbours still translate
    for text in texts:  # the detailed API (the web UI's) copes too
        for hyp in translator.translate_detailed(text, beam=2, nbest=2):
            assert len(hyp.attention) == len(hyp.tgt_pieces)
    return out[1:-1]


def test_empty_string(translator):
    assert one_string_each(translator, [""]) == [""]
    assert translator.translate([]) == []
    assert translator.translate_detailed("") == []


def test_whitespace_only(translator):
    blanks = [" ", "\t\t", " \u3000\u00a0 ", "\u2003\u2009"]
    assert one_string_each(translator, blanks) == [""] * len(blanks)


def test_control_characters(translator):
    texts = ["\x00\x07 And God said\x1b[31m", "\x7f\x08\x0b\x0c", "Let there be light\u200b\u200d\ufeff"]
    one_string_each(translator, texts)


def test_emoji(translator):
    one_string_each(translator, ["👍🏽 Jesus wept 😢🙏", "👨‍👩‍👧‍👦", "🇫🇷🏳️‍🌈" * 4])


def test_right_to_left_scripts(translator):
    texts = ["في البدء كان الكلمة", "בְּרֵאשִׁית בָּרָא אֱלֹהִים", "\u202eAnd God said\u202c שָׁלוֹם"]
    one_string_each(translator, texts)


def test_unseen_scripts(translator):
    texts = ["დასაწყისში იყო სიტყვა", "𒀭𒂗𒆤 𒈗", "ᚠᚢᚦᚨᚱᚲ", "𓀀𓁐𓂀"]
    one_string_each(translator, texts)


LINES = ["In the beginning God created the heaven and the earth.", "", "   ",
         "\x00\x07 And God said\x1b[31m \x0c\x1c\x85\u2028", "👍🏽 Jesus wept 😢",
         "في البدء كان الكلمة", "בְּרֵאשִׁית בָּרָא", "დასაწყისში 𒀭𒂗𒆤", "The Lord is my shepherd."]


def test_cli_file_with_mixed_line_endings_gives_one_line_per_line(translator, tmp_path):
    endings = ["\r\n", "\n", "\r"]
    data = "".join(line + endings[i % 3] for i, line in enumerate(LINES)).encode("utf-8")
    src = tmp_path / "mixed.txt"
    src.write_bytes(b"\xef\xbb\xbf" + data)  # with a BOM, as Windows editors write
    proc = nmt("translate", "-k", "1", "-i", str(src), "-o", str(tmp_path / "out.txt"))
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr
    out = (tmp_path / "out.txt").read_bytes().decode("utf-8").split("\n")
    assert out[-1] == "" and len(out[:-1]) == len(LINES)  # form feeds, U+2028 etc. split nothing
    assert out[:-1] == [re.sub(r"\r\n|\r|\n", " ", x) for x in translator.translate(LINES, beam=1)]
    assert out[1] == out[2] == "" and out[0] and out[-2]
    stdin = nmt("translate", "-k", "1", stdin=data[:-1])  # stdin, no final line end
    assert stdin.returncode == 0 and stdin.stdout.decode("utf-8").split("\n")[:-1] == out[:-1]


def _mistake(tmp_path: Path, kind: str) -> list[str]:
    good = tmp_path / "in.txt"
    good.write_text("Jesus wept.\n", encoding="utf-8")
    if kind == "missing input file":
        return ["translate", "-i", str(tmp_path / "nope.txt")]
    if kind == "non-UTF-8 input":
        (tmp_path / "latin1.txt").write_bytes("ok\rok\r\ncaf\u00e9\n".encode("latin-1"))
        return ["translate", "-i", str(tmp_path / "latin1.txt")]
    if kind == "beam 0":
        return ["translate", "-k", "0", "-i", str(good)]
    if kind == "missing model directory":
        return ["translate", "-m", str(tmp_path / "no-model"), "-i", str(good)]
    if kind == "incomplete model directory":
        (tmp_path / "half").mkdir()
        (tmp_path / "half" / "config.yaml").write_text("model: {}\n", encoding="utf-8")
        return ["translate", "-m", str(tmp_path / "half"), "-i", str(good)]
    if kind == "unknown quantization":
        return ["translate", "--quantize", "int4", "-i", str(good)]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind,message", [
    ("missing input file", "nope.txt' not found"),
    ("non-UTF-8 input", "latin1.txt: line 3 is not valid UTF-8"),
    ("beam 0", "--beam must be at least 1"),
    ("missing model directory", "does not exist (train one with `nmt train`)"),
    ("incomplete model directory", "missing model.safetensors, nmt.json"),
    ("unknown quantization", "invalid choice: 'int4'"),
])
def test_cli_user_mistakes_are_one_message_without_traceback(tmp_path, kind, message):
    proc = nmt(*_mistake(tmp_path, kind))
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 2 and proc.stdout == b"", (kind, err)
    assert message in err and "Traceback" not in err, (kind, err)
    assert err.count("error:") == 1 and err.rstrip("\n").splitlines()[-1].startswith("nmt translate: error:")


def test_api_refuses_a_bare_string(translator):
    with pytest.raises(NmtError, match=r"list of strings; wrap a single sentence in \[ \]"):
        translator.translate(WEPT)
