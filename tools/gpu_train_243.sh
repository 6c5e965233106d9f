#!/usr/bin/env bash
# The one prepared script for training h36m-243 on a lent GPU (docs/gpu-training.md).
#
#   OUT=... bash tools/gpu_train_243.sh              # on the device ($OUT is set by the run tool)
#   DEVICE=cpu STEPS=2 BATCH=8 FRAMES=27 OUT=/tmp/out bash tools/gpu_train_243.sh   # CPU dry run
#
# 1. checks that Python has torch, numpy, safetensors, scipy and huggingface_hub (installs torch
#    only if it is missing, from ./.whl wheels when present; the device cannot reach the internet);
# 2. unpacks the carried pack ($PACK, made by `python -m liftpose.datasets.compact pack`) into
#    $DATA once per machine;
# 3. trains with `python -m liftpose.train ... --max-minutes $MINUTES --resume` into $RUN, a folder
#    that outlives the command while the machine stays warm, so the next command continues from
#    $RUN/last.pt (on a fresh machine, INIT=<the float16 model brought back> warm-starts instead);
# 4. on every exit, even a failed one, copies to $OUT: the model as trained (float32, $OUT/run/,
#    where under the tool's 16 MiB a file), a float16 copy to ship ($OUT/h36m-$FRAMES/), the
#    training log and, with EVAL, eval.json.
#
# Every setting below is an environment variable. The run tool kills a command at 10 minutes
# without running this script's exit trap: keep MINUTES (training time) + loading + EVAL well
# inside it (defaults: 6 minutes of steps, about 1 minute of unpacking and loading).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

: "${OUT:?OUT is not set: the device run tool sets it; elsewhere pass OUT=/some/folder}"
PYTHON=${PYTHON:-python3}
PACK=${PACK:-packs/h36m.npz}               # the carried pack (ignored by git: research-only data)
WORK=${WORK:-/tmp/liftpose-gpu}            # survives between commands while the machine is warm
DATA=${DATA:-$WORK/h36m}                   # where the pack is unpacked; an existing folder is used as is
DEVICE=${DEVICE:-cuda}
FRAMES=${FRAMES:-243}
RUN=${RUN:-$WORK/h36m-$FRAMES}             # the run folder: last.pt, model.safetensors, train.log
STEPS=${STEPS:-20000}                      # total steps of the run (a resumed run counts on)
MINUTES=${MINUTES:-6}                      # training minutes of this command (--max-minutes)
BATCH=${BATCH:-1024}
LR=${LR:-5e-4}
LR_DECAY=${LR_DECAY:-0.95}
EPOCH_SAMPLES=${EPOCH_SAMPLES:-256000}     # samples per lr-decay "epoch"
INIT=${INIT-h36m-27}                       # warm start (model name or folder); '' for random weights
INPUT=${INPUT:-gt}
NOISE_PX=${NOISE_PX:-0}                    # --detector-aug already jitters the 2D
DETECTOR_AUG=${DETECTOR_AUG:-1}
BONE_WEIGHT=${BONE_WEIGHT:-0}
BF16=${BF16:-auto}                         # auto: on for cuda, off for cpu
THREADS=${THREADS:-$(nproc)}
LOG_EVERY=${LOG_EVERY:-100}
SAVE_EVERY=${SAVE_EVERY:-1000}
EVAL_EVERY=${EVAL_EVERY:-1000}             # quick S9+S11 monitor (0: never)
EVAL=${EVAL:-0}                            # 1: full evaluation after training; only: evaluate $RUN, no training
EVAL_ARGS=${EVAL_ARGS:---input both}       # e.g. '--input sh --cameras 54138969 --precision bfloat16'
EXTRA=${EXTRA:-}                           # more `liftpose.train` options, word-split

export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
case "$BF16" in auto) [[ $DEVICE == cuda* ]] && BF16=1 || BF16=0 ;; esac
NAME=h36m-$FRAMES
mkdir -p "$OUT" "$WORK" "$RUN"
log() { echo "[gpu_train $(date -u +%H:%M:%S)] $*" | tee -a "$RUN/train.log"; }

