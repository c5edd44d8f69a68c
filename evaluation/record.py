"""Record a model's test scores in its own ``nmt.json``, so the model says how good it is.

``nmt evaluate --model DIR --suite NAME --record-scores`` puts each test set's BLEU and chrF
under ``scores`` (beside the ``dev_*`` scores training leaves there), which is what the web UI's
model list and model card show, and the details that make each number reproducible (sacrebleu
signature, suite, set, references, decoding) under ``score_details``. Keys are ``test_bleu`` and
``test_chrf`` for the suite's first set, ``<set>_test_bleu``... for the others (``web_test_bleu``;
a ``-`` in a set name becomes ``_``).

The numbers in ``scores`` are against the primary reference alone, with sacrebleu's defaults:
the way test and dev scores are reported everywhere else (model card, issue goals, dev BLEU
during training), so a ``test_bleu`` beside a ``dev_bleu`` compares like with like. The scores
against all the set's references, as the suite's report prints them, are in
``score_details["all_references"]``.

Only ``nmt.json`` is rewritten, atomically, keeping every other key: the weights are never
touched, and ``weights_sha256`` (checked when the model loads) still describes them.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nmt.errors import NmtError
from nmt.evaluation.metrics import score
from nmt.evaluation.suites import Suite
from nmt.evaluation.systems import System
from nmt.evaluation.testset import EvalSet

__all__ = ["METRICS", "Recorded", "check_writable", "record", "score_key"]

# What is recorded for every set: the UI shows `test_bleu` first (nmt.ui.models), then all.
METRICS = ("bleu", "chrf")
META = "nmt.json"
SHA256 = "weights_sha256"  # nmt.checkpoint.SHA256; not imported, to keep torch out of here


@dataclass(frozen=True)
class Recorded:
    """What was written: the file and the scores added under ``scores``, by key."""

    path: Path
    scores: dict[str, float]


def score_key(suite: Suite, set_name: str | None, metric: str) -> str:
    """``test_bleu`` for the suite's first set, ``web_test_bleu`` for a set called ``web``."""
    if set_name is None or set_name == suite.sets[0].name:
        return f"test_{metric}"
    return f"{set_name.replace('-', '_')}_test_{metric}"


def check_writable(model_dir: str | Path) -> None:
    """Refuse, before anything is translated, a model whose ``nmt.json`` cannot be replaced.

    The file is replaced by a rename, so it is the directory that must be writable. A real
    probe (a temporary file made and removed) answers for read-only mounts, ACLs and the
    installed package alike, where permission bits alone can mislead.
    """
    model_dir = Path(model_dir)
    if not (model_dir / META).is_file():
        raise NmtError(
            f"--record-scores: {model_dir} has no {META}, so it is not a model directory nmt "
            "wrote; give the folder a training run or `nmt export` wrote"
        )
    try:
        fd, probe = tempfile.mkstemp(dir=model_dir, prefix=f".{META}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise NmtError(
            f"--record-scores writes the test scores into {model_dir / META}, but {model_dir} "
            f"is not writable ({err.strerror or err}); copy the model to a folder you can write "
            "(e.g. cp -r MODEL my-model) and evaluate that, or drop --record-scores"
        ) from None


def record(
    model_dir: str | Path, suite: Suite, done: list[tuple[EvalSet, System]]
) -> Recorded:
    """Write the scores of ``done`` (each set with the model's system) into the model's
    ``nmt.json``; test scores recorded earlier are replaced, other scores kept."""
    import sacrebleu

    from nmt import __version__
    from nmt.checkpoint import write_text

    model_dir = Path(model_dir)
    path = model_dir / META
    meta = _read(path)
    loaded = done[0][1].model["meta"] if done[0][1].model else {}
    if meta.get(SHA256) != loaded.get(SHA256):
        raise NmtError(
            f"{path} changed while the model was evaluated (its weights hash differs from the "
            "one loaded); nothing was recorded: evaluate the model again"
        )
    scores: dict[str, float] = {}
    details: dict[str, Any] = {}
    all_refs: dict[str, Any] = {}
    sets: dict[str, Any] = {}
    for evalset, system in done:
        assert evalset.suite is not None  # --record-scores requires --suite
        name = evalset.suite.test_set.name
        refs = [Path(r).name for r in evalset.ref_names]
        sets[evalset.suite.label] = {
            **{k: v for k, v in evalset.suite.test_set.as_dict().items() if k != "directory"},
            "n_sentences": evalset.n_sentences,
            "decoding": system.decoding,
        }
        primary = score(system.hypotheses, evalset.references[:1], METRICS)
        everything = score(system.hypotheses, evalset.references, METRICS)
        for metric, one, every in zip(METRICS, primary, everything):
            key = score_key(suite, name, metric)
            scores[key] = one.score
            details[key] = {"set": evalset.suite.label, "score": one.score,
                            "signature": one.signature, "references": refs[:1]}
            all_refs[key] = {"set": evalset.suite.label, "score": every.score,
                             "signature": every.signature, "references": refs}
    old_details = meta.get("score_details")
    old_keys = old_details.get("scores", {}) if isinstance(old_details, dict) else {}
    kept = {k: v for k, v in (meta.get("scores") or {}).items() if k not in old_keys}
    meta["scores"] = {**kept, **scores}
    meta["score_details"] = {
        "suite": suite.name,
        "description": suite.description,
        "recorded_by": "nmt evaluate --record-scores",
        "versions": {"nmt": __version__, "sacrebleu": sacrebleu.__version__},
        "sets": sets,
        "scores": details,
        "all_references": all_refs,
    }
    text = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
    try:
        write_text(path, text)
    except OSError as err:
        raise NmtError(
            f"cannot write the test scores into {path}: {err.strerror or err}; the model is "
            "unchanged (the file is replaced atomically)"
        ) from None
    return Recorded(path=path, scores=scores)


def _read(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise NmtError(f"cannot read {path} to record scores in it ({err})") from None
    if not isinstance(meta, dict):
        raise NmtError(f"{path} is not a JSON object; re-export the model")
    return meta
