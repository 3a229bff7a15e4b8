#!/usr/bin/env bash
# The checks that need a CUDA device: run on a GPU machine from the repository root.
# Uses the machine's own python3 with torch; textual is not needed for these.
set -u
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp}
# SECTIONS picks some of: tests snapshot run overhead record (default: all).
SECTIONS=${SECTIONS:-tests snapshot run overhead record}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
nvidia-smi -L
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
want tests && {
echo "== CUDA tests"
python3 -m pytest -q -p no:cacheprovider -o addopts="" --import-mode=importlib tests/engine/test_cuda.py tests/engine/test_summary.py tests/engine/test_backends_agree.py tests/run/test_cuda_run.py 2>&1 | tail -4
}
want snapshot && {
echo "== snapshot of a 10M-parameter model on the GPU"
python3 bench/snapshot.py --device cuda
}
want run && {
echo "== loopstep run on a CUDA script with autocast"
python3 -m loopstep run --no-tui --format jsonl --iterations 3 bench/gpu/train_cuda.py > "$OUT/run.jsonl"; echo "rc=$?"
python3 - "$OUT/run.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(len(rows), "records;", [r["phase"] for r in rows][:10])
print("losses:", [r["loss"] for r in rows if r["phase"] == "loss"])
PY
echo "== loopstep check on the same script"
python3 -m loopstep check bench/gpu/train_cuda.py --iterations 4; echo "rc=$?"
}
want overhead && {
echo "== loopstep run overhead on the GPU"
timeout 240 python3 bench/run_overhead.py --device cuda --repeats 3
}
want record && {
echo "== a CUDA script recorded (--record), then replayed"
python3 -m loopstep run --no-tui --format jsonl --iterations 4 --record "$OUT/cuda.lsr" bench/gpu/train_cuda.py > "$OUT/run_rec.jsonl"; echo "rc=$?"
python3 -m loopstep replay "$OUT/cuda.lsr" --no-tui --format jsonl > "$OUT/replay.jsonl"; echo "rc=$?"
python3 bench/gpu/compare_replay.py "$OUT/run_rec.jsonl" "$OUT/replay.jsonl" "$OUT/cuda.lsr"
echo "== recording a 10M-parameter model on the GPU: cost and bytes per iteration"
timeout 150 python3 bench/record.py --big --device cuda --rounds 3
}
