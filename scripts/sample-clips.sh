#!/usr/bin/env bash
# Makes a few short sample clips with the ffmpeg CLI (for the quick start).
set -euo pipefail
dir=${1:-.normbench/samples}
mkdir -p "$dir"
[ -f "$dir/testsrc-h264.mp4" ] || ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=25:duration=4 \
    -c:v libx264 -pix_fmt yuv420p -g 50 "$dir/testsrc-h264.mp4"
[ -f "$dir/mandelbrot-vp9.webm" ] || ffmpeg -v error -y -f lavfi -i mandelbrot=size=320x240:rate=25,trim=duration=3 \
    -c:v libvpx-vp9 -b:v 500k "$dir/mandelbrot-vp9.webm"
[ -f "$dir/smpte-ffv1.mkv" ] || ffmpeg -v error -y -f lavfi -i smptebars=size=320x240:rate=30:duration=2 \
    -c:v ffv1 "$dir/smpte-ffv1.mkv"
