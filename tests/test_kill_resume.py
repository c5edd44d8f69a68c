"""Ten SIGKILLs at ten moments of one real training run, each followed by ``nmt train --resume``.

The run is ``python -m nmt train`` on the micro config with a resumable checkpoint every two
steps and an evaluation (which saves the best weights) every four. Each moment is watched for by
freezing the trainer with SIGSTOP, looking at the run directory, and either killing it there
(SIGKILL lands exactly in the state that was seen) or letting it go on (SIGCONT). Moments that
are files existing for a millisecond (a checkpoint being written, the weights' temporary file)
are caught when a look falls inside them; if none does within two checkpoints the kill happens
then instead (run with ``-s`` to see which moments were hit).

After every kill: ``checkpoints/latest`` names a complete checkpoint, never an older one than
before; the run directory's model loads (weights matching their recorded hash); and the next
process resumes from exactly that checkpoint. The last resume runs to ``max_steps``, and its
weights equal those of a run never interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from safetensors.torch import load_file
from test_training import ENV, assert_same_weights, weights, write_config

from nmt import checkpoint, config
from nmt.training import state
from nmt.training.trainer import train

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SIGSTOP/SIGKILL and /proc")

MAX_STEPS, SAVE_EVERY, EVAL_EVERY = 24, 2, 4


class Watch:
    """What a trainer process has done since it started, read from the run directory."""

    def __init__(self, run: Path, proc: subprocess.Popen) -> None:
        self.run, self.proc, self.spawned = run, proc, time.monotonic()
        self._size, self._records = -1, []
        self.before = self._entries()
        self.lines_before = len(self._metrics())
        self.latest_before = latest_step(run)
        self.resumed_at: float | None = None

    def _entries(self) -> set[tuple[str, int]]:
        found = set()
        for folder in [self.run, self.run / "checkpoints", *sorted(self.run.glob("best/step-*"))]:
            try:
                with os.scandir(folder) as it:
                    found.update((str(Path(e.path).relative_to(self.run)), e.inode()) for e in it)
            except FileNotFoundError:
                pass
        return found

    def new(self, pattern: str) -> list[Path]:
        """Files or directories matching ``pattern`` that this process created."""
        return [self.run / name for name, inode in self._entries() - self.before
                if Path(name).match(pattern)]

    def _metrics(self) -> list[dict]:
        path = self.run / "metrics.jsonl"
        size = path.stat().st_size if path.exists() else 0
        if size != self._size:  # parsed again only when it grew; a line being written waits
            text = path.read_text(encoding="utf-8") if size else ""
            text = text[: text.rfind("\n") + 1]
            self._size = len(text.encode("utf-8"))
            self._records = [json.loads(line) for line in text.splitlines()]
        return self._records

    def started(self) -> bool:
        """The process logged its start (or resume): from here on it writes checkpoints."""
        return any(r["event"] in ("start", "resume") for r in self.events())

    def events(self) -> list[dict]:
        return self._metrics()[self.lines_before :]

    def count(self, event: str) -> int:
        return sum(1 for r in self.events() if r["event"] == event)

    def since_resume(self) -> float:
        if self.resumed_at is None and self.count("resume"):
            self.resumed_at = time.monotonic()
        return 0.0 if self.resumed_at is None else time.monotonic() - self.resumed_at

    def advanced(self) -> int:
        return (latest_step(self.run) or 0) - (self.latest_before or 0)


def latest_step(run: Path) -> int | None:
    path = state.latest(run)
    return None if path is None else int(path.name.split("-")[1])


def replacing_recorded(w: Watch) -> bool:
    """Between the two renames of a weights save: nmt.json accepts the old or the new hash."""
    return any(checkpoint.SHA256_REPLACING in p.read_text(encoding="utf-8")
               for p in w.new("nmt.json") + w.new("best/step-*/nmt.json") if p.exists())


# (moment, exact, condition): the trainer is killed the first time the condition holds while
# frozen. An exact moment always comes; the others are windows of a millisecond or so, caught when
# a look falls inside one, else the kill comes after two more checkpoints.
MOMENTS: list[tuple[str, bool, Callable[[Watch], bool]]] = [
    ("first run, while a checkpoint directory is being written", False,
     lambda w: w.advanced() >= 2 and bool(w.new("checkpoints/.step-*.partial"))),
    ("0.5 s after start, while the resumed process starts up", True,
     lambda w: time.monotonic() - w.spawned >= 0.5),
    ("just after the resumed process restored the checkpoint", True,
     lambda w: w.count("resume") > 0),
    ("while model.safetensors is written to its temporary file", False,
     lambda w: bool(w.new(".model.safetensors.*.tmp") + w.new("step-*/.model.safetensors.*.tmp"))),
    ("between the weights' two files (nmt.json accepts the old or new hash)", False,
     replacing_recorded),
    ("while the checkpoints/latest pointer is replaced", False,
     lambda w: bool(w.new("checkpoints/.latest.*.tmp"))),
    ("while a checkpoint directory is being written (resumed process)", False,
     lambda w: bool(w.new("checkpoints/.step-*.partial"))),
    ("0.4 s into training after a resume", True, lambda w: w.since_resume() >= 0.4),
    ("just after an evaluation saved the best weights", True, lambda w: w.count("eval") > 0),
    ("just after a checkpoint completed", True, lambda w: w.advanced() > 0),
]


def _frozen(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in "TtZX"
    except FileNotFoundError:
        return True


def kill_when(w: Watch, condition: Callable[[Watch], bool], exact: bool,
              during_start_up: bool = False, timeout: float = 900) -> str:
    """SIGKILL the trainer in the first frozen state where ``condition`` holds; say how it ended.

    Until the trainer has logged its start it writes no checkpoint, so it is looked at only
    every 50 ms then (unless the moment is in its start-up), and frozen for each look after.
    """
    pid, deadline = w.proc.pid, time.monotonic() + timeout
    while time.monotonic() < deadline:
        if w.proc.poll() is not None:
            raise AssertionError(f"the trainer exited ({w.proc.returncode}) before its kill")
        if not during_start_up and not w.started():
            time.sleep(0.05)
            continue
        os.kill(pid, signal.SIGSTOP)
        while not _frozen(pid):
            time.sleep(0.0002)
        how = "hit" if condition(w) else \
            "fallback" if not exact and w.advanced() >= 2 * SAVE_EVERY else None
        if how:
            os.kill(pid, signal.SIGKILL)
            w.proc.wait()
            return how
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.003)
    raise AssertionError("no kill moment within the timeout")


def check_after_kill(run: Path, previous: int | None) -> int:
    """The latest checkpoint is complete and not older than before; the run's model loads."""
    path = state.latest(run)
    assert path is not None, "no complete checkpoint named by checkpoints/latest"
    saved = json.loads((path / "state.json").read_text(encoding="utf-8"))
    step = int(path.name.split("-")[1])
    assert saved["step"] == step and step >= (previous or 0)
    for name in ("model.safetensors", "optimizer.safetensors", "rng.safetensors"):
        assert load_file(str(path / name)), name
    if (run / checkpoint.META).exists():  # the best weights so far: hash and file agree
        checkpoint.load(run)
    return step


