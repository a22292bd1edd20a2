#!/usr/bin/env bash
# Prove the Raspberry Pi install path without a Pi: build a Debian root for the Pi's
# architecture with debootstrap, run it through qemu-user-static, install pipan there from
# this checkout exactly as the README tells a Pi user to, and run the runtime test subset
# plus `pipan recognize --demo --json`. Far too slow for CI (minutes to an hour under
# emulation); run it by hand, as root, and read the summary at the end.
#
#   sudo apt-get install -y debootstrap qemu-user-static binfmt-support
#   sudo nice -n 10 tools/pi-check.sh                          # arm64 Bookworm, Python 3.11
#   sudo nice -n 10 tools/pi-check.sh --suite trixie           # arm64 Trixie, Python 3.13
#   sudo nice -n 10 tools/pi-check.sh --arch armhf             # 32-bit: apt numpy/OpenCV + tflite-runtime
#   tools/pi-check.sh --wheels                                 # only: do wheels exist (cp311-313 aarch64, armv7l)?
#
# Options: --suite bookworm|trixie, --arch arm64|armhf, --cache DIR (roots are cached
# there, default /var/tmp/pipan-pi-root; never inside the repository), --mirror URL
# (default: the Debian mirror this machine's apt uses), --tf-python PY (a Python with
# TensorFlow on this host, used only to make a tiny int8 model for the interpreter smoke
# test when the checkout bundles no models), --fresh (rebuild the cached root),
# --host-qemu (use the host's QEMU even when older than 9; see below), --tests "FILES"
# (only these test files, paths relative to the checkout: the whole runtime subset takes
# ~15 min emulated on arm64 and far longer on armhf).
#
# Emulation: the foreign binaries run through binfmt_misc + qemu-user-static. The script
# mounts binfmt_misc if needed and enables the qemu handler with update-binfmts. With the
# handler's F flag (Debian's default) the interpreter is opened at registration, so the
# root needs no copy of it; without F it is copied into the root at the registered path.
# Without binfmt_misc at all (some containers) debootstrap's second stage cannot work,
# because every child process of the emulated shell would need the interpreter too.
# A host QEMU older than 9 (Bookworm has 7.2) is replaced for the run by Debian Trixie's,
# fetched from the same mirror: QEMU 7.2 crashes in ai-edge-litert (see newer_qemu).
set -uo pipefail

SUITE=bookworm
ARCH=arm64
CACHE=/var/tmp/pipan-pi-root
MIRROR=
TF_PYTHON=${PIPAN_TF_PYTHON:-}
FRESH=0
WHEELS_ONLY=0
HOST_QEMU=0
TESTS=

die() { echo "pi-check: error: $*" >&2; exit 2; }
log() { printf '[pi-check %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --suite) SUITE=$2; shift 2 ;;
        --arch) ARCH=$2; shift 2 ;;
        --cache) CACHE=$2; shift 2 ;;
        --mirror) MIRROR=$2; shift 2 ;;
        --tf-python) TF_PYTHON=$2; shift 2 ;;
        --fresh) FRESH=1; shift ;;
        --host-qemu) HOST_QEMU=1; shift ;;
        --wheels) WHEELS_ONLY=1; shift ;;
        --tests) TESTS=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

REPO=$(cd "$(dirname "$0")/.." && pwd)
SUMMARY=()
FAILED=0
note() { SUMMARY+=("$*"); log "$*"; }

