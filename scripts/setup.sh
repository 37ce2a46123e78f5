#!/usr/bin/env bash
# Installs the system packages normbench builds against (Debian/Ubuntu), once.
# Uses sudo when not root; runs `apt-get update` first; never prompts.
# Extra package names given as arguments are installed too (scripts/mpi.sh: Open MPI).
set -euo pipefail

packages=(pkg-config ffmpeg libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libdnnl-dev "$@")

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "normbench setup: apt-get not found; install these packages with your system's package manager: ${missing[*]}" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
        echo "normbench setup: not root and no sudo; run as root: apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
echo "normbench setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
