"""The evaluation harness: metric options, suites, comparisons, per-sentence scores, reports.

Every number is checked against the real `sacrebleu` command line run on the same files with
the same options (nmt names its options as sacrebleu does, so one argument list serves both),
and every bad input must stop the run with an NmtError naming the file, never give a score.
Models are translated on a few sentences only (--limit) to keep the suite fast.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from test_evaluate import CASES, REPO, Case, evaluate, lines_of, run_nmt, without_stray_cr

from nmt.errors import NmtError
from nmt.evaluation import suites
from nmt.evaluation.io import read_lines

DEV_FR = "bible-sample.dev.fr"

# Every metric option sacrebleu's CLI has, away from its default; the same flags for both tools.
METRIC_OPTIONS = [
    "--tokenize", "intl", "--lowercase", "--smooth-method", "floor", "--smooth-value", "0.3",
    "--chrf-char-order", "4", "--chrf-word-order", "1", "--chrf-beta", "1",
    "--chrf-whitespace", "--chrf-lowercase", "--chrf-eps-smoothing",
    "--ter-case-sensitive", "--ter-no-punct", "--ter-normalized", "--ter-asian-support",
]  # fmt: skip


# ----------------------------------------------------------------------------- helpers


def sacrebleu(refs: list[Path], hyps: list[Path], args: list[str]) -> str:
    """stdout of the real `sacrebleu` command line."""
    proc = subprocess.run(
        [sys.executable, "-m", "sacrebleu", *map(str, refs), "-i", *map(str, hyps), *args],
        capture_output=True, text=True, encoding="utf-8", timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def sacrebleu_json(refs: list[Path], hyp: Path, args: list[str]) -> dict[str, dict]:
    parsed = json.loads(sacrebleu(refs, [hyp], [*args, "-w", "4", "-f", "json"]))
    return {r["name"]: r for r in (parsed if isinstance(parsed, list) else [parsed])}


def evaluate_json(argv: list) -> dict:
    return json.loads(evaluate([*argv, "--json"]))


def refs_args(refs: list[Path]) -> list:
    return ["--ref", *refs]


def assert_scores_match(ours: list[dict], theirs: dict[str, dict]) -> None:
    assert sorted(m["name"] for m in ours) == sorted(theirs)
    for metric in ours:
        expected = theirs[metric["name"]]
        assert f"{metric['score']:.4f}" == f"{expected['score']:.4f}", metric["name"]
        assert metric["signature"] == expected["signature"], metric["name"]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def systems(data_dir: Path, tmp_path: Path) -> dict[str, Path]:
    """Three systems for the sample: the base, a clearly worse one and a barely different one."""
    base = lines_of(data_dir / "eval" / "hyp.fr")
    worse = [" ".join(line.split()[:-2]) if i % 3 == 0 else line for i, line in enumerate(base)]
    close = list(base)
    close[4] = " ".join(close[4].split()[:-1])
    return {
        "base": data_dir / "eval" / "hyp.fr",
        "worse": write(tmp_path / "worse.fr", worse),
        "close": write(tmp_path / "close.fr", close),
    }


@pytest.fixture
def one_thread():
    """Translate on one thread: on a loaded 2-core machine, two torch threads spin-wait and
    decoding gets 20x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def model_copy(tiny_model: Path, tmp_path: Path) -> Path:
    """A private copy, so the default report location (MODEL/eval/...) stays out of the
    shared session model."""
    copy = tmp_path / "model"
    shutil.copytree(tiny_model, copy)
    return copy


# ----------------------------------------------------------------------------- metrics


@pytest.mark.parametrize("case", [c for c in CASES if c.__name__ in ("two_references",
                                                                       "unicode_crlf")],
                         ids=lambda c: c.__name__)  # fmt: skip