# --- wheel availability (no root, no emulation: asks PyPI through pip) ------------------
check_wheels() {
    local tmp py plat opt req status req_args
    tmp=$(mktemp -d)
    # armv7l: numpy/OpenCV come from apt (PyPI has no armv7l wheels of them: shown by the
    # "numpy" line), so only tflite-runtime must exist as a wheel.
    for spec in "3.11 aarch64 -r requirements-pi.txt" "3.12 aarch64 -r requirements-pi.txt" \
                "3.13 aarch64 -r requirements-pi.txt" "3.11 armv7l --no-deps tflite-runtime==2.14.0" \
                "3.11 armv7l --no-deps numpy<2"; do
        read -r py plat opt req <<<"$spec"
        [[ $opt == -r ]] && req_args=(-r "$REPO/$req") || req_args=(--no-deps "$req")
        local args=()
        for tag in manylinux2014 manylinux_2_17 manylinux_2_27 manylinux_2_28 manylinux_2_34 \
                   manylinux_2_35 manylinux_2_36; do
            args+=(--platform "${tag}_${plat}")
        done
        # --isolated: ignore this machine's pip config (local wheel folders), ask PyPI only.
        # --dry-run with a report resolves from PyPI's metadata without installing anything.
        if out=$(python3 -m pip --isolated install --dry-run --quiet --ignore-installed \
                --only-binary=:all: --index-url https://pypi.org/simple --target "$tmp/t" \
                --python-version "$py" "${args[@]}" "${req_args[@]}" --report "$tmp/report.json" 2>&1); then
            status="ok: $(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(" ".join(i["metadata"]["name"] + "==" + i["metadata"]["version"] for i in r["install"]))' "$tmp/report.json")"
        else
            status="NO WHEELS: $(echo "$out" | grep -m1 -E 'ERROR' || echo "$out" | tail -1)"
        fi
        note "wheels cp${py/./} ${plat} ($req): $status"
    done
    rm -rf "$tmp"
}


# Everything runs inside main, which bash parses whole before running: editing this file
# while a run is under way cannot derail that run.
main() {
if [[ $WHEELS_ONLY == 1 ]]; then
    check_wheels
    return 0
fi
# --- preconditions ------------------------------------------------------------------------
[[ $EUID -eq 0 ]] || die "needs root (debootstrap, chroot, mounts): sudo $0 $*"
case "$ARCH" in
    arm64) QEMU=qemu-aarch64; VENV_FLAGS=; REQ=requirements-pi.txt
           # python3-numpy: only for the Pi Camera layout check (a venv over apt's numpy).
           APT_PKGS="python3 python3-venv python3-pip ca-certificates"
           [[ $SUITE == bookworm ]] && APT_PKGS+=" python3-numpy" ;;
    armhf) QEMU=qemu-arm; VENV_FLAGS=--system-site-packages; REQ=requirements-pi-armv7.txt
           # PyPI has no armv7l wheels of numpy/OpenCV: Debian's (or Raspberry Pi OS's) apt ones.
           APT_PKGS="python3 python3-venv python3-pip ca-certificates python3-numpy python3-opencv python3-click" ;;
    *) die "--arch must be arm64 or armhf" ;;
esac
case "$SUITE" in bookworm|trixie) ;; *) die "--suite must be bookworm or trixie" ;; esac
for cmd in debootstrap chroot "$QEMU-static" update-binfmts; do
    command -v "$cmd" >/dev/null || die "$cmd missing: apt-get install -y debootstrap qemu-user-static binfmt-support"
done
case "$CACHE" in "$REPO"/*) die "--cache must be outside the repository" ;; esac

if [[ -z $MIRROR ]]; then
    # The first Debian (non-security) URL apt uses here: deb822 "URIs:" or one-line "deb".
    MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                 /etc/apt/sources.list.d/*.sources 2>/dev/null \
             | sed -n -E 's/^URIs:[[:space:]]*//p; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//p' \
             | awk '{print $1}' | grep -E '/debian/?$' | grep -v security | head -1)
    [[ -n $MIRROR ]] || MIRROR=http://deb.debian.org/debian
fi

ROOT="$CACHE/$SUITE-$ARCH"
mkdir -p "$CACHE"
T_START=$(date +%s)
note "target: Debian $SUITE $ARCH, root $ROOT, mirror $MIRROR, host $(uname -m) $(nproc) cores"

# --- binfmt ---------------------------------------------------------------------------------
BINFMT=/proc/sys/fs/binfmt_misc
if [[ ! -e $BINFMT/status ]]; then
    mount -t binfmt_misc binfmt_misc "$BINFMT" || die "cannot mount binfmt_misc (a container without it cannot run debootstrap's second stage)"
fi
[[ -e $BINFMT/$QEMU ]] || update-binfmts --enable "$QEMU" || die "cannot register the $QEMU binfmt handler"
grep -q enabled "$BINFMT/$QEMU" || die "$QEMU binfmt handler is disabled"
INTERP=$(sed -n 's/^interpreter //p' "$BINFMT/$QEMU")
FLAGS=$(sed -n 's/^flags: //p' "$BINFMT/$QEMU")
note "binfmt: $QEMU -> $INTERP (flags $FLAGS), $("$QEMU-static" --version | head -1)"


