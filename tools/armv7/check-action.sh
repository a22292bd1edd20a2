#!/usr/bin/env bash
# Check an int8 action step model's numbers on 32-bit Raspberry Pi OS (armv7l,
# tflite-runtime 2.14) under emulation against this x86 host, on the same inputs: a few
# held-out clips of a skeleton dataset plus seeded random sequences
# (tools/armv7/compare_action.py does the work; this script moves files and runs it).
#
#   sudo nice -n 10 tools/armv7/check-action.sh MODEL.tflite DATASET.npz \
#       [--ref-python PY] [--other-python PY] [--root DIR] [--qemu BIN] [--clips N] [--random N] [--frames T]
#
# Needs the armhf root that `tools/pi-check.sh --arch armhf` builds (default
# /var/tmp/pipan-pi-root/bookworm-armhf, Python venv /opt/pipan-venv with tflite-runtime
# 2.14 and apt's numpy) and a QEMU >= 9 arm binary (default: the Trixie qemu-arm that
# pi-check.sh unpacks under /var/tmp/pipan-pi-root/qemu-trixie; it is copied into the
# root and run explicitly, no binfmt needed). The checkout's pipan/ goes in on PYTHONPATH,
# so the root's installed copy does not matter.
#
# --ref-python: the host Python whose run is the reference (default python3; best one
# with tflite-runtime 2.14, the version the Pi runs). --other-python: a second host Python
# (e.g. one with ai-edge-litert) compared against the reference too, to show how far two
# x86 runtimes differ on the same model. Both need numpy and a TFLite runtime; pipan comes
# from the checkout.
#
# Prints, per comparison, the free-running stream (each run feeds back its own h) and the
# teacher-forced one (every run fed the reference's h_prev, so per-step differences do not
# compound): logit and h differences in int8 steps and top-1 agreement. Exit status 1 if
# the model crashes under armv7 (e.g. 139: SIGSEGV).
set -uo pipefail

die() { echo "check-action: error: $*" >&2; exit 2; }
[[ $# -ge 2 ]] || { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
MODEL=$(realpath "$1"); DATASET=$(realpath "$2"); shift 2
ROOT=/var/tmp/pipan-pi-root/bookworm-armhf
QEMU_BIN=/var/tmp/pipan-pi-root/qemu-trixie/usr/bin/qemu-arm
REF_PY=python3
OTHER_PY=
PREP=(--clips 4 --random 2 --frames 40)
while [[ $# -gt 0 ]]; do
    case "$1" in
        --root) ROOT=$2; shift 2 ;;
        --qemu) QEMU_BIN=$2; shift 2 ;;
        --ref-python) REF_PY=$2; shift 2 ;;
        --other-python) OTHER_PY=$2; shift 2 ;;
        --clips|--random|--frames) PREP+=("$1" "$2"); shift 2 ;;
        *) die "unknown option $1" ;;
    esac
done
[[ -f $MODEL ]] || die "$MODEL: no such model"
[[ -f $DATASET ]] || die "$DATASET: no such dataset"
[[ -x $ROOT/opt/pipan-venv/bin/python ]] || die "$ROOT: no armhf root (run tools/pi-check.sh --arch armhf)"
[[ -x $QEMU_BIN ]] || die "$QEMU_BIN: no QEMU arm binary"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
TOOL=tools/armv7/compare_action.py
IN_ROOT=/tmp/pipan-armv7-check
WORK=$ROOT$IN_ROOT
rm -rf "$WORK" && mkdir -p "$WORK/repo/tools/armv7" || die "cannot write $WORK"
cp -r "$REPO/pipan" "$WORK/repo/" && cp "$REPO/$TOOL" "$WORK/repo/$TOOL" && cp "$MODEL" "$WORK/model.tflite"
cp "$(realpath "$QEMU_BIN")" "$ROOT/usr/local/bin/qemu-arm10"

host() { PYTHONPATH="$REPO" "$@" 2>&1 | grep -v "XNNPACK"; return "${PIPESTATUS[0]}"; }
arm() { PYTHONPATH="$IN_ROOT/repo" chroot "$ROOT" /usr/local/bin/qemu-arm10 \
            /opt/pipan-venv/bin/python "$@" 2>&1 | grep -v "cpuinfo\|XNNPACK"; return "${PIPESTATUS[0]}"; }

cd "$WORK" || die "cannot enter $WORK"
host "$REF_PY" "$REPO/$TOOL" prepare "$DATASET" inputs.npz "${PREP[@]}" || die "prepare failed"
host "$REF_PY" "$REPO/$TOOL" run model.tflite inputs.npz ref.npz || die "reference run failed"
host "$REF_PY" "$REPO/$TOOL" run model.tflite inputs.npz ref_tf.npz --teacher ref.npz || die "reference run failed"
if [[ -n $OTHER_PY ]]; then
    host "$OTHER_PY" "$REPO/$TOOL" run model.tflite inputs.npz other.npz || die "second host run failed"
    host "$OTHER_PY" "$REPO/$TOOL" run model.tflite inputs.npz other_tf.npz --teacher ref.npz || die "second host run failed"
fi
arm "$IN_ROOT/repo/$TOOL" run "$IN_ROOT/model.tflite" "$IN_ROOT/inputs.npz" "$IN_ROOT/arm.npz"
rc=$?
if [[ $rc -ne 0 ]]; then
    echo "check-action: the model FAILS under armv7 (exit status $rc$([[ $rc -eq 139 ]] && echo ', SIGSEGV'))"
    exit 1
fi
arm "$IN_ROOT/repo/$TOOL" run "$IN_ROOT/model.tflite" "$IN_ROOT/inputs.npz" "$IN_ROOT/arm_tf.npz" \
    --teacher "$IN_ROOT/ref.npz" || exit 1

compare() { echo; echo "== $1"; host "$REF_PY" "$REPO/$TOOL" compare model.tflite "$2" "$3"; }
[[ -n $OTHER_PY ]] && compare "second host runtime vs reference, free-running" ref.npz other.npz
[[ -n $OTHER_PY ]] && compare "second host runtime vs reference, teacher-forced" ref_tf.npz other_tf.npz
compare "armv7 (emulated) vs reference, free-running" ref.npz arm.npz
compare "armv7 (emulated) vs reference, teacher-forced" ref_tf.npz arm_tf.npz
