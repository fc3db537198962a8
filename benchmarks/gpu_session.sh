#!/usr/bin/env bash
# One prepared call for a lent GPU machine: the figures that issues "Foundation" (the paper-profile MNIST run)
# and "Scale and speed" (the benchmark suite on a GPU) need measured there. Everything it writes goes to $OUT
# (the device tool brings that folder back), or to runs/gpu_session where $OUT is unset.
#
#   bash benchmarks/gpu_session.sh                          # on the GPU machine, from the repository root
#   TRAIN_MIN=0.2 PROFILE=ci SUITE=0 bash benchmarks/gpu_session.sh   # a dry run of the same steps on a CPU
#
# Settings (environment): TRAIN_MIN (minutes of MNIST training, default 5), PROFILE (default paper),
# SUITE (1: run benchmarks/suite.py first, default 1), PYTHON (default python3: the device image's own torch).
# It writes 8 files at most (the device tool brings back 8). The training run resumes from runs/gpu_session_<profile> if it is still there (the same machine, a later call).
set -uo pipefail
OUT_DIR=${OUT:-runs/gpu_session}
TRAIN_MIN=${TRAIN_MIN:-5}
PROFILE=${PROFILE:-paper}
SUITE=${SUITE:-1}
PY=${PYTHON:-python3}
RUN=runs/gpu_session_${PROFILE}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT_DIR" "$RUN"
log() { echo "== $(date -u +%H:%M:%S) $*"; }

log "machine"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '')"
} 2>&1 | tee "$OUT_DIR/machine.txt"

if [ "$SUITE" = 1 ]; then
  log "benchmark suite (trainer against the plain float32 reference step, every model and size)"
  timeout 240 $PY benchmarks/suite.py --json "$OUT_DIR/suite.json" --markdown "$OUT_DIR/suite.md" 2>&1 | tail -30
fi

log "MNIST, profile $PROFILE, $TRAIN_MIN min of training"
$PY -m drnet_core train mnist --profile "$PROFILE" --out "$RUN" --time-limit "$TRAIN_MIN" --no-progress 2>&1 | tail -5
$PY - "$RUN/metrics.jsonl" <<'EOF' | tee "$OUT_DIR/mnist_curve.txt"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
speed = [r["samples_per_s"] for r in rows[len(rows) // 2:]]
print(f"steps {rows[-1]['step']}, training time {rows[-1]['wall_time'] / 60:.1f} min, median samples/s {sorted(speed)[len(speed) // 2]:.0f}")
for r in rows:
    if "eval_swap_accuracy" in r:
        print(f"step {r['step']:7d}  {r['wall_time'] / 60:6.1f} min  swap accuracy {r['eval_swap_accuracy']:.3f}  pose error {r['eval_pose_error_px']:.2f} px")
EOF

log "export (int8) and the 1,000-swap evaluation"
$PY -m drnet_core export "$RUN" --to "$OUT_DIR/mnist_${PROFILE}.pt" --storage int8 --swaps 1000 > /dev/null  # also copies the metrics log beside it
$PY -m drnet_core eval mnist --checkpoint "$OUT_DIR/mnist_${PROFILE}.pt" --swaps 1000 2>&1 | tee "$OUT_DIR/eval.txt"
log "done"