newer_qemu() {
    local dir="$CACHE/qemu-trixie" hostarch deb name magic mask
    hostarch=$(dpkg --print-architecture)
    if [[ ! -x $dir/usr/bin/$QEMU ]]; then
        deb=$(curl -fsS "$MIRROR/dists/trixie/main/binary-$hostarch/Packages.xz" | xz -d \
              | awk '/^Package: qemu-user$/ {p = 1} p && /^Filename:/ {print $2; exit}')
        [[ -n $deb ]] || { echo "no qemu-user in trixie's index"; return 1; }
        curl -fsS -o "$CACHE/qemu-user.deb" "$MIRROR/$deb" || return 1
        rm -rf "$dir" && dpkg-deb -x "$CACHE/qemu-user.deb" "$dir" || return 1
    fi
    name="pipan-$QEMU"
    [[ -e $BINFMT/$name ]] && echo -1 >"$BINFMT/$name"
    magic=$(sed -n 's/^magic //p' "$BINFMT/$QEMU" | sed 's/../\\x&/g')
    mask=$(sed -n 's/^mask //p' "$BINFMT/$QEMU" | sed 's/../\\x&/g')
    # F: the interpreter is opened now, so the root needs no copy of it.
    echo ":$name:M::$magic:$mask:$dir/usr/bin/$QEMU:PF" >"$BINFMT/register" || return 1
    OUR_BINFMT="$BINFMT/$name"
    INTERP="$dir/usr/bin/$QEMU"; FLAGS=PF
    note "binfmt: $name -> $INTERP ($("$INTERP" --version | head -1))"
}

