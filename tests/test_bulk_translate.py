"""Bulk translation in shards (nmt.bulk): two torchrun processes write the same bytes as one
process, and a killed run continues with --resume without translating its finished shards
again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import DATA

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
LIMIT = 240  # seconds for one launch; a healthy one takes well under a minute


def nmt_translate(*args: str, torchrun: bool = False) -> subprocess.CompletedProcess:
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"] if torchrun else []
    command = [sys.executable, *launcher, "-m", "nmt", "translate", *args]
    try:
        return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=LIMIT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`nmt translate` still running after {LIMIT} s:\n{(exc.stderr or b'')[-3000:]!r}")


def test_two_processes_write_what_one_process_writes(tmp_path, tiny_model):
    source = tmp_path / "in.en"
    lines = (DATA / "bible-sample.train.en").read_text(encoding="utf-8").splitlines()[:300]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    one, two = tmp_path / "one.fr", tmp_path / "two.fr"
    model = ["--model", str(tiny_model), "-i", str(source)]
    assert nmt_translate(*model, "-o", str(one)).returncode == 0
    proc = nmt_translate(*model, "-o", str(two), "--shard-lines", "40", torchrun=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert two.read_bytes() == one.read_bytes()
    assert len(one.read_text(encoding="utf-8").splitlines()) == 300
    assert [p.name for p in tmp_path.iterdir() if ".parts-" in p.name] == []  # cleaned up


def test_a_killed_run_resumes_without_redoing_finished_shards(tmp_path):
    source = tmp_path / "in.en"
    lines = (DATA / "bible-sample.train.en").read_text(encoding="utf-8").splitlines()[:120]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reference, out = tmp_path / "reference.fr", tmp_path / "out.fr"
    fast = ["--beam", "2"]  # the bundled model, quicker
    assert nmt_translate("-i", str(source), "-o", str(reference), *fast).returncode == 0

    run = [sys.executable, "-m", "nmt", "translate", "-i", str(source), "-o", str(out),
           "--resume", "--shard-lines", "20", *fast]
    killed = subprocess.Popen(run, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + LIMIT
    try:
        while len(list(tmp_path.glob("out.fr.parts-*/shard-*.txt"))) < 2:
            assert killed.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no shard was written in time"
            time.sleep(0.05)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    finished = len(list(tmp_path.glob("out.fr.parts-*/shard-*.txt")))
    assert not out.exists() and 2 <= finished < 6

    proc = nmt_translate("-i", str(source), "-o", str(out), "--resume", "--shard-lines", "20", *fast)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"rank 0: {finished} of its 6 shards were already done" in proc.stderr
    assert out.read_bytes() == reference.read_bytes()
    assert not list(tmp_path.glob("out.fr.parts-*"))


def test_sharded_runs_need_an_output_file(tmp_path):
    proc = nmt_translate("-i", str(DATA / "bible-sample.dev.en"), "--resume")
    assert proc.returncode == 2 and "give --output" in proc.stderr


def test_parts_are_named_by_input_and_settings(tmp_path):
    from nmt.bulk import parts_dir

    out = tmp_path / "o.fr"
    a = parts_dir(out, ["one", "two"], {"beam": 5}, 10)
    assert a == parts_dir(out, ["one", "two"], {"beam": 5}, 10)
    assert len({a, parts_dir(out, ["one", "two!"], {"beam": 5}, 10),
                parts_dir(out, ["one", "two"], {"beam": 4}, 10),
                parts_dir(out, ["one", "two"], {"beam": 5}, 11)}) == 4
    assert a.parent == tmp_path and a.name.startswith("o.fr.parts-")