def spawn(*args: str, log: Path) -> subprocess.Popen:
    with open(log, "ab") as err:
        return subprocess.Popen([sys.executable, "-m", "nmt", "train", "--quiet", *args], env=ENV,
                                stdout=subprocess.DEVNULL, stderr=err)


def test_ten_sigkills_then_resume_to_the_same_weights(tmp_path):
    cfg_path = write_config(tmp_path, max_steps=MAX_STEPS, save_every=SAVE_EVERY,
                            eval_every=EVAL_EVERY, early_stopping_metric="loss", keep_best=2)
    run, log = tmp_path / "run", tmp_path / "stderr.txt"
    report, hows, previous = [], [], None
    proc = spawn("--config", str(cfg_path), "--out", str(run), log=log)
    try:
        for moment, exact, condition in MOMENTS:
            watch = Watch(run, proc) if previous is not None else _first_watch(run, proc)
            how = kill_when(watch, condition, exact, during_start_up=moment.startswith("0.5 s"))
            resumed = [r["step"] for r in watch.events() if r["event"] == "resume"]
            assert resumed in ([], [previous]), (moment, resumed, previous)  # from the latest
            previous = check_after_kill(run, previous)
            hows.append(how)
            report.append(f"{how:8} latest step-{previous:02}: {moment}")
            proc = spawn("--resume", str(run), log=log)
        last = Watch(run, proc)
        assert proc.wait(timeout=900) == 0, log.read_text(errors="replace")[-3000:]
    finally:  # a failed check leaves no trainer behind, stopped or running
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [r["step"] for r in last.events() if r["event"] == "resume"] == [previous]
    end = [r for r in last.events() if r["event"] == "end"]
    assert end and end[-1]["steps"] == MAX_STEPS and end[-1]["reason"] == "max_steps"
    assert latest_step(run) == MAX_STEPS
    # What the kills left half-written was swept by the resumes (and never read).
    assert not [p.name for p in run.rglob(".*") if p.name.endswith((".tmp", ".partial"))]
    print("\n".join(["kills:", *report]))
    assert hows.count("hit") >= sum(exact for _, exact, _ in MOMENTS), report

    whole = tmp_path / "whole"  # the same run, never interrupted (in this process: no start-up)
    train(config.load(cfg_path), whole, progress=False)
    assert_same_weights(weights(whole), weights(run))
    meta = checkpoint.load(run).meta
    assert meta["weights_sha256"] == checkpoint.file_sha256(run / "model.safetensors")


def _first_watch(run: Path, proc: subprocess.Popen) -> Watch:
    """The first process creates the run directory: watch it once it exists."""
    while not (run / "config.yaml").exists():
        if proc.poll() is not None:
            raise AssertionError(f"nmt train exited with {proc.returncode}")
        time.sleep(0.05)
    return Watch(run, proc)