export_results() {
    local status=$?
    set +e
    if [[ -f $RUN/model.safetensors ]]; then
        mkdir -p "$OUT/run"
        cp "$RUN/config.json" "$OUT/run/"
        # the device tool brings back files of at most 16 MiB: float32 h36m-27 (15.3 MiB) comes back,
        # float32 h36m-243 (16.2 MiB) does not, and its float16 copy below is what ships anyway
        if (($(stat -c %s "$RUN/model.safetensors") <= 16 * 1024 * 1024)); then
            cp "$RUN/model.safetensors" "$OUT/run/"
        else
            log "float32 model over 16 MiB: only the float16 copy comes back"
        fi
        "$PYTHON" - "$RUN" "$OUT/$NAME" <<'EOF' 2>&1 | tee -a "$RUN/train.log"
import sys, torch
from liftpose.serialization import load_model, save_pretrained
save_pretrained(load_model(sys.argv[1]), sys.argv[2], dtype=torch.float16)
print(f"float16 copy for shipping: {sys.argv[2]}")
EOF
    fi
    cp "$RUN/train.log" "$OUT/train.log" 2>/dev/null
    log "exit status $status; in $OUT: $(cd "$OUT" && find . -type f | sort | tr '\n' ' ')"
    cp "$RUN/train.log" "$OUT/train.log" 2>/dev/null  # again, with that line
    exit "$status"
}
trap export_results EXIT

# 1. the Python environment
log "python: $(command -v "$PYTHON"), repo $REPO, device $DEVICE, out $OUT"
if ! "$PYTHON" -c "import torch" 2>/dev/null; then
    log "torch missing: installing it (from .whl/ when carried, else from the package index)"
    if [[ -d .whl ]]; then
        "$PYTHON" -m pip install -q --no-index --find-links .whl torch
    else
        "$PYTHON" -m pip install -q torch
    fi
fi
"$PYTHON" - "$DEVICE" <<'EOF' 2>&1 | tee -a "$RUN/train.log"
import sys
import numpy, safetensors, scipy, huggingface_hub, torch
device = sys.argv[1]
print(f"torch {torch.__version__}, numpy {numpy.__version__}, safetensors {safetensors.__version__}, scipy {scipy.__version__}")
if device.startswith("cuda"):
    if not torch.cuda.is_available():
        sys.exit(f"DEVICE={device} but torch {torch.__version__} sees no GPU: run with DEVICE=cpu, or on the device machine")
    print(f"GPU: {torch.cuda.get_device_name()}, bf16 {torch.cuda.is_bf16_supported()}, "
          f"{torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB")
EOF

# 2. the data: unpacked into $DATA.partial and renamed, so a killed command never leaves half a folder
stamp() { stat -c %s-%Y "$PACK"; }
if [[ -f $DATA/poses_3d_world.npz && ! -f $DATA/.unpacked ]]; then
    log "using the Human3.6M folder $DATA as it is (not unpacked by this script)"
elif [[ -f $DATA/.unpacked && -f $PACK && $(cat "$DATA/.unpacked") == "$(stamp)" ]]; then
    log "$PACK already unpacked in $DATA"
else
    [[ -f $PACK ]] || { log "no pack at $PACK: make it with 'python -m liftpose.datasets.compact pack ../shared/data/h36m $PACK' and carry it"; exit 2; }
    log "unpacking $PACK ($(du -h "$PACK" | cut -f1)) into $DATA"
    rm -rf "$DATA.partial"
    "$PYTHON" -m liftpose.datasets.compact unpack "$PACK" "$DATA.partial" --uncompressed 2>&1 | tee -a "$RUN/train.log"
    stamp > "$DATA.partial/.unpacked"
    rm -rf "$DATA" && mv "$DATA.partial" "$DATA"
fi

# 3. training
if [[ $EVAL != only ]]; then
    args=(--data "$DATA" --out "$RUN" --frames "$FRAMES" --device "$DEVICE" --batch "$BATCH" --steps "$STEPS"
          --lr "$LR" --lr-decay "$LR_DECAY" --epoch-samples "$EPOCH_SAMPLES" --input "$INPUT" --noise-px "$NOISE_PX"
          --bone-weight "$BONE_WEIGHT" --max-minutes "$MINUTES" --threads "$THREADS" --resume
          --log-every "$LOG_EVERY" --save-every "$SAVE_EVERY" --eval-every "$EVAL_EVERY")
    [[ -n $INIT ]] && args+=(--init-from "$INIT")
    [[ $BF16 == 1 ]] && args+=(--bf16)
    [[ $DETECTOR_AUG == 1 ]] && args+=(--detector-aug)
    # shellcheck disable=SC2206
    args+=($EXTRA)
    log "python -m liftpose.train ${args[*]}"
    "$PYTHON" -m liftpose.train "${args[@]}" 2>&1 | tee -a "$RUN/train.log"
fi

# 4. optional evaluation
if [[ $EVAL == 1 || $EVAL == only ]]; then
    [[ -f $RUN/model.safetensors ]] || { log "no model in $RUN to evaluate"; exit 2; }
    # shellcheck disable=SC2086
    "$PYTHON" -m liftpose.cli evaluate "$RUN" --data "$DATA" --device "$DEVICE" --json "$OUT/eval.json" $EVAL_ARGS \
        2>&1 | tr '\r' '\n' | tee -a "$RUN/train.log"
fi