def test_metric_options_equal_sacrebleu_cli(case: Case, data_dir: Path, tmp_path: Path) -> None:
    hyp, refs = case(data_dir, tmp_path)
    ours = evaluate_json(["--hyp", hyp, *refs_args(refs), "--metrics", "bleu", "chrf", "ter",
                          *METRIC_OPTIONS])  # fmt: skip
    theirs = sacrebleu_json(refs, hyp, ["-m", "bleu", "chrf", "ter", *METRIC_OPTIONS])
    assert_scores_match(ours["metrics"], theirs)
    assert "tok:intl" in ours["metrics"][0]["signature"]
    assert ours["metric_options"]["chrf_word_order"] == 1


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_chrf_plus_plus_equals_sacrebleu_cli(case: Case, data_dir: Path, tmp_path: Path) -> None:
    hyp, refs = case(data_dir, tmp_path)
    ours = evaluate_json(["--hyp", hyp, *refs_args(refs), "--metrics", "chrf++"])
    theirs = sacrebleu_json(refs, hyp, ["-m", "chrf", "--chrf-word-order", "2"])
    assert_scores_match(ours["metrics"], theirs)
    (metric,) = ours["metrics"]
    assert metric["name"] == "chrF2++" and metric["metric"] == "chrf++"
    assert metric["text"] == f"chrF2++ = {metric['score']:.2f}"


def test_width_formats_like_sacrebleu_w(data_dir: Path) -> None:
    hyp, ref = data_dir / "eval" / "hyp.fr", data_dir / DEV_FR
    out = evaluate(["--hyp", hyp, "--ref", ref, "--metrics", "chrf", "--width", "1"])
    assert out.splitlines()[0] == "chrF2 = 76.7"


def test_bad_metric_options_are_refused(data_dir: Path) -> None:
    base = ["--hyp", data_dir / "eval" / "hyp.fr", "--ref", data_dir / DEV_FR]
    with pytest.raises(NmtError, match=r"unknown BLEU tokenizer 'moses'.*13a.*intl"):
        evaluate([*base, "--tokenize", "moses"])
    with pytest.raises(NmtError, match=r"unknown BLEU smoothing 'add-one'.*floor"):
        evaluate([*base, "--smooth-method", "add-one"])
    with pytest.raises(NmtError, match="is chrf\\+\\+, which is also requested"):
        evaluate([*base, "--metrics", "chrf", "chrf++", "--chrf-word-order", "2"])


# ----------------------------------------------------------------------------- per sentence


def test_sentence_scores_and_worst_equal_sacrebleu_sentence_level(
    data_dir: Path, tmp_path: Path
) -> None:
    hyp = data_dir / "eval" / "hyp.fr"
    refs = [data_dir / DEV_FR, data_dir / "eval" / "ref2.fr"]
    src = data_dir / "bible-sample.dev.en"
    report_dir = tmp_path / "report"
    argv = ["--hyp", hyp, "--src", src, *refs_args(refs), "--tokenize", "intl",
            "--report", report_dir, "--worst", "3"]  # fmt: skip
    report = evaluate_json(argv)

    rows = [line.split("\t") for line in lines_of(report_dir / "sentences.tsv")]
    assert rows[0] == ["line", "BLEU", "chrF2"]
    for column, metric in ((1, "bleu"), (2, "chrf")):
        extra = ["--tokenize", "intl"] if metric == "bleu" else []
        expected = sacrebleu(refs, [hyp], ["-m", metric, "-sl", "-b", "-w", "4", *extra])
        assert [row[column] for row in rows[1:]] == expected.split()
    assert report["sentence_signatures"]["BLEU"].startswith("nrefs:2|case:mixed|eff:yes|tok:intl")

    bleu = [float(row[1]) for row in rows[1:]]
    expected_worst = sorted(range(60), key=lambda i: (bleu[i], i))[:3]
    worst = report["worst"]
    assert worst["by"] == "BLEU" and worst["n"] == 3
    assert [e["line"] for e in worst["sentences"]] == [i + 1 for i in expected_worst]
    first = worst["sentences"][0]
    i = first["line"] - 1
    assert first["source"] == lines_of(src)[i]
    assert first["references"] == [lines_of(r)[i] for r in refs]
    assert first["hypothesis"] == lines_of(hyp)[i]

    jsonl = [json.loads(line) for line in lines_of(report_dir / "sentences.jsonl")]
    assert len(jsonl) == 60 and jsonl[i] == first

    text = evaluate(argv[:-4] + ["--worst", "1"])  # no report: printed only
    assert f"line {first['line']}: BLEU " in text
    assert f"  SRC: {first['source']}" in text and f"  REF2: {first['references'][1]}" in text
    assert f"  HYP: {first['hypothesis']}" in text


