#!/usr/bin/env bash
# sdj GEMM next to OpenBLAS sgemm, in one run: for every shape and thread count, JMH GemmBenchmark and then, right
# after, OpenBLAS (NumPy's build) on float32 arrays of the same shape. Prints both rates and sdj's share, and the FMA
# peak (JMH FmaPeakBench, same JVM flags) before and after, so every row has its same-run ceiling.
#   engine-bench/gemm-vs-openblas.sh native        # the JVM's own kernel variant, OpenBLAS's own kernel choice
#   engine-bench/gemm-vs-openblas.sh avx2          # an AVX2 CPU emulated: C2 limited to 16 ymm registers
#                                                  # (-XX:UseAVX=2 -XX:MaxVectorSize=32), OPENBLAS_CORETYPE=Haswell
# Environment: SHAPES (comma-separated M×N×K, default the issue-3 shapes), THREADS (default "1 2"), ROUNDS (default 2),
# WEIGHTS: hot (default: one B for every call, in the caches wherever it fits) or cold (both sides cycle through
# distinct copies of B filling 1 GiB, so each call reads B from memory, as a UNet reads its weights).
# Needs python3 with NumPy. Run it on a quiet machine: every other process disturbs both sides.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="${1:-native}"
shapes="${SHAPES:-4096x320x2880,1024x640x5760,256x1280x11520,2048x2048x2048}"
threads="${THREADS:-1 2}"
rounds="${ROUNDS:-2}"
weights="${WEIGHTS:-hot}"
case "$weights" in hot|cold) ;; *) echo "$0: WEIGHTS must be hot or cold, got '$weights'" >&2; exit 2 ;; esac
case "$mode" in
  native) jvm_extra=""; blas_env=() ;;
  avx2) jvm_extra="-XX:UseAVX=2 -XX:MaxVectorSize=32"; blas_env=(OPENBLAS_CORETYPE=Haswell) ;;
  *) echo "usage: $0 native|avx2" >&2; exit 2 ;;
esac
python3 -c 'import numpy' 2>/dev/null || { echo "$0: needs python3 with NumPy (its bundled OpenBLAS is the reference)" >&2; exit 1; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/blas.py" <<'PY'
import sys, time, numpy as np
m, n, k = map(int, sys.argv[1].split('x'))
# cold: distinct copies of B filling 1 GiB (as GemmBenchmark's weightCache=cold), one per call in turn
copies = max(2, -(-(1 << 30) // (4 * k * n))) if sys.argv[2] == 'cold' else 1
a = np.random.rand(m, k).astype(np.float32); b0 = np.random.rand(k, n).astype(np.float32); c = np.empty((m, n), np.float32)
bs = [b0.copy() for _ in range(copies)]
for i in range(max(3, copies)): np.matmul(a, bs[i % copies], out=c)
ts = []
end = time.perf_counter() + 3
while time.perf_counter() < end or len(ts) < 5:
    b = bs[len(ts) % copies]
    t0 = time.perf_counter(); np.matmul(a, b, out=c); ts.append(time.perf_counter() - t0)
ts.sort()
print(f"{2 * m * n * k / ts[len(ts) // 2] / 1e9:.1f}")
PY
cat > "$tmp/jmh.py" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))[0]
m, n, k = map(int, r["params"]["shape"].split('x'))
print(f"{2 * m * n * k / (r['primaryMetric']['score'] * 1e6):.1f}")
PY
fma_peak() {   # prints "FMA peak <when>: t=1 … GFLOP/s, t=2 …" for the thread counts of this run
  local line="FMA peak $1 ($(date -u '+%H:%M UTC')):" t lanes
  for t in $threads; do
    # shellcheck disable=SC2086
    "$root/sdj" jmh FmaPeakBench -p threads="$t" -f 1 -wi 3 -w 1 -i 5 -r 1 \
      ${jvm_extra:+-jvmArgsAppend "$jvm_extra"} -rf json -rff "$tmp/f.json" > "$tmp/f.log" 2>&1 \
      || { cat "$tmp/f.log" >&2; exit 1; }
    lanes=$(grep -m1 -o 'fma peak lanes [0-9]*' "$tmp/f.log" | awk '{print $4}')
    line="$line t=$t $(python3 -c "import json; r = json.load(open('$tmp/f.json'))[0]
print(f\"{2 * $lanes * 12 * 2**20 * $t / (r['primaryMetric']['score'] * 1e6):.0f}\")") GFLOP/s"
  done
  echo "$line"
}
grep -m1 'model name' /proc/cpuinfo || true
echo "mode $mode, weights $weights, $(date -u '+%Y-%m-%d %H:%M UTC'), OpenBLAS: $(python3 -c 'import numpy; c = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]; print(c.get("name"), c.get("version"))' 2>/dev/null || echo '?')"
fma_peak before
printf '%-16s %7s %5s %10s %10s %7s\n' shape threads round sdj openblas share
for r in $(seq 1 "$rounds"); do
  for t in $threads; do
    for s in ${shapes//,/ }; do
      # shellcheck disable=SC2086
      "$root/sdj" jmh GemmBenchmark -p shape="$s" -p threads="$t" -p weightCache="$weights" -f 1 -wi 3 -w 1 -i 5 -r 1 \
        ${jvm_extra:+-jvmArgsAppend "$jvm_extra"} -rf json -rff "$tmp/r.json" > "$tmp/jmh.log" 2>&1 \
        || { cat "$tmp/jmh.log" >&2; exit 1; }
      variant=$(grep -m1 -o "kernel variant .*" "$tmp/jmh.log" || echo "kernel variant ?")
      [ "$r$t$s" = "1${threads%% *}${shapes%%,*}" ] && echo "sdj $variant"
      sdj=$(python3 "$tmp/jmh.py" "$tmp/r.json")
      blas=$(env "${blas_env[@]}" OPENBLAS_NUM_THREADS="$t" python3 "$tmp/blas.py" "$s" "$weights")
      printf '%-16s %7s %5s %10s %10s %6.0f%%\n' "$s" "$t" "$r" "$sdj" "$blas" "$(python3 -c "print(100 * $sdj / $blas)")"
    done
  done
done
fma_peak after
