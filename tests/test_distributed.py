"""Data-parallel runs that end on a time budget: every rank must leave together, and the run end.

Each test launches two real gloo processes through torchrun. A run that deadlocks never ends,
so each launch has a wall-clock limit, and hitting it fails the test with the ranks' output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import micro_config

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
LIMIT = 240  # seconds; a healthy launch takes about 20


def torchrun(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
               "2", *args]
    try:
        return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=LIMIT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the two ranks were still running after {LIMIT} s (deadlock?):\n"
                    f"{(exc.stderr or b'')[-3000:]!r}")


def config_file(tmp_path: Path) -> Path:
    # No step limit: only the clock ends these runs. Evaluations every few steps put rank 0 in
    # the collective that ends an evaluation, the place the ranks used to deadlock.
    cfg = micro_config(max_steps=None, eval_every=3, save_every=1000)
    path = tmp_path / "micro.yaml"
    path.write_text(yaml.safe_dump(cfg.to_dict()), encoding="utf-8")
    return path


def end_record(run: Path) -> dict:
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [r for r in records if r["event"] == "end"][-1]


def on_both_ranks(tmp_path: Path, body: str) -> list[str]:
    """Run ``body`` (Python; ``sys.argv[1]`` the config, ``sys.argv[2]`` the run directory,
    ``rank`` this process's rank; it sets ``result``) on two ranks; each rank's result, in order.
    Each rank writes its own file: two ranks printing at once interleave their lines."""
    script = tmp_path / "on_both_ranks.py"
    script.write_text("import os, sys\nrank = int(os.environ['RANK'])\n" + body
                      + "open(f'{sys.argv[2]}.rank{rank}', 'w').write(str(result))\n", encoding="utf-8")
    run = tmp_path / "run"
    proc = torchrun(str(script), str(config_file(tmp_path)), str(run))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [(tmp_path / f"run.rank{r}").read_text() for r in (0, 1)]


def test_max_time_ends_a_two_process_run(tmp_path):
    run = tmp_path / "run"
    proc = torchrun("-m", "nmt", "train", "--quiet", "--config", str(config_file(tmp_path)),
                    "--out", str(run), "--max-time", "4")
    assert proc.returncode == 0, proc.stderr[-3000:]
    end = end_record(run)
    assert end["reason"] == "max_time" and end["steps"] > 0
    assert (run / "model.safetensors").is_file()


@pytest.mark.parametrize("hurried_rank", [0, 1])
def test_ranks_whose_clocks_disagree_still_stop_together(tmp_path, hurried_rank):
    """One rank's budget runs out long before the other's: both stop at its step."""
    summaries = [r.split() for r in on_both_ranks(tmp_path, (
        "from nmt import config\n"
        "from nmt.training.trainer import train\n"
        f"budget = 3.0 if rank == {hurried_rank} else 10_000.0\n"
        "summary = train(config.load(sys.argv[1]), sys.argv[2], max_time=budget, progress=False)\n"
        "result = f\"{rank} {summary['reason']} {summary['steps']}\"\n"))]
    run = tmp_path / "run"
    assert [s[0] for s in summaries] == ["0", "1"]
    assert {s[1] for s in summaries} == {"max_time"}  # the same reason on both ranks
    assert summaries[0][2] == summaries[1][2]  # and the same final step
    assert end_record(run)["reason"] == "max_time"


def test_each_rank_draws_its_own_dropout_masks(tmp_path):
    """Both ranks train on the same batch with dropout 0.5: equal losses would mean rank 1
    repeats rank 0's masks (both start from the run's seed), so its batches add less noise and
    less regularisation than a second process should."""
    losses = [float(r) for r in on_both_ranks(tmp_path, (
        "from pathlib import Path\n"
        "from nmt import config\n"
        "from nmt.training.trainer import Trainer\n"
        "cfg = config.load(sys.argv[1])\n"
        "cfg.model.dropout = 0.5\n"
        "trainer = Trainer(cfg, Path(sys.argv[2]), progress=False)\n"
        "trainer.setup()\n"
        "batch = list(range(8))\n"
        "result, _ = trainer.update([batch, batch])\n"))]
    assert losses[0] > 0 and losses[1] > 0
    assert losses[0] != losses[1]