# ----------------------------------------------------------------------------- comparison


def parse_sacrebleu_table(text: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(score, mean, ci) cells and (p-value, star) marks, row by row, from sacrebleu's text."""
    cells = re.findall(r"(-?\d+\.\d+)(?: \((-?\d+\.\d+) ± (\d+\.\d+)\))?(?= *[│\n(])", text)
    marks = re.findall(r"\(p = (\d\.\d{4})\)(\*?)", text)
    return cells, marks


def our_cells(report: dict, systems_order: list[str], metrics: list[str], bootstrap: bool):
    by_system = {e["system"]: e["results"] for e in report["comparison"]["ranking"]}
    cells, marks = [], []
    for name in systems_order:
        for metric in metrics:
            r = by_system[name][metric]
            if bootstrap:
                cells.append((f"{r['score']:.4f}", f"{r['mean']:.4f}", f"{r['ci']:.4f}"))
            else:
                cells.append((f"{r['score']:.4f}", "", ""))
            if r["p_value"] is not None:
                marks.append((f"{r['p_value']:.4f}", "*" if r["significant"] else ""))
    return cells, marks


def test_paired_bootstrap_equals_sacrebleu_cli(
    systems: dict[str, Path], data_dir: Path, tmp_path: Path
) -> None:
    ref = data_dir / DEV_FR
    order = [systems["base"], systems["worse"], systems["close"]]
    report_dir = tmp_path / "report"
    report = evaluate_json([
        "--hyp", order[0], "--ref", ref, "--compare", *order[1:], "--metrics", "bleu", "chrf",
        "--paired-bs-n", "100", "--report", report_dir,
    ])  # fmt: skip
    theirs = sacrebleu([ref], order, ["-m", "bleu", "chrf", "--paired-bs", "--paired-bs-n",
                                      "100", "-w", "4", "-f", "text", "--no-color"])  # fmt: skip
    table = theirs.split("Paired bootstrap")[0]
    assert our_cells(report, list(map(str, order)), ["BLEU", "chrF2"], True) == (
        parse_sacrebleu_table(table)
    )
    comparison = report["comparison"]
    assert comparison["seed"] == "12345" and comparison["n_samples"] == 100
    assert comparison["signatures"]["BLEU"].startswith("nrefs:1|bs:100|seed:12345|")
    assert comparison["signatures"]["BLEU"] in theirs
    ranking = comparison["ranking"]
    bleu = [e["results"]["BLEU"]["score"] for e in ranking]
    assert bleu == sorted(bleu, reverse=True) and [e["rank"] for e in ranking] == [1, 2, 3]
    assert ranking[-1]["system"] == str(systems["worse"])
    results = {e["system"]: e["results"]["BLEU"] for e in ranking}
    assert results[str(systems["worse"])]["significant"] is True
    assert results[str(systems["close"])]["significant"] is False
    assert results[str(systems["base"])]["p_value"] is None

    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "| Rank | System | BLEU[^1] | chrF2[^2] |" in markdown
    assert f"| 3 | {systems['worse']} | " in markdown
    assert f"| {systems['base']} (baseline) | " in markdown
    assert f"[^1]: BLEU: `{comparison['signatures']['BLEU']}`" in markdown
    assert sorted(p.name for p in report_dir.iterdir()) == [
        "hyp-2.txt", "hyp-3.txt", "hyp.txt", "report.json", "report.md",
        "sentences.jsonl", "sentences.tsv",
    ]  # fmt: skip
    assert read_lines(report_dir / "hyp-2.txt") == read_lines(systems["worse"])

    text = evaluate(["--hyp", order[0], "--ref", ref, "--compare", order[1],
                     "--metrics", "bleu", "--paired-bs-n", "100"])  # fmt: skip
    assert re.search(r"2  \S*worse\.fr +59\.49 \(59\.54 ± 4\.47\) \(p = 0\.0099\)\*", text)
    assert "Baseline: " in text and "seed 12345" in text


def test_paired_ar_with_seed_equals_sacrebleu_cli(
    systems: dict[str, Path], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SACREBLEU_SEED", "7")  # the subprocess inherits it too
    ref = data_dir / DEV_FR
    order = [systems["base"], systems["close"], systems["worse"]]
    report = evaluate_json(["--hyp", order[0], "--ref", ref, "--compare", *order[1:],
                            "--metrics", "ter", "--paired-ar", "--paired-ar-n", "200"])  # fmt: skip
    theirs = sacrebleu([ref], order, ["-m", "ter", "--paired-ar", "--paired-ar-n", "200",
                                      "-w", "4", "-f", "text", "--no-color"])  # fmt: skip
    table = theirs.split("Paired approximate")[0]
    assert our_cells(report, list(map(str, order)), ["TER"], False) == (
        parse_sacrebleu_table(table)
    )
    comparison = report["comparison"]
    assert comparison["test"] == "ar" and comparison["seed"] == "7"
    assert comparison["signatures"]["TER"].startswith("nrefs:1|ar:200|seed:7|")
    # TER: lower is better, so the worse system (more edits) ranks last.
    assert comparison["ranking"][-1]["system"] == str(systems["worse"])


# ----------------------------------------------------------------------------- suites


def test_shipped_suites_match_the_bible_corpora() -> None:
    from nmt.data.bible import LANGUAGES

    found = suites.available()
    assert {"bible-en-fr", "bible-fr-en", "bible-en-de", "bible-es-pt"} <= set(found)
    for name, path in found.items():
        suite = suites.load(name)
        for test_set in suite.sets:
            pair = test_set.corpus.removeprefix("bible:")
            src, tgt = (side.partition("@")[0] for side in pair.split("-"))
            assert suite.name == name == f"bible-{src}-{tgt}" and test_set.split == "test"
            assert test_set.source == f"test.{src}"
            extra = [f"test.{tgt}.ref{i}" for i in range(1, len(LANGUAGES[tgt]))]
            assert list(test_set.references) == [f"test.{tgt}", *extra], name
    # English -> French is scored from the King James and the World English Bible (version 4).
    en_fr = suites.load("bible-en-fr")
    assert [(s.name, s.corpus) for s in en_fr.sets] == [("kjv", "bible:en-fr"),
                                                         ("web", "bible:en@4-fr")]
    # The suites ship in wheels: the package-data patterns cover every file.
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["nmt.evaluation"]
    for path in found.values():
        relative = path.relative_to(suites.SUITES_DIR.parent).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative

    out = evaluate(["--list-suites"])
    assert all(name in out for name in found)
    assert "bible:en-fr, 3 refs" in out


def test_model_on_suite_end_to_end(model_copy: Path, one_thread: None, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import sacrebleu as sb

    from nmt.translator import Translator

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = ["--model", model_copy, "--suite", "bible-en-fr", "--test-set", "kjv",
            "--limit", "3", "--beam", "1", "--metrics", "bleu", "chrf", "chrf++", "ter",
            "--worst", "2"]  # fmt: skip
    report = evaluate_json(argv)
    # The default place: under the current directory, never inside the model's folder.
    report_dir = Path("reports") / "model" / "bible-en-fr-kjv-first3"
    assert report["report_dir"] == str(report_dir) and (work / report_dir).is_dir()
    assert not (model_copy / "eval").exists()
    on_disk = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    assert on_disk == report

    test_set = report["test_set"]
    assert test_set["suite"]["name"] == "bible-en-fr" and test_set["label"] == "bible-en-fr/kjv"
    assert test_set["suite"]["corpus"] == "bible:en-fr" and test_set["suite"]["set"] == "kjv"
    assert (test_set["n_sentences"], test_set["n_total"], test_set["limit"]) == (3, 949, 3)
    assert [Path(r).name for r in report["refs"]] == ["test.fr", "test.fr.ref1", "test.fr.ref2"]
    assert [r["name"] for r in test_set["corpus_meta"]["references"]] == ["Ostervald 1996", "Darby"]

    (system,) = report["systems"]
    translator = Translator.load(model_copy)
    assert system["kind"] == "model" and system["model"]["n_params"] == translator.n_params
    assert system["model"]["config"] == translator.config.to_dict()
    assert system["decoding"]["beam"] == 1
    assert system["decoding"]["batch_size"] == translator.config.decoding.batch_size
    assert system["speed"]["sentences"] == 3 and system["speed"]["seconds"] > 0

    hyps = read_lines(report_dir / "hyp.txt")
    assert report["hyp"] == str(report_dir / "hyp.txt") and len(hyps) == 3
    refs = [read_lines(r)[:3] for r in report["refs"]]
    expected = {
        "BLEU": sb.metrics.BLEU().corpus_score(hyps, refs).score,
        "chrF2": sb.metrics.CHRF().corpus_score(hyps, refs).score,
        "chrF2++": sb.metrics.CHRF(word_order=2).corpus_score(hyps, refs).score,
        "TER": sb.metrics.TER().corpus_score(hyps, refs).score,
    }
    assert {m["name"]: m["score"] for m in report["metrics"]} == pytest.approx(expected)
    assert report["metrics"][0]["signature"].startswith("nrefs:3|")
    assert len(report["worst"]["sentences"]) == 2

    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "| System | BLEU[^1] | chrF2[^2] | chrF2++[^3] | TER[^4] |" in markdown
    assert "the first 3 of 949 sentences (--limit 3)" in markdown
    assert markdown.startswith("# Evaluation: bible-en-fr/kjv\n")
    assert f"{translator.n_params:,} parameters" in markdown and "beam 1," in markdown

    # An existing report is never replaced silently, and the check comes before translating.
    with pytest.raises(NmtError, match=r"bible-en-fr-kjv-first3 already exists .*--force"):
        evaluate(argv)
    # With --force only nmt's own files go: a stale hyp-2.txt, but not the user's notes.
    write(report_dir / "hyp-2.txt", ["stale"])
    write(report_dir / "notes.txt", ["mine"])
    rescored = evaluate_json(["--hyp", report_dir / "hyp.txt", "--suite", "bible-en-fr",
                              "--test-set", "kjv", "--limit", "3", "--report", report_dir,
                              "--force"])  # fmt: skip
    assert rescored["metrics"][:2] == report["metrics"][:2]
    assert not (report_dir / "hyp-2.txt").exists() and (report_dir / "notes.txt").exists()


def test_compare_translates_a_model_directory(
    tiny_model: Path, data_dir: Path, tmp_path: Path, one_thread: None
) -> None:
    from nmt.data.corpus import resolve_corpus

    directory, _, _ = resolve_corpus("bible:en-fr")  # prepared on first use, in NMT_CACHE
    good = write(tmp_path / "ref1.fr", read_lines(directory / "test.fr.ref1")[:2])
    report = evaluate_json(["--hyp", good, "--suite", "bible-en-fr", "--test-set", "kjv",
                            "--limit", "2", "--compare", tiny_model, "--beam", "1",
                            "--paired-bs-n", "20",
                            "--metrics", "chrf"])  # fmt: skip
    base, model = report["systems"]
    assert base["kind"] == "hypotheses" and model["kind"] == "model"
    assert model["decoding"]["beam"] == 1 and model["speed"]["sentences"] == 2
    ranking = report["comparison"]["ranking"]
    assert [e["system"] for e in ranking] == [str(good), str(tiny_model)]
    assert ranking[1]["results"]["chrF2"]["p_value"] is not None


def test_model_for_another_language_pair_is_refused(tiny_model: Path, data_dir: Path,
                                                    tmp_path: Path) -> None:  # fmt: skip
    folder = tmp_path / "de"
    folder.mkdir()
    write(folder / "test.en", lines_of(data_dir / "bible-sample.dev.en")[:2])
    write(folder / "test.de", ["Am Anfang", "Und Gott sprach"])
    suite = tmp_path / "tiny-en-de.yaml"
    suite.write_text("directory: de\nsource: test.en\nreferences: [test.de]\n"
                     "src_lang: en\ntgt_lang: de\n", encoding="utf-8")  # fmt: skip
    with pytest.raises(NmtError, match=r"translates en->fr but the test set is en->de"):
        evaluate(["--model", tiny_model, "--suite", suite, "--report", tmp_path / "r"])
    assert not (tmp_path / "r").exists()


# ----------------------------------------------------------------------------- bad input


def test_bad_suites(tmp_path: Path, data_dir: Path) -> None:
    hyp = data_dir / "eval" / "hyp.fr"
    with pytest.raises(NmtError, match=r"unknown suite 'bible-xx-yy'; known suites: .*bible-en-fr"):
        evaluate(["--hyp", hyp, "--suite", "bible-xx-yy"])
    broken = tmp_path / "broken.yaml"
    broken.write_text("corpus: bible:en-fr\nreferences: [a\n", encoding="utf-8")
    with pytest.raises(NmtError, match=r"broken\.yaml: not valid YAML at line \d"):
        evaluate(["--hyp", hyp, "--suite", broken])
    both = tmp_path / "both.yaml"
    both.write_text("corpus: bible:en-fr\ndirectory: .\nsource: a\nreferences: [b]\n",
                    encoding="utf-8")  # fmt: skip
    with pytest.raises(NmtError, match=r"both\.yaml: give exactly one of `corpus:`"):
        evaluate(["--hyp", hyp, "--suite", both])
    typo = tmp_path / "typo.yaml"
    typo.write_text("directory: .\nsource: a\nrefs: [b]\n", encoding="utf-8")
    with pytest.raises(NmtError, match=r"typo\.yaml: unknown key 'refs'"):
        evaluate(["--hyp", hyp, "--suite", typo])
    missing = tmp_path / "missing.yaml"
    write(tmp_path / "src.en", ["a"])
    missing.write_text("directory: .\nsource: src.en\nreferences: [nope.fr]\n", encoding="utf-8")
    with pytest.raises(NmtError, match=r"missing\.yaml: suite 'missing' names nope\.fr"):
        evaluate(["--hyp", hyp, "--suite", missing])
    with pytest.raises(NmtError, match="--suite bible-en-fr provides the source and references"):
        evaluate(["--hyp", hyp, "--suite", "bible-en-fr", "--ref", data_dir / DEV_FR])


@pytest.mark.parametrize("entry", [
    "source: /etc/hostname\nreferences: [ref.fr]",
    "source: src.en\nreferences: [ref.fr, ../outside.fr]",
    "source: sub/../../outside.fr\nreferences: [ref.fr]",
])
def test_suite_files_stay_inside_the_suite_directory(tmp_path: Path, data_dir: Path,
                                                      entry: str) -> None:
    write(tmp_path / "outside.fr", ["a secret line"])
    suite_dir = tmp_path / "suite"
    (suite_dir / "data").mkdir(parents=True)
    write(suite_dir / "data" / "src.en", ["a"])
    write(suite_dir / "data" / "ref.fr", ["b"])
    bad = suite_dir / "escape.yaml"
    bad.write_text(f"directory: data\n{entry}\n", encoding="utf-8")
    name = re.search(r"(/etc/hostname|[./a-z]*\.\./outside\.fr)", entry).group(1)
    message = (rf"escape\.yaml: `(source|references):` entry '{re.escape(name)}' leaves the "
               "suite's directory")
    with pytest.raises(NmtError, match=message):
        suites.load(str(bad))
    proc = run_nmt(["evaluate", "--hyp", data_dir / "eval" / "hyp.fr", "--suite", bad])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert re.search(message, proc.stderr) and "a secret line" not in proc.stdout
    # The same holds for every set of a suite with several.
    in_set = suite_dir / "escape-set.yaml"
    indented = "\n".join("    " + line for line in f"directory: data\n{entry}".splitlines())
    in_set.write_text("sets:\n  - name: fine\n    directory: data\n    source: src.en\n"
                      f"    references: [ref.fr]\n  - name: bad\n{indented}\n",
                      encoding="utf-8")  # fmt: skip
    with pytest.raises(NmtError, match=message.replace(r"escape\.yaml: ",
                                                       r"escape-set\.yaml: set 'bad': ")):
        suites.load(str(in_set))
    fine = suite_dir / "fine.yaml"  # a sub-directory inside it is fine
    fine.write_text("directory: .\nsource: data/src.en\nreferences: [data/ref.fr]\n",
                    encoding="utf-8")
    (prepared,) = suites.prepare(suites.load(str(fine)))
    assert prepared.references == (suite_dir / "data" / "ref.fr",)


def test_bad_systems_and_test_sets(systems: dict[str, Path], data_dir: Path,
                                   tmp_path: Path) -> None:  # fmt: skip
    ref = data_dir / DEV_FR
    base = ["--hyp", systems["base"], "--ref", ref]
    short = write(tmp_path / "short.fr", lines_of(systems["worse"])[:-1])
    with pytest.raises(NmtError, match=r"short\.fr has 59 lines but reference .* has 60 lines"):
        evaluate([*base, "--compare", short])
    latin1 = tmp_path / "latin1.fr"
    latin1.write_bytes("ok\n".encode() * 4 + "déjà\n".encode("latin-1"))
    with pytest.raises(NmtError, match=r"latin1\.fr: line 5 is not valid UTF-8"):
        evaluate([*base, "--compare", latin1])
    with pytest.raises(NmtError, match="given twice"):
        evaluate([*base, "--compare", systems["worse"], systems["worse"]])
    with pytest.raises(NmtError, match=r"add --compare"):
        evaluate([*base, "--paired-bs"])
    # A model compared from --hyp mode fails before loading when there is no source.
    with pytest.raises(NmtError, match=r"is a model directory, .*give --src FILE"):
        evaluate([*base, "--compare", tmp_path])
    empty = write(tmp_path / "empty.fr", [])
    with pytest.raises(NmtError, match=r"empty\.fr is empty"):
        evaluate(["--hyp", systems["base"], "--ref", empty])
    with pytest.raises(NmtError, match="--limit must be at least 1"):
        evaluate([*base, "--limit", "0"])
    with pytest.raises(NmtError, match="--worst must be at least 1"):
        evaluate([*base, "--worst", "0"])
    with pytest.raises(NmtError, match=r"test set has 60 \(--limit 5 .*exactly the first 5"):
        evaluate(["--hyp", short, "--ref", ref, "--limit", "5"])
    first5 = write(tmp_path / "first5.fr", lines_of(systems["base"])[:5])
    limited = evaluate_json(["--hyp", first5, "--ref", ref, "--limit", "5"])
    assert limited["n_sentences"] == 5 and limited["test_set"]["n_total"] == 60
    with pytest.raises(NmtError, match="give what to score"):
        evaluate(["--ref", ref])


def test_report_directory_is_not_overwritten(systems: dict[str, Path], data_dir: Path,
                                             tmp_path: Path) -> None:  # fmt: skip
    base = ["--hyp", systems["base"], "--ref", data_dir / DEV_FR]
    taken = tmp_path / "taken"
    taken.mkdir()
    write(taken / "notes.txt", ["keep"])
    with pytest.raises(NmtError, match=r"taken already exists and is not empty.*--force"):
        evaluate([*base, "--report", taken])
    with pytest.raises(NmtError, match=r"notes\.txt is a file"):
        evaluate([*base, "--report", taken / "notes.txt"])
    with pytest.raises(NmtError, match=r"--force only applies with --hyp-out FILE or --report"):
        evaluate([*base, "--force"])
    empty_dir = tmp_path / "empty-dir"
    empty_dir.mkdir()
    evaluate([*base, "--report", empty_dir])  # an empty directory is fine
    assert (empty_dir / "report.md").is_file()


def test_sentence_file_survives_unicode_line_breaks(data_dir: Path, tmp_path: Path) -> None:
    # U+2028 and U+0085 inside a sentence must not split a JSONL record for splitlines().
    hyp = without_stray_cr(data_dir / "eval" / "unicode.hyp", tmp_path)
    ref = data_dir / "eval" / "unicode.ref"
    evaluate(["--hyp", hyp, "--ref", ref, "--report", tmp_path / "r"])
    records = (tmp_path / "r" / "sentences.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(r)["hypothesis"] for r in records] == read_lines(hyp)
    markdown = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert "| System | BLEU[^1] | chrF2[^2] |" in markdown
