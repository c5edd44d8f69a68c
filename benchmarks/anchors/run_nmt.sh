#!/usr/bin/env bash
# The nmt runner for ../shared/anchors: train for BUDGET_SECONDS on one pinned core, translate
# the test set greedily and with beam 5 (batch 64, no length penalty, at most 100 pieces out),
# score with the anchors' own score.py, print one JSON line like the JoeyNMT/OpenNMT-py runners.
#
#   bash benchmarks/anchors/run_nmt.sh BUDGET_SECONDS [CORE]
#   RUNNERS="nmt:0 onmt:1" ANCHOR_RUNNERS_DIR=... (see benchmarks/anchors/README.md)
#
# Environment: ANCHORS (default ../shared/anchors), NMT_PY (default .venv/bin/python),
# NMT_CONFIG (default configs/bible-en-fr-reference.yaml, the anchors' model), NMT_SET (extra
# space-separated config overrides, e.g. "training.output_candidates=1000"), plus lib.sh's.
# nmt reads the raw train/dev/test files of $DATA_DIR and learns its own joint byte-level BPE
# of 8,000 pieces (the anchors share one SentencePiece model); its hypotheses are handed to
# score.py as one U+2581-joined piece per line, which score.py turns back into the same text.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ANCHORS="${ANCHORS:-$REPO/../shared/anchors}"
# shellcheck source=/dev/null
source "$ANCHORS/lib.sh"
HERE="$ANCHORS"  # lib.sh's score() runs $HERE/score.py
anchors_init nmt "$@"

PY="${NMT_PY:-$REPO/.venv/bin/python}"
CONFIG="${NMT_CONFIG:-$REPO/configs/bible-en-fr-reference.yaml}"
VERSION="$("$PY" -c 'import nmt; print(nmt.__version__)')"
TORCH_VERSION="$("$PY" -c 'import torch; print(torch.__version__)')"
MODEL="$RUN_DIR/model"
EXTRA=()
for item in ${NMT_SET:-}; do EXTRA+=(--set "$item"); done

if [[ "${DECODE_ONLY:-0}" == 1 && -s "$RUN_DIR/stats.json" ]]; then
    log "DECODE_ONLY=1: reusing the training in $RUN_DIR"
else
    log "training ($CONFIG)"
    t0=$(now)
    pin "$PY" -m nmt train --config "$CONFIG" --out "$MODEL" --threads 1 --quiet --force \
        --max-time "$BUDGET" \
        --set data.corpus=null --set "data.train=$DATA_DIR/train" \
        --set data.src_lang=src --set data.tgt_lang=tgt "${EXTRA[@]}" \
        > "$RUN_DIR/train.out" 2>&1
    t1=$(now)
    TRAIN_SECONDS=$(elapsed "$t0" "$t1") BUDGET="$BUDGET" MODEL="$MODEL" PY="$PY" \
        "$PY" - > "$RUN_DIR/stats.json" <<'PY'
import json, os
from nmt import checkpoint
from nmt.model import count_parameters
events = [json.loads(line) for line in open(os.path.join(os.environ["MODEL"], "metrics.jsonl"))]
start = next(e for e in events if e["event"] == "start")
end = next(e for e in reversed(events) if e["event"] == "end")
model = checkpoint.load(os.environ["MODEL"]).model
print(json.dumps({
    "train_steps": end["steps"], "target_tokens": end["tgt_tokens"],
    "train_seconds": float(os.environ["TRAIN_SECONDS"]), "train_loop_seconds": end["loop_seconds"],
    "startup_seconds": start["time"], "budget_seconds": int(os.environ["BUDGET"]),
    "n_params": count_parameters(model),
}))
PY
fi

for beam in 1 5; do
    name=$([[ $beam == 1 ]] && echo greedy || echo beam5)
    log "decoding test set ($name)"
    t0=$(now)
    pin "$PY" -m nmt translate --model "$MODEL" --input "$DATA_DIR/test.src" \
        --output "$RUN_DIR/$name.raw" --force --beam "$beam" --length-penalty 0 --batch-size 64 \
        --threads 1 --set decoding.max_length_ratio=0 --set decoding.max_length_offset=100 \
        > "$RUN_DIR/$name.out" 2>&1
    t1=$(now)
    # score.py joins the pieces of a line and turns U+2581 into spaces: one piece per line.
    "$PY" -c 'import sys
for line in open(sys.argv[1], encoding="utf-8"):
    print("\u2581" + line.rstrip("\n").replace(" ", "\u2581"))' "$RUN_DIR/$name.raw" > "$RUN_DIR/$name.sp"
    score "$name"
    if [[ $beam == 1 ]]; then DEC_GREEDY=$(elapsed "$t0" "$t1"); else DEC_BEAM5=$(elapsed "$t0" "$t1"); fi
done

emit_result
