"""Suites with several test sets, and a model's test scores recorded in its nmt.json.

`nmt evaluate --suite bible-en-fr` scores the same verses from two English sources (King James
and World English Bible) against the same French references: each set takes the one path a
single test set takes, and the report holds each set's. `--record-scores` writes the headline
scores into the model's nmt.json for the web UI, leaving the weights and their hash alone.
Models here are the tiny session model (copied when written to) on a few sentences.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_evaluate import evaluate, lines_of

from nmt.errors import NmtError
from nmt.evaluation import record, suites
from nmt.evaluation.io import read_lines


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def evaluate_json(argv: list) -> dict:
    return json.loads(evaluate([*argv, "--json"]))


@pytest.fixture
def model_copy(tiny_model: Path, tmp_path: Path) -> Path:
    """A private copy: --record-scores writes into it."""
    copy = tmp_path / "model"
    shutil.copytree(tiny_model, copy)
    return copy


@pytest.fixture
def two_sets(data_dir: Path, tmp_path: Path) -> Path:
    """A suite file of two sets, `old` and `new-english`, in the form bible-en-fr uses:
    different sources (the second's sentences start "Now ..."), the same two references, four
    sentences."""
    sources = lines_of(data_dir / "bible-sample.dev.en")[:4]
    refs = lines_of(data_dir / "bible-sample.dev.fr")[:4]
    modern = ["Now " + s[0].lower() + s[1:] for s in sources]
    for name, lines in (("old", sources), ("new", modern)):
        folder = tmp_path / "sets" / name
        folder.mkdir(parents=True)
        write(folder / "test.en", lines)
        write(folder / "test.fr", refs)
        write(folder / "test.fr.ref1", [r.replace(",", "") for r in refs])
    path = tmp_path / "sets" / "two.yaml"
    path.write_text(
        "name: two\ndescription: two English sources\nsets:\n"
        "  - name: old\n    directory: old\n    source: test.en\n"
        "    references: [test.fr, test.fr.ref1]\n    src_lang: en\n    tgt_lang: fr\n"
        "  - name: new-english\n    description: modern English\n    directory: new\n"
        "    source: test.en\n    references: [test.fr, test.fr.ref1]\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ----------------------------------------------------------------------------- the suite


def test_bible_en_fr_scores_two_sources_of_the_same_verses() -> None:
    """The World English Bible set is the King James set's verses, from another English,
    against the very same French references (both prepared on first use, about 1 s each)."""
    kjv, web = suites.prepare(suites.load("bible-en-fr"))
    assert (kjv.label, web.label) == ("bible-en-fr/kjv", "bible-en-fr/web")
    assert web.corpus_meta["src_version"]["name"] == "World English Bible 2000"
    assert kjv.corpus_meta["src_version"]["name"] == "King James 1611"
    keys = read_lines(kjv.directory / "test.keys")
    assert read_lines(web.directory / "test.keys") == keys and len(keys) == 949
    for ours, theirs in zip(kjv.references, web.references):
        assert read_lines(ours) == read_lines(theirs)
    kjv_src, web_src = read_lines(kjv.source), read_lines(web.source)
    assert len(web_src) == 949 and sum(a != b for a, b in zip(kjv_src, web_src)) > 900


def test_one_set_suite_files_keep_their_form(tmp_path: Path, data_dir: Path) -> None:
    write(tmp_path / "test.en", lines_of(data_dir / "bible-sample.dev.en")[:3])
    write(tmp_path / "test.fr", lines_of(data_dir / "bible-sample.dev.fr")[:3])
    path = tmp_path / "old.yaml"
    path.write_text("name: old\ndescription: as before\ndirectory: .\nsource: test.en\n"
                    "references: [test.fr]\n", encoding="utf-8")  # fmt: skip
    suite = suites.load(str(path))
    assert not suite.several and [suite.label(s) for s in suite.sets] == ["old"]
    listed = suite.as_dict()
    assert listed["directory"] == str(tmp_path) and listed["references"] == ["test.fr"]
    report = evaluate_json(["--hyp", tmp_path / "test.fr", "--suite", path])
    assert report["metrics"][0]["score"] == pytest.approx(100) and "sets" not in report
    assert report["test_set"]["label"] == "old" and report["test_set"]["suite"]["set"] is None
    with pytest.raises(NmtError, match="suite 'old' has a single test set.*drop --test-set"):
        evaluate(["--hyp", tmp_path / "test.fr", "--suite", path, "--test-set", "x"])


def test_every_set_takes_the_one_path(model_copy: Path, two_sets: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      one_thread: None) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    argv = ["--model", model_copy, "--suite", two_sets, "--beam", "1", "--worst", "1"]
    report = evaluate_json(argv)
    report_dir = Path("reports") / "model" / "two"  # the default place, here
    assert report["report_dir"] == str(report_dir)
    assert json.loads((report_dir / "report.json").read_text(encoding="utf-8")) == report
    assert report["suite"]["name"] == "two" and len(report["suite"]["sets"]) == 2
    old, new = report["sets"]
    assert [old["test_set"]["label"], new["test_set"]["label"]] == ["two/old", "two/new-english"]
    assert old["report_dir"] == str(report_dir / "old")
    assert new["report_dir"] == str(report_dir / "new-english")
    assert sorted(p.name for p in report_dir.iterdir()) == [
        "new-english", "old", "report.json", "report.md"]
    # Each set's report is the one a run on that set alone writes: same numbers, same files.
    for entry, name in ((old, "old"), (new, "new-english")):
        alone = evaluate_json([*argv, "--test-set", name, "--report", tmp_path / f"{name}-alone"])
        assert alone["metrics"] == entry["metrics"] and alone["worst"] == entry["worst"]
        assert alone["test_set"] == entry["test_set"]
        folder = Path(entry["report_dir"])
        assert read_lines(folder / "hyp.txt") == read_lines(tmp_path / f"{name}-alone" / "hyp.txt")
        assert (folder / "sentences.tsv").is_file()
    assert not old["worst"]["sentences"][0]["source"].startswith("Now ")
    assert new["worst"]["sentences"][0]["source"].startswith("Now ")

    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "| Test set | Sentences | System | BLEU[^1] | chrF2[^2] |" in markdown
    assert "| [two/new-english](new-english/report.md) | 4 | " in markdown
    assert "[^1]: BLEU: `nrefs:2|" in markdown  # one signature: both sets have two references
    set_page = (report_dir / "old" / "report.md").read_text(encoding="utf-8")
    assert set_page.startswith("# Evaluation: two/old\n")

    text = evaluate([*argv, "--report", tmp_path / "text"])
    assert "== two/old: 4 sentences, 2 references ==\nBLEU = " in text
    assert "== two/new-english (modern English): 4 sentences, 2 references ==" in text
    table = text.splitlines()[-3:]
    assert table[0].split() == ["Test", "set", "BLEU", "chrF2"]
    assert table[2].split()[0] == "two/new-english"
    assert table[2].split()[1] == f"{new['metrics'][0]['score']:.2f}"
    with pytest.raises(NmtError, match=r"reports/model/two already exists .*--force"):
        evaluate(argv)


def test_streaming_scores_every_set(tiny_model: Path, two_sets: Path, tmp_path: Path,
                                    one_thread: None) -> None:  # fmt: skip
    report = evaluate_json(["--streaming", "--k", "1", "--model",
                            tiny_model, "--suite", two_sets, "--limit", "2", "--beam", "1",
                            "--report", tmp_path / "r"])  # fmt: skip
    for entry in report["sets"]:
        assert (entry["streaming"]["policy"], entry["streaming"]["k"]) == ("retranslate", 1)
        assert [s["name"] for s in entry["streaming"]["latency"]][:2] == ["AL", "LAAL"]
        assert len(entry["streaming"]["sentences"]) == 2


def test_options_for_one_set_are_refused_with_several(two_sets: Path, tiny_model: Path,
                                                      tmp_path: Path) -> None:  # fmt: skip
    hyp = two_sets.parent / "old" / "test.fr"
    with pytest.raises(NmtError, match=r"--hyp .* one test set; add --test-set NAME \(suite two "
                                       r"has sets old, new-english\)"):
        evaluate(["--hyp", hyp, "--suite", two_sets])
    with pytest.raises(NmtError, match=r"--compare .* one test set \(model directories are"):
        evaluate(["--model", tiny_model, "--suite", two_sets, "--compare", hyp])
    with pytest.raises(NmtError, match=r"--hyp-out saves .*\(REPORT/SET/hyp\.txt\)"):
        evaluate(["--model", tiny_model, "--suite", two_sets, "--hyp-out", tmp_path / "h"])
    with pytest.raises(NmtError, match=r"no test set 'kjv'; its sets are old, new-english"):
        evaluate(["--hyp", hyp, "--suite", two_sets, "--test-set", "kjv"])
    with pytest.raises(NmtError, match=r"--test-set chooses among .* add --suite"):
        evaluate(["--hyp", hyp, "--ref", hyp, "--test-set", "old"])
    # One set chosen: a hypothesis file is fine, and the report is the one-set report.
    alone = evaluate_json(["--hyp", hyp, "--suite", two_sets, "--test-set", "old"])
    assert alone["metrics"][0]["score"] == pytest.approx(100)
    assert alone["test_set"]["label"] == "two/old"


@pytest.mark.parametrize("text, message", [
    ("sets: []", r"`sets:` must list at least one test set"),
    ("sets:\n  - corpus: bible:en-fr\n    source: a\n    references: [b]",
     r"set 1 needs a `name:` of lower-case letters.*got None"),
    ("sets:\n  - name: ../up\n    corpus: bible:en-fr\n    source: a\n    references: [b]",
     r"set 1 needs a `name:`.*got '\.\./up'"),
    ("sets:\n  - name: a\n    directory: .\n    source: x\n    references: [y]\n"
     "  - name: a\n    directory: .\n    source: x\n    references: [y]",
     r"two sets are named 'a'"),
    ("corpus: bible:en-fr\nsets:\n  - name: a\n    directory: .\n    source: x\n"
     "    references: [y]", r"unknown key 'corpus' beside `sets:`; `corpus:` belongs inside"),
    ("sets:\n  - name: a\n    directory: .\n    source: x\n    refs: [y]",
     r"set 'a': unknown key 'refs'; a set has keys"),
    ("sets:\n  - name: a\n    source: x\n    references: [y]",
     r"set 'a': give exactly one of `corpus:`"),
    ("sets:\n  - name: a\n    directory: nowhere\n    source: x\n    references: [y]",
     r"set 'a': directory .*nowhere does not exist"),
])  # fmt: skip
def test_bad_suites_with_sets(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(NmtError, match=rf"bad\.yaml: {message}"):
        suites.prepare(suites.load(str(path)))


# ----------------------------------------------------------------------------- recorded scores


def test_record_scores_writes_nmt_json_only(model_copy: Path, two_sets: Path, tmp_path: Path,
                                            one_thread: None) -> None:  # fmt: skip
    import sacrebleu

    from nmt.checkpoint import file_sha256
    from nmt.translator import Translator
    from nmt.ui.models import score_summary

    meta_path = model_copy / "nmt.json"
    before = json.loads(meta_path.read_text(encoding="utf-8"))
    weights = file_sha256(model_copy / "model.safetensors")
    report = evaluate_json(["--model", model_copy, "--suite", two_sets, "--beam", "1",
                            "--record-scores", "--report", tmp_path / "r"])  # fmt: skip

    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert {k: v for k, v in meta.items() if k not in ("scores", "score_details")} == {
        k: v for k, v in before.items() if k not in ("scores", "score_details")}
    assert file_sha256(model_copy / "model.safetensors") == weights == meta["weights_sha256"]
    Translator.load(model_copy)  # the weights' check still passes
    scores = meta["scores"]
    assert {k: v for k, v in scores.items() if k.startswith("dev_")} == before["scores"]
    test_keys = [k for k in scores if "test" in k]
    assert test_keys == ["test_bleu", "test_chrf", "new_english_test_bleu",
                         "new_english_test_chrf"]
    details = meta["score_details"]
    assert details["suite"] == "two" and list(details["sets"]) == ["two/old", "two/new-english"]
    for entry, prefix in zip(report["sets"], ("", "new_english_")):
        hyps = read_lines(Path(entry["report_dir"]) / "hyp.txt")
        refs = [read_lines(r) for r in entry["refs"]]
        # `scores`: the primary reference alone, sacrebleu's defaults; all references: details.
        bleu = sacrebleu.metrics.BLEU()
        assert scores[f"{prefix}test_bleu"] == bleu.corpus_score(hyps, refs[:1]).score
        assert details["scores"][f"{prefix}test_bleu"]["signature"] == (
            bleu.get_signature().format().replace("nrefs:2", "nrefs:1"))
        assert scores[f"{prefix}test_chrf"] == sacrebleu.metrics.CHRF().corpus_score(
            hyps, refs[:1]).score
        every = details["all_references"][f"{prefix}test_bleu"]
        assert every["score"] == pytest.approx(entry["metrics"][0]["score"])
        assert every["signature"].startswith("nrefs:2|")
        assert details["sets"][entry["test_set"]["label"]]["decoding"]["beam"] == 1
    # What the web UI's model list shows (nmt.ui.models).
    assert score_summary(scores, only_headline=True) == f"test BLEU {scores['test_bleu']:.2f}"
    assert f"new english test chrF {scores['new_english_test_chrf']:.2f}" in score_summary(scores)

    # Recording again from another suite replaces the earlier test scores, whatever their sets.
    one = tmp_path / "one.yaml"
    one.write_text(f"directory: {two_sets.parent / 'old'}\nsource: test.en\n"
                   "references: [test.fr]\n", encoding="utf-8")  # fmt: skip
    evaluate(["--model", model_copy, "--suite", one, "--beam", "1", "--record-scores",
              "--report", tmp_path / "r2"])  # fmt: skip
    again = json.loads(meta_path.read_text(encoding="utf-8"))
    assert [k for k in again["scores"] if "test" in k] == ["test_bleu", "test_chrf"]
    assert again["score_details"]["suite"] == "one"


def test_record_scores_refusals_come_before_translating(model_copy: Path, two_sets: Path,
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:  # fmt: skip
    base = ["--model", model_copy, "--suite", two_sets, "--record-scores"]
    hyp = two_sets.parent / "old" / "test.fr"
    for extra, message in (
        (["--limit", "2"], r"--record-scores: drop --limit"),
        (["--test-set", "old"], r"--record-scores: drop --test-set"),
        (["--streaming"], r"--record-scores: drop --streaming"),
        (["--tokenize", "intl"], r"sacrebleu's default settings.*drop the metric options"),
    ):
        with pytest.raises(NmtError, match=message):
            evaluate([*base, *extra])
    with pytest.raises(NmtError, match=r"give --model DIR and --suite NAME"):
        evaluate(["--hyp", hyp, "--suite", two_sets, "--test-set", "old", "--record-scores"])

    # A folder it cannot write in (as for root, permission bits are simulated by the probe).
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(record.tempfile, "mkstemp", denied)
    with pytest.raises(NmtError, match=rf"{model_copy} is not writable \(Permission denied\); "
                                       "copy the model"):
        evaluate([*base, "--report", tmp_path / "r"])
    assert not (tmp_path / "r").exists()  # refused before anything was translated or written
    assert "score_details" not in json.loads((model_copy / "nmt.json").read_text())



def test_evaluate_quantizes_when_asked(tiny_model, data_dir, tmp_path):
    """--quantize int8 loads the model quantized, and the report records it."""
    src, ref = str(data_dir / "bible-sample.dev.en"), str(data_dir / "bible-sample.dev.fr")
    proc = subprocess.run([sys.executable, "-m", "nmt", "evaluate", "--model", str(tiny_model),
                           "--src", src, "--ref", ref, "--limit", "6", "--quantize", "int8",
                           "--json", "--report", str(tmp_path / "report")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["systems"][0]["decoding"]["quantize"] == "int8"
    refused = subprocess.run([sys.executable, "-m", "nmt", "evaluate", "--hyp", ref, "--ref", ref,
                              "--quantize", "int8"], capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "--quantize only applies with --model" in refused.stderr
