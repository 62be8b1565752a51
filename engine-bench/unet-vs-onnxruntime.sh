#!/usr/bin/env bash
# One UNet evaluation in sdj and in ONNX Runtime (Java API), same process, same minutes, same synthetic weights:
# io.sdj.bench.peer.UNetVsOnnxRuntime exports the bundled config to ONNX (kept in engine-bench/target/onnx), checks
# that both engines give the same output, then alternates timed rounds between them, with the FMA peak before and after.
#   engine-bench/unet-vs-onnxruntime.sh --arch bk-sdm-tiny --latent 64 --rounds 2
#   engine-bench/unet-vs-onnxruntime.sh --arch sd15 --latent 64
#   engine-bench/unet-vs-onnxruntime.sh --arch mobilediffusion --latent 64     # any bundled config (sdj arch)
# Options after the script name go to the class (--arch --latent --threads --runs --rounds --dir). Needs a built
# engine-bench (mvn install) and Maven to resolve the ONNX Runtime jar (a provided dependency of engine-bench).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
jar="$root/engine-bench/target/benchmarks.jar"
[ -f "$jar" ] || { echo "$0: $jar is missing; build first: mvn -B install -DskipTests" >&2; exit 1; }
cp_file="$root/engine-bench/target/onnxruntime.classpath"
if [ ! -s "$cp_file" ]; then
  (cd "$root" && mvn -B -q dependency:build-classpath -pl engine-bench -Dmdep.includeScope=provided \
      -Dmdep.includeArtifactIds=onnxruntime -Dmdep.outputFile="$cp_file") >&2
fi
mkdir -p "$root/engine-bench/target/onnx"
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx8g -XX:MaxDirectMemorySize=16g \
  -cp "$jar:$(cat "$cp_file")" io.sdj.bench.peer.UNetVsOnnxRuntime --dir "$root/engine-bench/target/onnx" "$@"
