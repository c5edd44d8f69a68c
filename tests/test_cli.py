"""The commands run as a user runs them: train, translate, and their failures."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from conftest import tiny_config

from safetensors.torch import load_file

from nmt import DISTRIBUTION, NmtError, Translator, checkpoint

SENTENCES = ["And Jesus said unto them, Follow me.", "", "The kingdom of heaven is at hand."]


def nmt(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "nmt", *args], input=stdin, capture_output=True,
                          text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"nmt {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def test_training_run_is_a_model_directory(tiny_model):
    names = {p.name for p in tiny_model.iterdir()}
    assert {"config.yaml", "model.safetensors", "nmt.json", "src_tokenizer.json",
            "tgt_tokenizer.json", "metrics.jsonl"} <= names
    meta = json.loads((tiny_model / "nmt.json").read_text())
    assert meta["components"]["cell"] == {"name": "lstm", "distribution": DISTRIBUTION,
                                          "version": meta["nmt_version"]}
    records = [json.loads(line) for line in (tiny_model / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if r["event"] == "train"]
    assert losses[-1] < losses[0] - 0.5, losses  # it learns
    evals = [r for r in records if r["event"] == "eval"]
    assert evals and all("dev_bleu" in r and "dev_loss" in r for r in evals)
    assert all(r["eval_seconds"] > 0 for r in evals)  # learning curves can leave evaluation out
    assert "eval_seconds" not in meta.get("scores", {})  # a timing, not a score of the model
    assert all(r["tgt_tokens_per_s"] > 0 for r in records if r["event"] == "train")


def test_translate_cli_matches_python_api_and_keeps_lines(tiny_model, tmp_path):
    expected = Translator.load(tiny_model).translate(SENTENCES, beam=2)
    out = nmt("translate", "--model", str(tiny_model), "--beam", "2", stdin="\n".join(SENTENCES) + "\n")
    assert out.stdout.splitlines() == expected
    assert expected[1] == ""
    src = tmp_path / "in.txt"
    src.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    nmt("translate", "-m", str(tiny_model), "-k", "2", "-i", str(src), "-o", str(tmp_path / "out.txt"))
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines() == expected
    again = nmt("translate", "-m", str(tiny_model), "-i", str(src), "-o", str(tmp_path / "out.txt"),
                check=False)
    assert again.returncode != 0 and "--force" in again.stderr


def test_translate_cli_decoding_overrides_and_threads(tiny_model):
    caps = ["decoding.max_length_ratio=0", "decoding.max_length_offset=2"]
    expected = Translator.load(tiny_model, overrides=caps).translate(SENTENCES, beam=2)
    assert expected != Translator.load(tiny_model).translate(SENTENCES, beam=2)  # the cap bites
    out = nmt("translate", "-m", str(tiny_model), "-k", "2", "--threads", "1",
              "--set", "decoding.max_length_ratio=0", "--set", "decoding.max_length_offset=2",
              stdin="\n".join(SENTENCES) + "\n")
    assert out.stdout.splitlines() == expected
    bad = nmt("translate", "-m", str(tiny_model), "--set", "model.cell=gru", stdin="x\n", check=False)
    assert bad.returncode != 0 and "decoding.*" in bad.stderr and "Traceback" not in bad.stderr
    typo = nmt("translate", "-m", str(tiny_model), "--set", "decoding.beem=3", stdin="x\n", check=False)
    assert typo.returncode != 0 and "beam" in typo.stderr and "Traceback" not in typo.stderr


def test_greedy_and_beam_differ_only_through_search(tiny_model):
    translator = Translator.load(tiny_model)
    greedy = translator.translate(SENTENCES, beam=1)
    beam = translator.translate_detailed(SENTENCES[0], beam=4, nbest=3)
    assert len(greedy) == 3 and 1 <= len(beam) <= 3
    assert [h.score for h in beam] == sorted((h.score for h in beam), reverse=True)
    assert beam[0].text == translator.translate([SENTENCES[0]], beam=4)[0]
    for h in beam:
        assert len(h.attention) == len(h.tgt_pieces)
        assert all(len(row) == len(h.src_pieces) for row in h.attention)


def test_save_load_gives_identical_translations(tiny_model, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model, copy)
    a = Translator.load(tiny_model).translate(SENTENCES, beam=3)
    b = Translator.load(copy).translate(SENTENCES, beam=3)
    assert a == b


def test_train_cli_with_overrides_and_no_overwrite(tmp_path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config().to_dict()), encoding="utf-8")
    out = tmp_path / "run"
    nmt("train", "--config", str(cfg), "--out", str(out), "--quiet", "--set", "model.cell=gru",
        "--set", "model.attention=bahdanau", "--set", "training.max_steps=4",
        "--set", "training.eval_every=2")
    assert yaml.safe_load((out / "config.yaml").read_text())["model"]["cell"] == "gru"
    weights = (out / "model.safetensors").read_bytes()
    again = nmt("train", "--config", str(cfg), "--out", str(out), check=False)
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
    assert (out / "model.safetensors").read_bytes() == weights  # nothing lost
    assert Translator.load(out).translate(["Jesus wept."], beam=2)[0] is not None


@pytest.mark.parametrize("override,expected", [
    ("model.cell=lstn", "Did you mean 'lstm'"),
    ("model.atention=dot", "Did you mean 'model.attention'"),
    ("training.batch_tokens=-5", "outside its range"),
])
def test_config_mistakes_are_one_clear_error(tmp_path, override, expected):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config().to_dict()), encoding="utf-8")
    proc = nmt("train", "--config", str(cfg), "--out", str(tmp_path / "run"), "--set", override,
               check=False)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()  # a run that never started leaves no directory behind


def _broken_copy(tiny_model: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "broken"
    shutil.copytree(tiny_model, copy)
    return copy


def test_truncated_weights_are_refused_clearly(tiny_model, tmp_path):
    copy = _broken_copy(tiny_model, tmp_path)
    data = (copy / "model.safetensors").read_bytes()
    (copy / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(NmtError, match="truncated"):
        Translator.load(copy)
    proc = nmt("translate", "-m", str(copy), stdin="hello\n", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _flip_a_tensor_byte(path: Path) -> None:
    """Flip one bit in the middle of the tensor data (past safetensors' JSON header)."""
    data = bytearray(path.read_bytes())
    start = 8 + int.from_bytes(data[:8], "little")
    data[start + (len(data) - start) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_tampered_weights_are_refused_clearly(tiny_model, tmp_path):
    copy = _broken_copy(tiny_model, tmp_path)
    weights = copy / "model.safetensors"
    assert json.loads((copy / "nmt.json").read_text())["weights_sha256"] == _sha256(weights)
    _flip_a_tensor_byte(weights)
    load_file(str(weights))  # still a well-formed safetensors file: only the hash can tell
    with pytest.raises(NmtError, match="modified, truncated or partially written after it was saved"):
        Translator.load(copy)
    proc = nmt("translate", "-m", str(copy), stdin="Jesus wept.\n", check=False)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("nmt translate: error: ")
    assert "nmt export" in proc.stderr and "retrain" in proc.stderr


def test_models_saved_without_a_hash_still_load(tiny_model, tmp_path):
    copy = _broken_copy(tiny_model, tmp_path)
    meta = json.loads((copy / "nmt.json").read_text())
    del meta["weights_sha256"]  # as written by nmt before the hash existed
    (copy / "nmt.json").write_text(json.dumps(meta))
    assert Translator.load(copy).translate(SENTENCES, beam=2) == \
        Translator.load(tiny_model).translate(SENTENCES, beam=2)


def test_a_save_killed_between_its_two_files_leaves_a_model_that_loads(tiny_model, tmp_path,
                                                                        monkeypatch):
    """Weights and nmt.json are two renames: a kill between them must not fail the hash check."""
    loaded = checkpoint.load(tiny_model)
    with torch.no_grad():
        loaded.model.decoder.output.bias.add_(1.0)  # other weights, another hash

    class Killed(Exception):
        pass

    for phase in ("before the weights' rename", "before the final nmt.json"):
        copy = tmp_path / phase.replace(" ", "-")
        shutil.copytree(tiny_model, copy)
        original = _sha256(copy / "model.safetensors")
        real_replace, real_meta = checkpoint.os.replace, checkpoint._write_meta
        calls = []

        def replace(src, dst, phase=phase):
            if phase.startswith("before the weights") and str(dst).endswith("model.safetensors"):
                raise Killed
            real_replace(src, dst)

        def write_meta(directory, meta, phase=phase):
            calls.append(meta)
            if phase.endswith("nmt.json") and len(calls) == 2:
                raise Killed
            real_meta(directory, meta)

        monkeypatch.setattr(checkpoint.os, "replace", replace)
        monkeypatch.setattr(checkpoint, "_write_meta", write_meta)
        with pytest.raises(Killed):
            checkpoint.save_weights(copy, loaded.model, {"name": "copy"})
        monkeypatch.undo()
        changed = _sha256(copy / "model.safetensors") != original
        assert changed == phase.endswith("nmt.json"), phase
        assert Translator.load(copy).translate(["Jesus wept."], beam=1), phase
        assert not list(copy.glob(".model.safetensors.*.tmp")), phase
        checkpoint.save_weights(copy, loaded.model, {"name": "copy"})  # the next save completes
        meta = json.loads((copy / "nmt.json").read_text())
        assert meta["weights_sha256"] == _sha256(copy / "model.safetensors")
        assert "weights_sha256_replacing" not in meta


def test_export_records_the_hash_of_its_own_weights(tiny_model, tmp_path):
    out = tmp_path / "exported"
    nmt("export", str(tiny_model), "--out", str(out), "--fp16")
    meta = json.loads((out / "nmt.json").read_text())
    source_meta = json.loads((tiny_model / "nmt.json").read_text())
    assert meta["weights_sha256"] == _sha256(out / "model.safetensors")
    assert meta["weights_sha256"] != source_meta["weights_sha256"]  # fp16: other bytes
    assert Translator.load(out).translate(["Jesus wept."], beam=1)
    again = nmt("export", str(tiny_model), "--out", str(out), check=False)
    assert again.returncode == 2 and "--force" in again.stderr
    onto_itself = nmt("export", str(out), "--out", str(out) + "/", "--force", check=False)
    assert onto_itself.returncode == 2 and "is the model being exported" in onto_itself.stderr
    assert "Traceback" not in onto_itself.stderr and Translator.load(out)


def test_checkpoint_from_an_incompatible_version_is_refused_clearly(tiny_model, tmp_path):
    copy = _broken_copy(tiny_model, tmp_path)
    meta = json.loads((copy / "nmt.json").read_text())
    meta["format_version"] = 99
    (copy / "nmt.json").write_text(json.dumps(meta))
    with pytest.raises(NmtError, match="checkpoint format 99; this nmt .* reads format 1"):
        Translator.load(copy)
    proc = nmt("translate", "-m", str(copy), stdin="Jesus wept.\n", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "Use a matching nmt version" in proc.stderr


def test_pickle_payload_is_never_unpickled(tiny_model, tmp_path):
    copy = _broken_copy(tiny_model, tmp_path)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (copy / "model.safetensors").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(NmtError):
        Translator.load(copy)
    assert not marker.exists()


def test_checkpoint_naming_a_missing_plugin_says_what_to_install(tiny_model, tmp_path):
    copy = _broken_copy(tiny_model, tmp_path)
    meta = json.loads((copy / "nmt.json").read_text())
    meta["components"]["cell"] = {"name": "indrnn", "distribution": "nmt-indrnn", "version": "1.0"}
    (copy / "nmt.json").write_text(json.dumps(meta))
    with pytest.raises(NmtError, match="pip install 'nmt-indrnn'"):
        Translator.load(copy)


def test_bundled_model_translates_out_of_the_box():
    """README's first command relies on this: no --model means the model shipped in the package."""
    out = nmt("translate", "--beam", "3", stdin="In the beginning God created the heaven and the earth.\n")
    line = out.stdout.strip()
    assert line and line.isprintable() and "Dieu" in line  # a trained model, not noise
    translator = Translator.load()
    assert (translator.src_lang, translator.tgt_lang) == ("en", "fr")
    assert translator.translate(["In the beginning God created the heaven and the earth."], beam=3) == [line]
    size = sum(p.stat().st_size for p in translator.model_dir.iterdir())
    assert size < 25_000_000  # the budget for the package's model


def test_huge_input_is_truncated_with_a_note(tiny_model):
    text = "And Jesus said unto them. " * 4000  # 100,000 characters on one line
    proc = nmt("translate", "-m", str(tiny_model), "-k", "1", stdin=text + "\nJesus wept.\n")
    assert len(proc.stdout.splitlines()) == 2
    assert "truncated" in proc.stderr and "Traceback" not in proc.stderr
