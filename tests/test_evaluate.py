"""`nmt evaluate` must print exactly the numbers the `sacrebleu` command line prints.

Every score test runs the real sacrebleu CLI on the same files and compares numbers to four
decimals, so a change in how files are read (line endings, Unicode line separators, trailing
whitespace) or in metric settings shows up as a failure, not as a silently shifted score.
Sample files are described in tests/data/eval/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from nmt.errors import NmtError
from nmt.cli import evaluate as cli
from nmt.evaluation.io import read_lines, write_lines
from nmt.evaluation.metrics import Score, check_lengths, score

REPO = Path(__file__).resolve().parents[1]
HAS_MAIN = importlib.util.find_spec("nmt.__main__") is not None
needs_main = pytest.mark.skipif(not HAS_MAIN, reason="nmt/__main__.py is not written yet")
ALL_METRICS = ["bleu", "chrf", "ter"]


# ----------------------------------------------------------------------------- helpers


def evaluate(argv: list[str | Path]) -> str:
    """Run `nmt evaluate` in-process (parse, run) and return what it printed."""
    parser = argparse.ArgumentParser(prog="nmt evaluate")
    cli.add_arguments(parser)
    args = parser.parse_args([str(a) for a in argv])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.run(args) == 0
    return out.getvalue()


def run_nmt(argv: list[str | Path]) -> subprocess.CompletedProcess[str]:
    """Run `python -m nmt ...` the way a user would."""
    return subprocess.run(
        [sys.executable, "-m", "nmt", *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def sacrebleu_cli(
    hyp: Path, refs: list[Path], metrics: list[str], width: int = 4
) -> dict[str, dict]:
    """Scores from the real `sacrebleu` command, by metric name, at ``width`` decimals."""
    proc = subprocess.run(
        [sys.executable, "-m", "sacrebleu", *map(str, refs), "-i", str(hyp)]
        + ["-m", *metrics, "-w", str(width), "-f", "json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    parsed = json.loads(proc.stdout)
    results = parsed if isinstance(parsed, list) else [parsed]
    return {r["name"]: r for r in results}


def assert_same_as_sacrebleu(report: dict, hyp: Path, refs: list[Path], metrics: list[str]):
    expected = sacrebleu_cli(hyp, refs, metrics)
    got = {m["name"]: m for m in report["metrics"]}
    assert sorted(got) == sorted(expected)
    for name, theirs in expected.items():
        ours = got[name]
        assert f"{ours['score']:.4f}" == f"{theirs['score']:.4f}", name
        assert ours["signature"] == theirs["signature"]
        verbose = f" {theirs['verbose_score']}" if "verbose_score" in theirs else ""
        assert ours["text"] == f"{name} = {ours['score']:.2f}{verbose}"


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


# ----------------------------------------------------------------------------- cases

Case = Callable[[Path, Path], tuple[Path, list[Path]]]


def one_reference(data: Path, tmp: Path) -> tuple[Path, list[Path]]:
    return data / "eval" / "hyp.fr", [data / "bible-sample.dev.fr"]


def two_references(data: Path, tmp: Path) -> tuple[Path, list[Path]]:
    return data / "eval" / "hyp.fr", [data / "bible-sample.dev.fr", data / "eval" / "ref2.fr"]


def unicode_crlf(data: Path, tmp: Path) -> tuple[Path, list[Path]]:
    # The hypothesis file has \r\n endings; both contain U+2028, U+0085, form feed, NBSP.
    return without_stray_cr(data / "eval" / "unicode.hyp", tmp), [data / "eval" / "unicode.ref"]


def without_stray_cr(path: Path, tmp: Path) -> Path:
    """unicode.hyp less its stray \r before one line end: nmt's line rule (nmt.textio) reads
    that \r as a line end of its own, sacrebleu as part of the line (see test_stray_cr...)."""
    return write_bytes(tmp / path.name, path.read_bytes().replace(b"\r\r\n", b"\r\n"))


def empty_hypothesis_line(data: Path, tmp: Path) -> tuple[Path, list[Path]]:
    lines = lines_of(data / "eval" / "hyp.fr")
    lines[9] = ""
    lines[30] = "   "  # whitespace only: sacrebleu reads it as empty too
    hyp = tmp / "hyp-empty-line.fr"
    hyp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return hyp, [data / "bible-sample.dev.fr"]


def single_sentence(data: Path, tmp: Path) -> tuple[Path, list[Path]]:
    # No final newline on either file.
    hyp = write_bytes(
        tmp / "one.hyp", "Heureux ceux qui ont faim, car ils seront rassasiés!".encode()
    )
    ref = write_bytes(
        tmp / "one.ref",
        "Heureux ceux qui ont faim et soif de la justice, car ils seront rassasiés!".encode(),
    )
    return hyp, [ref]


CASES: list[Case] = [
    one_reference,
    two_references,
    unicode_crlf,
    empty_hypothesis_line,
    single_sentence,
]


# ----------------------------------------------------------------------------- scores


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_scores_equal_sacrebleu_cli(case: Case, data_dir: Path, tmp_path: Path) -> None:
    hyp, refs = case(data_dir, tmp_path)
    argv: list[str | Path] = ["--hyp", hyp, "--metrics", *ALL_METRICS, "--json"]
    for ref in refs:
        argv += ["--ref", ref]
    report = json.loads(evaluate(argv))
    assert report["n_sentences"] == len(read_lines(hyp))
    assert report["hyp"] == str(hyp)
    assert report["refs"] == [str(r) for r in refs]
    assert_same_as_sacrebleu(report, hyp, refs, ALL_METRICS)


def test_text_output_is_score_line_then_signature(data_dir: Path) -> None:
    hyp, ref = data_dir / "eval" / "hyp.fr", data_dir / "bible-sample.dev.fr"
    out = evaluate(["--hyp", hyp, "--ref", ref]).splitlines()
    assert len(out) == 4  # default metrics: bleu, chrf
    assert out[0].startswith("BLEU = ") and out[2].startswith("chrF2 = ")
    assert out[1].startswith("  signature: nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|")
    assert out[3].startswith("  signature: nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|")
    expected = sacrebleu_cli(hyp, [ref], ["bleu", "chrf"], width=2)
    assert out[0] == f"BLEU = {expected['BLEU']['score']:.2f} {expected['BLEU']['verbose_score']}"
    assert out[2] == f"chrF2 = {expected['chrF2']['score']:.2f}"


def test_ref_accepts_several_files_after_one_flag(data_dir: Path) -> None:
    hyp = data_dir / "eval" / "hyp.fr"
    refs = [data_dir / "bible-sample.dev.fr", data_dir / "eval" / "ref2.fr"]
    one_flag = json.loads(evaluate(["--hyp", hyp, "--ref", *refs, "--json"]))
    two_flags = json.loads(evaluate(["--hyp", hyp, "--ref", refs[0], "--ref", refs[1], "--json"]))
    assert one_flag == two_flags
    assert one_flag["metrics"][0]["signature"].startswith("nrefs:2|")


def test_score_api_matches_sacrebleu_classes() -> None:
    import sacrebleu.metrics

    hyps = ["the cat sat on the mat", "a dog barked"]
    refs = [["the cat sat on a mat", "the dog barked"], ["a cat sat on the mat", "a dog barks"]]
    results = score(hyps, refs, ["BLEU", "chrf", "ter", "bleu"])  # case-insensitive, deduped
    assert [r.name for r in results] == ["BLEU", "chrF2", "TER"]
    metrics = [sacrebleu.metrics.BLEU(), sacrebleu.metrics.CHRF(), sacrebleu.metrics.TER()]
    for result, metric in zip(results, metrics):
        expected = metric.corpus_score(hyps, refs)
        assert isinstance(result, Score)
        assert result.score == expected.score
        assert result.text == expected.format()
        assert result.signature == metric.get_signature().format()


# ----------------------------------------------------------------------------- reading


def test_read_lines_reads_like_sacrebleu(data_dir: Path, tmp_path: Path) -> None:
    from sacrebleu.utils import smart_open

    plain = without_stray_cr(data_dir / "eval" / "unicode.hyp", tmp_path)
    gz = tmp_path / "unicode.hyp.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, data_dir / "eval" / "unicode.ref", gz):
        with smart_open(str(path)) as f:
            expected = [line.rstrip() for line in f]
        assert read_lines(path) == expected
    lines = read_lines(plain)
    assert len(lines) == 12
    assert "\u2028" in lines[8] and "\x85" in lines[9] and "\x0c" in lines[9]
    assert not any(line.endswith(("\r", "\t", " ")) for line in lines)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", []),
        (b"\n", [""]),
        (b"a\nb", ["a", "b"]),
        (b"a\r\nb\r\n", ["a", "b"]),
        (b"  lead kept\t \n\n", ["  lead kept", ""]),
        (b"mid\rline\n", ["mid", "line"]),
        (b"\xef\xbb\xbfbom\rx\x0cy\xe2\x80\xa8z", ["bom", "x\x0cy\u2028z"]),
    ],
)
def test_read_lines_endings(data: bytes, expected: list[str], tmp_path: Path) -> None:
    assert read_lines(write_bytes(tmp_path / "f.txt", data)) == expected


def test_stray_cr_is_a_line_end_as_in_every_nmt_reader(data_dir: Path) -> None:
    # unicode.hyp's line 10 ends in \r\r\n: two line ends by nmt's one rule (so it has as
    # many lines here as for nmt translate), one for sacrebleu. 13 lines against 12 references
    # is then a clear error, never a silently shifted score.
    hyp, ref = data_dir / "eval" / "unicode.hyp", data_dir / "eval" / "unicode.ref"
    lines = read_lines(hyp)
    assert len(lines) == 13 and lines[10] == ""
    with pytest.raises(NmtError, match="13 lines"):
        evaluate(["--hyp", hyp, "--ref", ref])


def test_write_lines_refuses_overwrite_and_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    write_lines(path, ["é", " x"])
    assert read_lines(path) == ["é", " x"]
    with pytest.raises(NmtError, match="already exists.*--force"):
        write_lines(path, ["other"])
    write_lines(path, ["other"], force=True)
    assert read_lines(path) == ["other"]
    with pytest.raises(NmtError, match="line 2.*line break"):
        write_lines(tmp_path / "new.txt", ["ok", "bad\nline"])


# ----------------------------------------------------------------------------- errors


def test_line_count_mismatch_names_files_and_counts(data_dir: Path, tmp_path: Path) -> None:
    hyp = tmp_path / "short.hyp"
    hyp.write_text("\n".join(lines_of(data_dir / "eval" / "hyp.fr")[:59]) + "\n", encoding="utf-8")
    ref = data_dir / "bible-sample.dev.fr"
    with pytest.raises(NmtError) as err:
        evaluate(["--hyp", hyp, "--ref", ref])
    message = str(err.value)
    assert str(hyp) in message and str(ref) in message
    assert "59 lines" in message and "60 lines" in message


def test_mismatch_in_second_reference_names_that_file(data_dir: Path, tmp_path: Path) -> None:
    ref2 = tmp_path / "ref2-short.fr"
    kept = lines_of(data_dir / "eval" / "ref2.fr")[:-2]
    ref2.write_text("\n".join(kept) + "\n", encoding="utf-8")
    ref1 = data_dir / "bible-sample.dev.fr"
    with pytest.raises(NmtError, match=r"has 60 lines but reference .*ref2-short\.fr has 58 lines"):
        evaluate(["--hyp", data_dir / "eval" / "hyp.fr", "--ref", ref1, "--ref", ref2])


def test_non_utf8_file_names_file_and_line(data_dir: Path, tmp_path: Path) -> None:
    ref = write_bytes(tmp_path / "latin1.ref", "un\ndeux\nil était là\n".encode("latin-1"))
    hyp = write_bytes(tmp_path / "ok.hyp", "un\ndeux\nil était là\n".encode())
    with pytest.raises(NmtError) as err:
        evaluate(["--hyp", hyp, "--ref", ref])
    message = str(err.value)
    assert str(ref) in message and "line 3" in message and "iconv" in message
    assert "0xe9" in message


def test_missing_file(data_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.fr"
    with pytest.raises(NmtError, match=r"nope\.fr: no such file"):
        evaluate(["--hyp", data_dir / "eval" / "hyp.fr", "--ref", missing])
    with pytest.raises(NmtError, match=r"nope\.fr: no such file"):
        evaluate(["--hyp", missing, "--ref", data_dir / "bible-sample.dev.fr"])


def test_empty_hypotheses_are_refused(tmp_path: Path) -> None:
    empty = write_bytes(tmp_path / "empty.hyp", b"")
    with pytest.raises(NmtError, match=r"no hypotheses.*empty\.hyp is empty"):
        evaluate(["--hyp", empty, "--ref", empty])
    with pytest.raises(NmtError, match="no hypotheses"):
        score([], [[]])


def test_score_api_errors() -> None:
    with pytest.raises(NmtError, match=r"2 lines but reference stream 2 has 1 line\b"):
        score(["a", "b"], [["a", "b"], ["a"]])
    with pytest.raises(NmtError, match="unknown metric 'meteor'"):
        score(["a"], [["a"]], ["bleu", "meteor"])
    with pytest.raises(NmtError, match="no reference"):
        check_lengths(1, [])


def test_model_only_options_are_refused_with_hyp(data_dir: Path) -> None:
    base = ["--hyp", data_dir / "eval" / "hyp.fr", "--ref", data_dir / "bible-sample.dev.fr"]
    with pytest.raises(NmtError, match="--beam only applies with --model"):
        evaluate([*base, "--beam", "4"])
    with pytest.raises(NmtError, match="--hyp-out only applies with --model"):
        evaluate([*base, "--hyp-out", "x.txt"])


def test_hyp_out_is_not_overwritten_without_force(data_dir: Path, tmp_path: Path) -> None:
    # All checks happen before the model is loaded, so an empty model folder is enough here.
    existing = tmp_path / "hyp.out"
    existing.write_text("keep me\n", encoding="utf-8")
    argv = [
        "--model", tmp_path, "--src", data_dir / "bible-sample.dev.en",
        "--ref", data_dir / "bible-sample.dev.fr", "--hyp-out", existing,
    ]  # fmt: skip
    with pytest.raises(NmtError, match=r"hyp\.out already exists.*--force"):
        evaluate(argv)
    assert existing.read_text(encoding="utf-8") == "keep me\n"
    src_copy = tmp_path / "src.en"
    src_copy.write_bytes((data_dir / "bible-sample.dev.en").read_bytes())
    with pytest.raises(NmtError, match="same file as input"):
        evaluate([*argv[:2], "--src", src_copy, *argv[4:6], "--hyp-out", src_copy, "--force"])
    assert src_copy.read_bytes() == (data_dir / "bible-sample.dev.en").read_bytes()


def test_model_mode_checks_source_reference_alignment(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(NmtError, match=r"source .*bible-sample\.train\.en has 600 lines"):
        evaluate([
            "--model", tmp_path, "--src", data_dir / "bible-sample.train.en",
            "--ref", data_dir / "bible-sample.dev.fr",
        ])  # fmt: skip
    with pytest.raises(NmtError, match="needs --src"):
        evaluate(["--model", tmp_path, "--ref", data_dir / "bible-sample.dev.fr"])
    with pytest.raises(NmtError, match="no such model directory"):
        evaluate([
            "--model", tmp_path / "absent", "--src", data_dir / "bible-sample.dev.en",
            "--ref", data_dir / "bible-sample.dev.fr",
        ])  # fmt: skip


# ----------------------------------------------------------------------------- as a user


@needs_main
def test_command_line_matches_sacrebleu(data_dir: Path) -> None:
    hyp = data_dir / "eval" / "hyp.fr"
    refs = [data_dir / "bible-sample.dev.fr", data_dir / "eval" / "ref2.fr"]
    proc = run_nmt(["evaluate", "--hyp", hyp, "--ref", *refs, "--metrics", *ALL_METRICS, "--json"])
    assert proc.returncode == 0, proc.stderr
    assert_same_as_sacrebleu(json.loads(proc.stdout), hyp, refs, ALL_METRICS)


@needs_main
def test_command_line_error_has_no_traceback(data_dir: Path, tmp_path: Path) -> None:
    ref = data_dir / "bible-sample.dev.fr"
    proc = run_nmt(["evaluate", "--hyp", tmp_path / "nope.fr", "--ref", ref])
    assert proc.returncode != 0
    assert "nope.fr: no such file" in proc.stderr
    assert "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------- with a model


def _tiny_model(request: pytest.FixtureRequest) -> Path:
    """The `tiny_model` fixture from conftest.py; skip until the lead has added it."""
    try:
        return Path(request.getfixturevalue("tiny_model"))
    except pytest.FixtureLookupError:
        pytest.skip("fixture tiny_model is not defined yet (tests/conftest.py)")


def test_model_mode_equals_translator_plus_sacrebleu(
    request: pytest.FixtureRequest, data_dir: Path, tmp_path: Path
) -> None:
    model = _tiny_model(request)
    import sacrebleu.metrics

    from nmt.translator import Translator

    sources = lines_of(data_dir / "bible-sample.dev.en")[:8]
    references = lines_of(data_dir / "bible-sample.dev.fr")[:8]
    src, ref = tmp_path / "src.en", tmp_path / "ref.fr"
    src.write_text("\n".join(sources) + "\n", encoding="utf-8")
    ref.write_text("\n".join(references) + "\n", encoding="utf-8")
    hyp_out = tmp_path / "hyp.fr"
    hyp_out.write_text("stale\n", encoding="utf-8")  # --force must replace it

    report = json.loads(
        evaluate([
            "--model", model, "--src", src, "--ref", ref, "--json",
            "--hyp-out", hyp_out, "--force",
        ])  # fmt: skip
    )

    translations = Translator.load(model).translate(sources)
    expected = sacrebleu.metrics.BLEU().corpus_score(translations, [references])
    got = {m["name"]: m["score"] for m in report["metrics"]}
    assert f"{got['BLEU']:.4f}" == f"{expected.score:.4f}"
    # chrF too: a barely trained model can score BLEU 0 whatever it outputs.
    chrf = sacrebleu.metrics.CHRF().corpus_score(translations, [references])
    assert f"{got['chrF2']:.4f}" == f"{chrf.score:.4f}"
    assert report["n_sentences"] == 8 and report["hyp"] == str(hyp_out)
    assert read_lines(hyp_out) == [t.rstrip() for t in translations]
    # The saved file scores the same with the sacrebleu command line.
    from_file = sacrebleu_cli(hyp_out, [ref], ["bleu"])["BLEU"]["score"]
    assert f"{from_file:.4f}" == f"{expected.score:.4f}"

