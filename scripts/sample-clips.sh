#!/usr/bin/env bash
# Makes a few short sample clips with the ffmpeg CLI (for the quick start):
# H.264 with B-frames (mp4), VP9 (webm), FFV1 (mkv). Each is written under a
# temporary name and renamed, so an interrupted run never leaves a partial clip.
set -euo pipefail
dir=${1:-.normbench/samples}
mkdir -p "$dir"

make() {  # make <output> <ffmpeg args...>
    local out=$1; shift
    [ -f "$out" ] && return 0
    local tmp="${out%.*}.partial.${out##*.}"
    ffmpeg -nostdin -v error -y "$@" "$tmp"
    mv "$tmp" "$out"
}

make "$dir/testsrc-h264.mp4" -f lavfi -i testsrc2=size=640x360:rate=25:duration=4 \
    -c:v libx264 -pix_fmt yuv420p -g 50
make "$dir/mandelbrot-vp9.webm" -f lavfi -i mandelbrot=size=320x240:rate=25,trim=duration=3 \
    -c:v libvpx-vp9 -b:v 500k -deadline realtime
make "$dir/smpte-ffv1.mkv" -f lavfi -i smptebars=size=320x240:rate=30:duration=2 \
    -c:v ffv1