# --- mounts (undone on exit) ------------------------------------------------------------------
MOUNTED=()
cleanup() {
    local i
    for ((i=${#MOUNTED[@]}-1; i>=0; i--)); do umount -l "${MOUNTED[$i]}" 2>/dev/null; done
    MOUNTED=()
    if [[ -n $OUR_BINFMT && -e $OUR_BINFMT ]]; then echo -1 >"$OUR_BINFMT"; fi
}
trap cleanup EXIT
mount_root() {
    mount -t proc proc "$ROOT/proc" && MOUNTED+=("$ROOT/proc")
    mount --bind /dev "$ROOT/dev" && MOUNTED+=("$ROOT/dev")
    mount --bind /dev/pts "$ROOT/dev/pts" && MOUNTED+=("$ROOT/dev/pts")
    mount -t sysfs sysfs "$ROOT/sys" && MOUNTED+=("$ROOT/sys")
}
# A clean environment inside: this host's pip settings (local wheel folders) must not leak in.
in_root() {
    chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/opt/pipan-venv/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_DEFAULT_TIMEOUT=120 \
        PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
        "$@"
}
summary() {
    echo
    echo "==== pi-check summary: Debian $SUITE $ARCH, $(( $(date +%s) - T_START )) s in all ===="
    printf '%s\n' "${SUMMARY[@]}"
}
# step NAME CMD...: time it, record PASS/FAIL, keep going (later steps still report).
step() {
    local name=$1 t0 rc; shift
    t0=$(date +%s)
    log "--- $name"
    "$@"; rc=$?
    if [[ $rc -eq 0 ]]; then note "PASS $name ($(( $(date +%s) - t0 )) s)"
    else note "FAIL $name (exit $rc, $(( $(date +%s) - t0 )) s)"; FAILED=1; fi
    return $rc
}

# Bookworm's QEMU 7.2 crashes (SIGSEGV) inside ai-edge-litert 2.x's interpreter creation,
# whatever the emulated CPU; QEMU 10 (Debian Trixie) runs it. So unless the host's QEMU is
# 9 or newer (or --host-qemu), take Trixie's static qemu-user from the same Debian mirror,
# unpack it in the cache (not installed on the host) and register it as a binfmt handler
# for the same magic in front of the host's: the kernel tries the newest handler first.
# It is unregistered on exit.
QEMU_MAJOR=$("$QEMU-static" --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -1)
OUR_BINFMT=
if [[ $HOST_QEMU == 0 && ${QEMU_MAJOR:-0} -lt 9 ]]; then
    step "QEMU from Debian Trixie in front of the host's QEMU $QEMU_MAJOR" newer_qemu || return 1
fi

# --- the root (cached) ------------------------------------------------------------------------
bootstrap() {
    rm -rf "$ROOT"
    debootstrap --arch="$ARCH" --foreign --variant=minbase "$SUITE" "$ROOT" "$MIRROR" || return 1
    if [[ $FLAGS != *F* ]]; then  # no F flag: the kernel looks the interpreter up inside the root
        mkdir -p "$ROOT$(dirname "$INTERP")" && cp "$INTERP" "$ROOT$INTERP"
    fi
    chroot "$ROOT" /debootstrap/debootstrap --second-stage || return 1
    echo "deb $MIRROR $SUITE main" >"$ROOT/etc/apt/sources.list"
}
# This host's own extra CA certificates (e.g. a TLS-intercepting proxy between it and PyPI)
# go into the root too, or pip there cannot verify PyPI. A real Pi needs none of this.
host_certificates() {
    local extra=(/usr/local/share/ca-certificates/*.crt)
    [[ -e ${extra[0]} ]] || return 0
    local f fresh=0
    for f in "${extra[@]}"; do
        cmp -s "$f" "$ROOT/usr/local/share/ca-certificates/${f##*/}" || fresh=1
    done
    [[ $fresh == 1 ]] || return 0  # already there (update-ca-certificates is slow emulated)
    mkdir -p "$ROOT/usr/local/share/ca-certificates"
    cp "${extra[@]}" "$ROOT/usr/local/share/ca-certificates/"
    in_root update-ca-certificates >/dev/null
    note "host CA certificates copied in: ${extra[*]##*/}"
}
apt_packages() {
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    # Only when something is missing: a cached root gains packages added to this script later.
    in_root dpkg -s $APT_PKGS >/dev/null 2>&1 && return 0
    in_root apt-get update -q && \
    in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $APT_PKGS
}
if [[ $FRESH == 1 ]]; then rm -rf "$ROOT"; fi
if [[ ! -f $ROOT/.pipan-base-ok ]]; then
    step "debootstrap $SUITE $ARCH (both stages)" bootstrap || return 1
    touch "$ROOT/.pipan-base-ok"
else
    note "cached root reused (debootstrapped $(date -u -r "$ROOT/.pipan-base-ok" +%FT%TZ)); --fresh rebuilds it"
fi
mount_root
step "apt install $APT_PKGS" apt_packages || return 1
host_certificates
note "emulated: $(in_root uname -m), $(in_root python3 --version 2>&1), glibc $(in_root ldd --version | head -1 | awk '{print $NF}')"

# --- pipan from this checkout, as a Pi user installs it -------------------------------------
copy_checkout() {
    rm -rf "$ROOT/opt/pipan-src" && mkdir -p "$ROOT/opt/pipan-src" || return 1
    # Tracked and untracked-but-not-ignored files: the working tree as it stands.
    (cd "$REPO" && git ls-files -co --exclude-standard -z \
        | tar --null --ignore-failed-read -T - -cf -) | tar -C "$ROOT/opt/pipan-src" -xf -
}
make_venv() {
    rm -rf "$ROOT/opt/pipan-venv"
    in_root python3 -m venv $VENV_FLAGS /opt/pipan-venv
}
pip_requirements() { in_root sh -c "cd /opt/pipan-src && pip install -r $REQ"; }
pip_pipan() { in_root sh -c 'cd /opt/pipan-src && pip install --no-deps . && pip install pytest'; }
no_tensorflow() {
    local bad
    bad=$(in_root pip list --format=freeze | grep -i -E '^(tensorflow|tf-|tf_|keras|tb-nightly|tensorboard)' )
    [[ -z $bad ]] || { echo "TensorFlow-family packages installed: $bad"; return 1; }
}
step "copy checkout to /opt/pipan-src" copy_checkout
step "python3 -m venv $VENV_FLAGS /opt/pipan-venv" make_venv
step "pip install -r $REQ" pip_requirements || { note "stopping: the requirements did not install"; summary; return 1; }
step "pip install --no-deps . (+ pytest)" pip_pipan || { note "stopping: pipan did not install"; summary; return 1; }
step "no TensorFlow in pip list" no_tensorflow
note "pip list: $(in_root pip list --format=freeze 2>/dev/null | tr '\n' ' ')"

versions() {
    in_root python3 - <<'EOF'
import platform, numpy, cv2
from importlib.metadata import version
import pipan.runtime as rt
print(f"machine {platform.machine()}, python {platform.python_version()}, numpy {numpy.__version__}, "
      f"opencv {cv2.__version__}, click {version('click')}, interpreter {rt.runtime_name()}, "
      f"default_threads {rt.default_threads()}")
EOF
}
VERS=$(versions 2>&1) && note "versions: $VERS" || { note "FAIL versions: $(echo "$VERS" | tail -1)"; FAILED=1; }

# Interpreter smoke test: every bundled model (or, failing that, a tiny int8 model made on
# this host with TensorFlow) loaded and run once through pipan.runtime.TFLiteModel.
# With a reference (NAME.npz beside the model: input "x", output "y" computed on this host),
# the emulated output must match it within one int8 step of the output tensor.
SMOKE_PY='
import sys, time, glob, os, numpy as np
import pipan, pipan.runtime as rt
paths = sys.argv[1:] or sorted(glob.glob(os.path.join(os.path.dirname(pipan.__file__), "models", "*.tflite")))
if not paths:
    print("no models to run"); sys.exit(1)
for p in paths:
    m = rt.TFLiteModel(p)
    feed = {n: np.zeros(m.input_shape(n), np.float32) for n in m.input_names}
    m(**feed)
    t0 = time.perf_counter(); out = m(**feed); dt = time.perf_counter() - t0
    shapes = {k: v.shape for k, v in out.items()}
    kind = m.metadata.get("kind")
    line = (f"{os.path.basename(p)}: kind {kind}, outputs {shapes}, "
            f"one run {dt * 1e3:.1f} ms under emulation ({m.threads} threads)")
    ref = p[:-len(".tflite")] + ".npz"
    if os.path.exists(ref):
        r = np.load(ref)
        (name, y), = m(**{m.input_names[0]: r["x"]}).items()
        step = float(rt._qparams(m.output_details[name])[0][0])
        err = float(np.abs(y - r["y"]).max())
        line += f", max |emulated - host| {err:.4g} (one int8 step {step:.4g})"
        assert err <= step * 1.01, line
    print(line)
'
smoke() {  # smoke PYTHON [MODEL...]: run SMOKE_PY, its lines into the summary
    local py=$1 out rc; shift
    out=$(in_root "$py" -c "$SMOKE_PY" "$@" 2>&1); rc=$?
    if [[ $rc -eq 0 ]]; then while IFS= read -r l; do note "  $l"; done <<<"$out"
    else echo "$out" | tail -5; fi
    return $rc
}
bundled=$(ls "$ROOT"/opt/pipan-src/pipan/models/*.tflite 2>/dev/null | wc -l)
if [[ $bundled -gt 0 ]]; then
    step "run bundled models through TFLiteModel" smoke python3
else
    note "MISSING bundled models (pipan/models/*.tflite): not on this checkout yet"
fi
TINY="$CACHE/tiny-int8.tflite"
if [[ ! -f $TINY && -n $TF_PYTHON ]]; then
    log "making a tiny int8 model with $TF_PYTHON"
    PYTHONPATH="$REPO" "$TF_PYTHON" - "$TINY" <<'EOF' >/dev/null 2>&1
import sys, numpy as np, tensorflow as tf
tf.keras.utils.set_random_seed(0)
inp = tf.keras.Input((18, 5), batch_size=1, name="features")
x = tf.keras.layers.Flatten()(inp)
out = tf.keras.layers.Dense(4, name="logits", bias_initializer="glorot_uniform")(
    tf.keras.layers.Dense(16, activation="relu", bias_initializer="glorot_uniform")(x))
model = tf.keras.Model(inp, out)
conv = tf.lite.TFLiteConverter.from_keras_model(model)
conv.optimizations = [tf.lite.Optimize.DEFAULT]
rng = np.random.default_rng(0)
conv.representative_dataset = lambda: ([rng.normal(size=(1, 18, 5)).astype("float32")] for _ in range(16))
conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
conv.inference_input_type = conv.inference_output_type = tf.int8
open(sys.argv[1], "wb").write(conv.convert())
# The host's output on a seeded input, through pipan's own runtime: the reference.
import pipan.runtime as rt
m = rt.TFLiteModel(sys.argv[1], threads=1)
xs = np.random.default_rng(1).normal(size=(1, 18, 5)).astype("float32")
(y,) = m(features=xs).values()
np.savez(sys.argv[1][:-len(".tflite")] + ".npz", x=xs, y=y)
EOF
    [[ -f $TINY ]] || log "could not make the tiny model with $TF_PYTHON"
fi
if [[ -f $TINY ]]; then
    cp "$TINY" "$ROOT/tmp/tiny-int8.tflite"
    cp "${TINY%.tflite}.npz" "$ROOT/tmp/tiny-int8.npz" 2>/dev/null
    step "run a tiny int8 model through TFLiteModel" smoke python3 /tmp/tiny-int8.tflite
elif [[ $bundled -eq 0 ]]; then
    note "SKIPPED interpreter smoke test: no bundled models and no tiny model (--tf-python PY makes one)"
fi

run_tests() {
    in_root sh -c "cd /opt/pipan-src && python3 -m pytest -q -rs -p no:cacheprovider ${TESTS:-}" \
        | tee "$CACHE/pytest-$SUITE-$ARCH.log" | tail -40
    return "${PIPESTATUS[0]}"
}
step "pytest (runtime subset: TensorFlow tests skip)" run_tests
note "pytest: $(grep -E '(passed|failed|error)' "$CACHE/pytest-$SUITE-$ARCH.log" | tail -1)"

demo() {
    if ! in_root pipan recognize --help >/dev/null 2>&1; then
        note "MISSING: no 'pipan recognize' command on this checkout yet"; return 3
    fi
    in_root sh -c 'cd /tmp && pipan recognize --demo --json' >"$CACHE/demo-$SUITE-$ARCH.jsonl"
    local rc=$?
    head -c 600 "$CACHE/demo-$SUITE-$ARCH.jsonl"; echo
    note "demo: $(wc -l <"$CACHE/demo-$SUITE-$ARCH.jsonl") JSON lines in $CACHE/demo-$SUITE-$ARCH.jsonl"
    return $rc
}
step "pipan recognize --demo --json" demo

# The Pi Camera layout (README "Cameras"): picamera2 comes from apt, so the venv sees the
# system site-packages, and on Bookworm apt's picamera2 (through simplejpeg) is built for
# apt's numpy 1.24: pip must keep that numpy, not shadow it with numpy 2.
# (python3-picamera2 itself is in Raspberry Pi's archive, not Debian's: not installed here.)
camera_layout() {
    rm -rf "$ROOT/opt/pipan-venv-camera"
    in_root python3 -m venv --system-site-packages /opt/pipan-venv-camera || return 1
    in_root sh -c 'cd /opt/pipan-src && /opt/pipan-venv-camera/bin/pip install -q -r requirements-pi-camera.txt \
        && /opt/pipan-venv-camera/bin/pip install -q --no-deps .' || return 1
    local out
    out=$(in_root /opt/pipan-venv-camera/bin/python - 2>&1 <<'EOF'
import numpy, cv2, pipan.runtime as rt
print(f"numpy {numpy.__version__} from {numpy.__file__}, opencv {cv2.__version__}, {rt.runtime_name()}")
assert numpy.__file__.startswith("/usr/lib/python3/dist-packages/"), "apt's numpy is shadowed"
EOF
    ) || { echo "$out"; return 1; }
    note "camera layout: $out"
}
if [[ $ARCH == arm64 && $SUITE == bookworm ]]; then
    step "Pi Camera layout: venv --system-site-packages + requirements-pi-camera.txt keeps apt's numpy" camera_layout
    if [[ $bundled -gt 0 ]]; then
        step "Pi Camera layout: bundled models run" smoke /opt/pipan-venv-camera/bin/python
    elif [[ -f $TINY ]]; then
        step "Pi Camera layout: tiny int8 model runs" smoke /opt/pipan-venv-camera/bin/python /tmp/tiny-int8.tflite
    fi
fi

summary
return $FAILED
# On the closing line: bash has read the call and the exit before running main.
}; main "$@"; exit $?
