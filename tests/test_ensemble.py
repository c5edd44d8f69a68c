"""Ensemble decoding: several models searched as one (nmt.ensemble)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import micro_config

from nmt import Translator, config
from nmt.errors import NmtError
from nmt.evaluation.metrics import score
from nmt.training.trainer import train

VERSES = ["In the beginning God created the heaven and the earth.",
          "And God said, Let there be light: and there was light.",
          "Jesus wept.", "The Lord is my shepherd; I shall not want."]


def test_a_model_with_itself_is_that_model(tiny_model):
    one = Translator.load(tiny_model)
    two = Translator.load([tiny_model, tiny_model])
    assert two.meta["ensemble"] == [str(tiny_model)] * 2 and two.name.count("+") == 1
    assert two.translate(VERSES) == one.translate(VERSES)
    for lone, paired in zip(one.translate_detailed(VERSES[0], nbest=3),
                            two.translate_detailed(VERSES[0], nbest=3)):
        assert paired.text == lone.text
        assert paired.score == pytest.approx(lone.score, abs=1e-4)
        torch.testing.assert_close(torch.tensor(paired.attention), torch.tensor(lone.attention))
    # whole vocabulary and n-gram blocking too
    options = one.options.updated(shortlist=False, no_repeat_ngram=2)
    assert two.translate(VERSES, options=options) == one.translate(VERSES, options=options)
    int8 = Translator.load([tiny_model, tiny_model], quantize="int8")
    assert int8.translate(VERSES) == Translator.load(tiny_model, quantize="int8").translate(VERSES)


def test_models_with_other_vocabularies_are_refused_by_name(tiny_model, tmp_path):
    other = tmp_path / "micro"
    train(micro_config(max_steps=1, eval_every=1), other, progress=False)
    with pytest.raises(NmtError, match=r"models 'run' \(.*\) and 'micro' \(.*micro\) have "
                                       "different source vocabularies; an ensemble needs"):
        Translator.load([tiny_model, other])


def test_cli_takes_the_model_option_twice(tiny_model, tmp_path):
    text = "\n".join(VERSES) + "\n"
    run = lambda *models: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "nmt", "translate", *[a for m in models for a in ("--model", str(m))]],
        input=text, capture_output=True, text=True, timeout=120)
    alone, paired = run(tiny_model), run(tiny_model, tiny_model)
    assert paired.returncode == 0, paired.stderr
    assert paired.stdout == alone.stdout and len(paired.stdout.splitlines()) == len(VERSES)
    refused = subprocess.run([sys.executable, "-m", "nmt", "translate", "--model", str(tiny_model),
                              "--model", str(tiny_model), "--stream", "--policy", "wait-k"],
                             input="a b\n", capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "an ensemble streams with the retranslate policy" in refused.stderr


# A small corpus a small model learns in seconds: numbers, adjectives and nouns, the adjective
# after its noun in French, so that attention has to reorder.
_WORDS = {"one": "un", "two": "deux", "three": "trois", "four": "quatre", "five": "cinq",
          "red": "rouge", "green": "vert", "big": "grand", "small": "petit", "old": "vieux",
          "cat": "chat", "dog": "chien", "house": "maison", "tree": "arbre", "river": "fleuve",
          "and": "et"}


def _pair(rng: random.Random) -> tuple[str, str]:
    en, fr = [], []
    for _ in range(rng.randint(1, 3)):
        number = rng.choice(["one", "two", "three", "four", "five"])
        adjective = rng.choice(["red", "green", "big", "small", "old"])
        noun = rng.choice(["cat", "dog", "house", "tree", "river"])
        en += [number, adjective, noun]
        fr += [_WORDS[number], _WORDS[noun], _WORDS[adjective]]
        if rng.random() < 0.5:
            en.append("and")
            fr.append("et")
    return " ".join(en), " ".join(fr)


def test_two_seeds_together_score_at_least_the_better_one(tmp_path):
    rng = random.Random(0)
    for split, n in (("train", 3000), ("dev", 100)):
        pairs = [_pair(rng) for _ in range(n)]
        for side, lang in ((0, "en"), (1, "fr")):
            (tmp_path / f"{split}.{lang}").write_text("".join(p[side] + "\n" for p in pairs))
    models = []
    for seed in (1, 2):
        cfg = config.from_dict({
            "data": {"train": str(tmp_path / "train"), "dev": str(tmp_path / "dev"),
                     "src_lang": "en", "tgt_lang": "fr", "dev_max_examples": 20},
            "tokenizer": {"type": "word", "vocab_size": 100},
            "model": {"embedding_size": 32, "encoder_hidden_size": 32, "decoder_hidden_size": 64,
                      "dropout": 0.0},
            "training": {"batch_tokens": 1000, "learning_rate": 0.01, "max_steps": 150,
                         "eval_every": 150, "seed": seed, "threads": 1},
            "decoding": {"beam": 3}})
        train(cfg, tmp_path / f"seed{seed}", progress=False)
        models.append(tmp_path / f"seed{seed}")
    dev_src = (tmp_path / "dev.en").read_text().splitlines()
    dev_ref = (tmp_path / "dev.fr").read_text().splitlines()

    def bleu(dirs: list[Path]) -> float:
        return score(Translator.load(dirs).translate(dev_src), [dev_ref], ("bleu",))[0].score

    alone = [bleu([m]) for m in models]
    together = bleu(models)
    assert together >= max(alone), (alone, together)


def test_a_runs_best_checkpoints_load_and_ensemble_without_export(tmp_path):
    run = tmp_path / "run"
    train(micro_config(max_steps=4, eval_every=2, keep_best=2), run, progress=False)
    best = sorted((run / "best").iterdir())
    assert len(best) == 2 and not (best[0] / "config.yaml").exists()  # weights and nmt.json only
    alone = Translator.load(best[0])
    assert alone.translate(VERSES[:2]) and alone.model_dir == best[0]
    both = Translator.load(best)
    assert both.meta["ensemble"] == [str(b) for b in best]
    assert both.name == "+".join(b.name for b in best)  # step-N+step-M, not run+run
    assert len(both.translate(VERSES[:2])) == 2


def test_evaluate_scores_an_ensemble(tiny_model, data_dir, tmp_path):
    import json

    src, ref = str(data_dir / "bible-sample.dev.en"), str(data_dir / "bible-sample.dev.fr")

    def evaluate(*models: Path) -> dict:
        proc = subprocess.run(
            [sys.executable, "-m", "nmt", "evaluate", *[a for m in models for a in ("--model", str(m))],
             "--src", src, "--ref", ref, "--limit", "8", "--json",
             "--report", str(tmp_path / f"report-{len(models)}")],
            capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["systems"][0]

    alone, paired = evaluate(tiny_model), evaluate(tiny_model, tiny_model)
    assert paired["model"]["meta"]["ensemble"] == [str(tiny_model)] * 2
    assert [m["score"] for m in paired["metrics"]] == [m["score"] for m in alone["metrics"]]
