"""`nmt evaluate --streaming`: a model translates a few verses live, word by word; the command
prints BLEU and chrF of the final translations beside the latency metrics, with signatures.

The bundled Bible en-fr model and three dev verses keep it to seconds."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nmt.cli import evaluate as cli
from nmt.errors import NmtError
from nmt.evaluation.latency import SentenceDelays, sentence_latency

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "nmt" / "models" / "bible-en-fr"
DATA = REPO / "tests" / "data"


def run_nmt(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "nmt", *map(str, argv)], capture_output=True,
                          text=True, cwd=REPO, timeout=180, env=env)


@pytest.fixture(scope="module")
def verses(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("verses")
    for lang in ("en", "fr"):
        lines = (DATA / f"bible-sample.dev.{lang}").read_text(encoding="utf-8").splitlines()
        (folder / f"three.{lang}").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    return folder / "three.en", folder / "three.fr"


def test_streaming_reports_quality_and_latency_as_json(verses):
    src, ref = verses
    done = run_nmt("evaluate", "--streaming", "--model", MODEL, "--src", src, "--ref", ref,
                   "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [m["name"] for m in report["metrics"]] == ["BLEU", "chrF2"]
    live = report["streaming"]
    assert (live["policy"], live["k"]) == ("retranslate", None)
    names = [s["name"] for s in live["latency"]]
    assert names == ["AL", "LAAL", "DAL", "AP", "NE"]
    for score in live["latency"]:
        assert score["signature"].startswith(score["name"] + "|unit:")
        assert score["n_sentences"] == 3
    assert live["updates"] >= sum(len(line.split()) for line in src.read_text().splitlines())

    # Each reported number is the mean of the per-sentence ones, from the delays in the report.
    sentences = live["sentences"]
    hypotheses = report["systems"][0]
    assert len(sentences) == 3 and hypotheses["kind"] == "model"
    for s, line in zip(sentences, src.read_text().splitlines()):
        assert len(s["delays"]) == len(s["hypothesis"].split())
        assert s["source_length"] == len(line.split())
        assert all(1 <= d <= s["source_length"] for d in s["delays"])
    for score in live["latency"][:4]:
        per_sentence = [sentence_latency(score["name"], SentenceDelays(
            s["delays"], s["source_length"], s["reference_length"])) for s in sentences]
        assert score["score"] == pytest.approx(sum(per_sentence) / 3)
    erasure = live["latency"][4]["score"]
    pieces = sum(s["final_pieces"] for s in sentences)
    assert erasure == sum(s["erased"] for s in sentences) / pieces

    # Re-translation's final translation is the offline one of the sentence alone, so BLEU and
    # chrF are the same. Alone: in a batch the vocabulary shortlist is the batch's union, which
    # can change a sentence's translation (verse 3 here), so the offline run uses batches of 1.
    offline = run_nmt("evaluate", "--model", MODEL, "--src", src, "--ref", ref, "--json",
                      "--batch-size", "1")
    assert offline.returncode == 0, offline.stderr
    assert [m["score"] for m in json.loads(offline.stdout)["metrics"]] == \
        [m["score"] for m in report["metrics"]]


def test_streaming_prints_each_latency_with_its_signature(verses):
    src, ref = verses
    done = run_nmt("evaluate", "--streaming", "--policy", "retranslate", "--k", "2",
                   "--model", MODEL, "--src", src, "--ref", ref)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "BLEU = " in out and "chrF2 = " in out
    assert "streaming: policy retranslate, k=2, 3 sentences" in out
    for name in ("AL", "LAAL", "DAL", "AP", "NE"):
        assert f"\n{name} = " in out
        assert f"signature: {name}|unit:" in out


def parse(*argv: str | Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nmt evaluate")
    cli.add_arguments(parser)
    return parser.parse_args([str(a) for a in argv])


@pytest.mark.parametrize("argv, message", [
    (["--hyp", "{ref}", "--ref", "{ref}", "--k", "2"], "--k only applies with --streaming"),
    (["--hyp", "{ref}", "--ref", "{ref}", "--policy", "wait-k"], "--policy only applies"),
    (["--streaming", "--hyp", "{ref}", "--ref", "{ref}"], "--streaming translates live with"),
    (["--streaming", "--model", MODEL, "--src", "{src}", "--ref", "{ref}", "--compare", "{ref}"],
     "drop --compare"),
])
def test_streaming_option_mistakes_are_refused_before_any_translation(verses, argv, message):
    src, ref = verses
    args = parse(*[str(a).format(src=src, ref=ref) for a in argv])
    with pytest.raises(NmtError, match=message):
        cli.run(args)
