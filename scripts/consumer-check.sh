#!/usr/bin/env bash
# Shows that normbench's library products can be used by another package as a
# versioned dependency (docs/library.md, docs/build.md):
# 1. clones this repository's committed HEAD into a temporary folder and tags it
#    0.1.0 there (your checkout is not touched; uncommitted changes are not seen);
# 2. writes a throwaway package that depends on it with
#    .package(url: "file://...", from: "0.1.0") and uses NormBenchVideo;
# 3. makes a 3-second test clip with the ffmpeg CLI, builds the package in
#    release mode and runs its five-line program on the clip: frames from
#    t = 1 s, scaled to 112x112, as a normalized C x T x H x W float tensor.
# Exit 0 when the program prints the tensor's size; the temporary folder is
# removed unless KEEP=1. Needs what scripts/setup.sh installs and Swift 6.2+.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/normbench-consumer.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then trap 'rm -rf "$tmp"' EXIT; fi
start=$SECONDS

git clone -q "$repo" "$tmp/normbench"
git -C "$tmp/normbench" tag -f 0.1.0 >/dev/null

mkdir -p "$tmp/consumer/Sources/consumer"
cat > "$tmp/consumer/Package.swift" <<EOF
// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "consumer",
    dependencies: [.package(url: "file://$tmp/normbench", from: "0.1.0")],
    targets: [
        .executableTarget(name: "consumer", dependencies: [.product(name: "NormBenchVideo", package: "normbench")]),
    ]
)
EOF
cat > "$tmp/consumer/Sources/consumer/main.swift" <<'EOF'
import NormBenchVideo

let path = CommandLine.arguments[1]
let fps = try VideoInfo.probe(path, scan: false).averageFrameRate  // frames per second, from the header
let clip = try ClipDecoder.decode(path, options: DecodeOptions(sampling: .dense(count: 8, stride: 2, start: Int(1.0 * fps)), resize: .exact(width: 112, height: 112)))
let tensor = clip.floatData(layout: .cthw, mean: [0.45, 0.45, 0.45], std: [0.225, 0.225, 0.225])  // C×T×H×W
print("frames \(clip.frameIndices) at \(clip.timestamps.map { ($0 * 100).rounded() / 100 }) s -> tensor [3, \(clip.frames), \(clip.height), \(clip.width)] = \(tensor.count) floats")
EOF

ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=25:duration=3 \
    -c:v libx264 -pix_fmt yuv420p "$tmp/clip.mp4"

cd "$tmp/consumer"
swift build -c release -q
.build/release/consumer "$tmp/clip.mp4"
echo "consumer-check: ok in $((SECONDS - start)) s (a package depending on normbench from: 0.1.0 built and decoded a clip)"
