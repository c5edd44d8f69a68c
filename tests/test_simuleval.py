"""nmt's latency metrics against SimulEval's own scorers, and SimulEval's command line evaluating
an nmt model through nmt.evaluation.simuleval_agent.

SimulEval 1.1.4 pins tqdm==4.64.1 and bitarray==2.6.0 and pulls pytest-flake8, yt-dlp and more,
so it is never installed into nmt's environment. A session fixture makes a separate venv (kept
in pytest's cache, so only the first run pays ~15 s) that sees nmt's environment through a .pth
file and adds only SimulEval and the few modules its command line imports, without their pins
(`pip install --no-deps`). Without a package index the tests skip, saying why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from nmt.evaluation.latency import LATENCY_METRICS, SentenceDelays, corpus_latency, sentence_latency

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
SIMULEVAL = "simuleval==1.1.4"
# What SimulEval's latency scorers and command line import that nmt's environment lacks;
# everything else (sacrebleu, pandas, pyyaml, tqdm) comes from nmt's environment.
EXTRA = ["textgrid", "requests", "urllib3", "charset-normalizer", "tornado"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="session")
def simuleval_python(request) -> Path:
    """The Python of a venv with SimulEval, over nmt's environment."""
    home = Path(request.config.cache.mkdir("simuleval-1.1.4-venv"))
    python = home / "bin" / "python"
    ready = home / "nmt-ready"
    if ready.exists() and python.exists():
        return python
    steps = [[sys.executable, "-m", "venv", "--clear", str(home)]]
    steps.append([str(python), "-m", "pip", "install", "--no-deps", "--quiet", SIMULEVAL, *EXTRA])
    for i, step in enumerate(steps):
        done = subprocess.run(step, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.skip(f"cannot install {SIMULEVAL}: {' '.join(step[2:])} failed: "
                        f"{done.stderr.strip()[-500:]}")
        if i == 0:  # nmt's site-packages (and its editable installs) after the venv's own
            purelib = sysconfig.get_paths()["purelib"]
            site = Path(subprocess.check_output(
                [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                text=True).strip())
            (site / "zz_nmt_environment.pth").write_text(
                f"import site; site.addsitedir({purelib!r})\n")
    ready.write_text(SIMULEVAL + "\n")
    return python


# A SimulEval instance is all its latency scorers read: delays, source_length and, with
# use_ref_len, the reference and its length.
SCORE_WITH_SIMULEVAL = """
import json, sys
from types import SimpleNamespace
from simuleval.evaluator.scorers.latency_scorer import LATENCY_SCORERS_DICT
cases = json.load(sys.stdin)
out = {}
for use_ref_len in (True, False):
    instances = {i: SimpleNamespace(delays=c["delays"], source_length=c["source_length"],
                                    reference_length=c["reference_length"],
                                    reference=None if c["reference_length"] is None else "ref",
                                    metrics={})
                 for i, c in enumerate(cases)}
    for name in sys.argv[1:]:
        scorer = LATENCY_SCORERS_DICT[name](use_ref_len=use_ref_len)
        out[f"{name}/{use_ref_len}"] = {"corpus": scorer(instances),
                                        "sentences": [scorer.compute(instances[i])
                                                      for i in range(len(cases))]}
print(json.dumps(out))
"""


def simuleval_scores(python: Path, cases: list[SentenceDelays]) -> dict:
    payload = json.dumps([c.__dict__ for c in cases])
    done = subprocess.run([str(python), "-c", SCORE_WITH_SIMULEVAL, *LATENCY_METRICS],
                          input=payload, capture_output=True, text=True, timeout=120, env=ENV)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_same_as_simuleval(python: Path, cases: list[SentenceDelays]) -> None:
    theirs = simuleval_scores(python, cases)
    for name in LATENCY_METRICS:
        for use_ref_len in (True, False):
            expected = theirs[f"{name}/{use_ref_len}"]
            ours = [sentence_latency(name, c, use_ref_len) for c in cases]
            assert ours == expected["sentences"], (name, use_ref_len)
            assert corpus_latency(name, cases, use_ref_len).score == expected["corpus"]


HAND_MADE = [
    SentenceDelays([3, 4, 5, 6, 7, 8, 9, 10, 10, 10], 10, 10),  # wait-3, equal lengths
    SentenceDelays([1, 1, 2, 2, 3, 3, 4, 4], 4, 4),  # over-generation (Papi et al. 2022)
    SentenceDelays([1, 4, 4, 4], 4, 6),  # a burst at the end, shorter than the reference
    SentenceDelays([7, 7, 7, 7, 7], 7, 5),  # full-sentence translation
    SentenceDelays([5, 5], 3, 2),  # first word after the source (SimulEval's guard)
    SentenceDelays([2], 9, 3),  # one word
    SentenceDelays([1, 2, 2, 5, 9, 9, 9], 9, None),  # no reference
]


def test_hand_made_delays_score_as_in_simuleval(simuleval_python):
    assert_same_as_simuleval(simuleval_python, HAND_MADE)


@pytest.fixture(scope="module")
def translator():
    from nmt import Translator

    return Translator.load()


def test_stream_delays_of_verses_score_as_in_simuleval(simuleval_python, translator):
    from nmt.evaluation.streaming import run_sentences

    sources = (DATA / "bible-sample.dev.en").read_text(encoding="utf-8").splitlines()[:6]
    references = (DATA / "bible-sample.dev.fr").read_text(encoding="utf-8").splitlines()[:6]
    cases = []
    for k in (0, 3):
        for s in run_sentences(translator, sources, references, "retranslate", k,
                               translator.resolve()):
            cases.append(SentenceDelays(s.delays, s.source_length, s.reference_length))
    assert_same_as_simuleval(simuleval_python, cases)


# Verses 1, 2 and 12 of the dev sample: with mask-3 the bundled model never revises verse 12,
# and revises the others, which SimulEval cannot show.
VERSES = [0, 1, 11]


def test_simuleval_command_line_evaluates_an_nmt_model(simuleval_python, translator, tmp_path):
    from nmt.evaluation.metrics import Scorer
    from nmt.evaluation.streaming import feed
    from nmt.streaming import Stream

    sources = (DATA / "bible-sample.dev.en").read_text(encoding="utf-8").splitlines()
    references = (DATA / "bible-sample.dev.fr").read_text(encoding="utf-8").splitlines()
    sources, references = [sources[i] for i in VERSES], [references[i] for i in VERSES]
    (tmp_path / "src.en").write_text("\n".join(sources) + "\n", encoding="utf-8")
    (tmp_path / "ref.fr").write_text("\n".join(references) + "\n", encoding="utf-8")
    simuleval = simuleval_python.parent / "simuleval"
    done = subprocess.run(
        [str(simuleval), "--agent-class", "nmt.evaluation.simuleval_agent.NmtAgent",
         "--nmt-model", str(REPO / "nmt" / "models" / "bible-en-fr"), "--nmt-k", "3",
         "--source", str(tmp_path / "src.en"), "--target", str(tmp_path / "ref.fr"),
         "--output", str(tmp_path / "out"), "--quality-metrics", "BLEU",
         "--latency-metrics", *LATENCY_METRICS, "--no-progress-bar"],
        capture_output=True, text=True, timeout=180, env=ENV, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    header, values = (tmp_path / "out" / "scores.tsv").read_text().splitlines()
    reported = dict(zip(header.split("\t"), map(float, values.split("\t"))))
    instances = [json.loads(line) for line in (tmp_path / "out" / "instances.log").open()]
    assert [i["index"] for i in instances] == [0, 1, 2]

    # SimulEval's numbers (rounded to 3 decimals) are ours on the delays it recorded ...
    cases = [SentenceDelays(i["delays"], i["source_length"], len(ref.split()))
             for i, ref in zip(instances, references)]
    for name in LATENCY_METRICS:
        assert reported[name] == round(corpus_latency(name, cases).score, 3), name
    hypotheses = [i["prediction"] for i in instances]
    bleu = Scorer("bleu", [references]).corpus(hypotheses)
    assert reported["BLEU"] == round(bleu.score, 3)

    # ... and a verse the stream never revises comes out of SimulEval as out of nmt, with the
    # delays Stream.word_delays() gives: both count a word as shown once the committed text
    # goes on past it (or the stream ends).
    unrevised = 0
    for instance, source in zip(instances, sources):
        stream = Stream(translator, k=3)
        final, _ = feed(stream, source)
        if stream.erased == 0:
            unrevised += 1
            assert instance["prediction"] == " ".join(final.split())
            ours = stream.word_delays()
            assert instance["delays"] == ours
        else:
            assert "revised words already written" in done.stderr
    assert unrevised >= 1
