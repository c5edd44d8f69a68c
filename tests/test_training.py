"""Training depth: schedules, resume after a kill, Ctrl-C, best checkpoints, averaging, torchrun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from conftest import micro_config
from safetensors.torch import load_file

from nmt import Translator
from nmt.config import ModelConfig, TrainingConfig
from nmt.model import build_model
from nmt.training.schedule import Schedule
from nmt.training.trainer import train

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
                         / "model.safetensors"))


def assert_same_weights(a: dict, b: dict, atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=atol, rtol=0 if atol == 0 else 1e-4, msg=k)


def write_config(tmp_path: Path, **training) -> Path:
    path = tmp_path / "micro.yaml"
    path.write_text(yaml.safe_dump(micro_config(**training).to_dict()), encoding="utf-8")
    return path


def nmt_train(*args: str) -> subprocess.Popen:
    # Ctrl-C in a terminal reaches a process whose SIGINT is at its default; a test run started
    # in the background of a non-interactive shell would hand the child an ignored SIGINT.
    return subprocess.Popen([sys.executable, "-m", "nmt", "train", "--quiet", *args], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.parametrize("kind,expected", [
    ("constant", [1.0, 1.0, 1.0, 1.0]),
    ("warmup", [0.25, 0.5, 0.75, 1.0]),
    ("inverse_sqrt", [0.25, 0.5, 0.75, 1.0]),
])
def test_schedules_warm_up(kind, expected):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = Schedule(opt, TrainingConfig(schedule=kind, warmup_steps=4, learning_rate=1.0))
    seen = []
    for _ in range(4):
        seen.append(opt.param_groups[0]["lr"])
        sched.step()
    assert seen == pytest.approx(expected)
    if kind == "inverse_sqrt":
        for _ in range(12):
            sched.step()
        assert opt.param_groups[0]["lr"] == pytest.approx((4 / 17) ** 0.5)


def test_plateau_schedule_cuts_the_rate_after_patience():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = Schedule(opt, TrainingConfig(schedule="plateau", plateau_patience=1, plateau_factor=0.5,
                                         learning_rate=1.0))
    for score in (10, 9, 9):
        sched.observe(score)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5)
    state = sched.state_dict()
    again = Schedule(opt, TrainingConfig(schedule="plateau", learning_rate=1.0))
    again.load_state_dict(state)
    assert again.lr == pytest.approx(0.5)


def test_decoder_without_input_feeding_runs_fused_and_matches_steps():
    torch.manual_seed(0)
    for attention in ("general", "bahdanau", "dot"):
        cfg = ModelConfig(embedding_size=8, encoder_hidden_size=8, decoder_hidden_size=16,
                          input_feeding=False, dropout=0.0, attention=attention, decoder_layers=2)
        model = build_model(cfg, 30, 30)[0].eval()
        src = torch.randint(4, 30, (3, 6))
        lengths = torch.tensor([6, 4, 2])
        src[1, 4:] = 0
        src[2, 2:] = 0
        tgt = torch.randint(4, 30, (3, 5))
        with torch.no_grad():
            fused = torch.log_softmax(model(src, lengths, tgt), -1)
            _, memory, state = model.start(src, lengths)
            for t in range(5):
                logp, _, state = model.decoder.step(tgt[:, t], state, memory)
                torch.testing.assert_close(logp, fused[:, t], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("options", [
    {"tie_output": True, "embedding_size": 32},
    {"share_embeddings": True, "decoder_init": "zero"},
    {"decoder_init": "last", "input_feeding": False},
])
def test_model_options_train_save_and_load(tmp_path, options):
    cfg = micro_config(max_steps=3, eval_every=3)
    for key, value in options.items():
        setattr(cfg.model, key, value)
    train(cfg, tmp_path / "run", progress=False)
    translator = Translator.load(tmp_path / "run")
    assert translator.translate(["And Jesus answered."], beam=2)[0] is not None
    model = translator.model
    if options.get("tie_output"):
        assert model.decoder.output.weight is model.decoder.embedding.weight
    if options.get("share_embeddings"):
        assert model.encoder.embedding.weight is model.decoder.embedding.weight


def test_repeatable_and_exact_resume_after_sigkill(tmp_path):
    cfg = write_config(tmp_path, max_steps=12, save_every=3, eval_every=6)
    whole = tmp_path / "whole"
    proc = nmt_train("--config", str(cfg), "--out", str(whole))
    assert proc.wait(timeout=600) == 0, proc.stderr.read()

    killed = tmp_path / "killed"
    proc = nmt_train("--config", str(cfg), "--out", str(killed))
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # kill it once a checkpoint beyond the first exists
        latest = killed / "checkpoints" / "latest"
        if latest.exists() and latest.read_text().strip() >= "step-000000006":
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "checkpoints" / "latest").read_text().strip().endswith("12")
    resumed = subprocess.run([sys.executable, "-m", "nmt", "train", "--quiet", "--resume", str(killed)],
                             env=ENV, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_weights(weights(whole), weights(killed))
    events = [json.loads(x)["event"] for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert "resume" in events


def test_ctrl_c_saves_and_exits_cleanly(tmp_path):
    cfg = write_config(tmp_path, max_steps=100000, save_every=1000, eval_every=1000)
    run = tmp_path / "run"
    proc = nmt_train("--config", str(cfg), "--out", str(run))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not any(
            json.loads(x)["event"] == "train" for x in
            ((run / "metrics.jsonl").read_text().splitlines() if (run / "metrics.jsonl").exists() else [])):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130 and "Traceback" not in err
    assert (run / "checkpoints" / "latest").exists() and (run / "model.safetensors").exists()
    assert Translator.load(run).translate(["Jesus wept."], beam=1)


def test_keep_best_early_stopping_average_and_plot(tmp_path):
    cfg = micro_config(max_steps=40, eval_every=2, keep_best=3, patience=2, early_stopping_metric="loss")
    summary = train(cfg, tmp_path / "run", progress=False)
    run = tmp_path / "run"
    kept = sorted((run / "best").glob("step-*"))
    assert 2 <= len(kept) <= 3  # >= 3 evaluations happen (patience 2), the first two always kept
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if r["event"] == "eval"]
    best_loss = min(r["dev_loss"] for r in evals)
    assert json.loads((run / "nmt.json").read_text())["scores"]["dev_loss"] == pytest.approx(best_loss)
    if summary["reason"] == "early_stopping":  # two evaluations in a row without a better loss
        assert evals[-1]["dev_loss"] > best_loss and evals[-2]["dev_loss"] > best_loss
    assert (run / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"
    out = tmp_path / "avg"
    proc = subprocess.run([sys.executable, "-m", "nmt", "average", str(run), "--best", "2",
                           "--out", str(out)], capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0, proc.stderr
    two_best = sorted(kept, key=lambda p: json.loads((p / "nmt.json").read_text())["scores"]["dev_loss"])[:2]
    a, b = (load_file(str(k / "model.safetensors")) for k in two_best)
    avg = load_file(str(out / "model.safetensors"))
    name = "decoder.output.bias"
    torch.testing.assert_close(avg[name], (a[name] + b[name]) / 2)
    assert Translator.load(out).translate(["Jesus wept."], beam=1)
    before = (run / "model.safetensors").read_bytes()
    onto_itself = subprocess.run([sys.executable, "-m", "nmt", "average", str(run), "--best", "2",
                                  "--out", str(run), "--force"], capture_output=True, text=True, env=ENV)
    assert onto_itself.returncode != 0 and "is the run itself" in onto_itself.stderr
    assert "Traceback" not in onto_itself.stderr and (run / "model.safetensors").read_bytes() == before


WAIT_K = {"wait_k": 3, "wait_k_multi": True}


@pytest.mark.parametrize("extra", [{}, WAIT_K], ids=["offline", "multi-k wait-k"])
def test_torchrun_two_processes_match_one_process(tmp_path, extra):
    """gloo data parallelism: 2 ranks x 1 batch == 1 process accumulating 2 batches (for
    multi-k wait-k too: each batch draws its k by its place in the whole group)."""
    base = dict(max_steps=4, eval_every=100, save_every=4, threads=1)
    model = {"dropout": 0.0, **({"bidirectional": False, "decoder_init": "zero"} if extra else {})}
    single_cfg = micro_config(accumulate=2, **base)
    single_cfg.model.__dict__.update(model)
    single_cfg.training.__dict__.update(extra)
    train(single_cfg, tmp_path / "single", progress=False)

    ddp_cfg = micro_config(accumulate=1, **base)
    ddp_cfg.model.__dict__.update(model)
    ddp_cfg.training.__dict__.update(extra)
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(ddp_cfg.to_dict()), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "nmt", "train", "--quiet",
         "--config", str(path), "--out", str(tmp_path / "ddp")],
        env=ENV, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_weights(weights(tmp_path / "single"), weights(tmp_path / "ddp"), atol=1e-5)
    records = [json.loads(x) for x in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    assert records[0]["world_size"] == 2
    assert len([r for r in records if r["event"] == "start"]) == 1  # only rank 0 writes
    single = [json.loads(x) for x in (tmp_path / "single" / "metrics.jsonl").read_text().splitlines()]
    # the run's record counts what every rank trained on, as one process accumulating would
    assert records[-1]["event"] == single[-1]["event"] == "end"
    assert records[-1]["tgt_tokens"] == single[-1]["tgt_tokens"] > 0
