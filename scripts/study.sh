#!/usr/bin/env bash
# Runs the committed studies (docs/study.md, docs/transfer.md) one seed at a
# time, each seed in its own run folder, and can be stopped and started again at
# any point: a folder that already holds a run.json is continued with --resume
# (its finished cells are kept; a cell that was in flight starts over).
#
#   scripts/study.sh [--out DIR] [PART ...]
#
# PART: video-cls (main arm, seeds 0-4, with its convergence and ghost-batch
# controls, seeds 0-2), groups, video-det, transfer, transfer-2x (BN*, SyncBN
# and GN at batch 2 with 24 and 48 epochs, seed by seed); default: all, in that
# order.
# --out DIR: where the run folders go (default Results, which `normbench publish`
# renders). NORMBENCH=path runs that binary (default: builds .build/release).
# The records name the commit of the working directory: run from a clean checkout.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out=Results
parts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --out) [ $# -ge 2 ] || { echo "scripts/study.sh: --out needs a folder" >&2; exit 64; }; out="$2"; shift 2 ;;
        video-cls|groups|video-det|transfer|transfer-2x) parts+=("$1"); shift ;;
        *) echo "scripts/study.sh: unknown argument '$1'; parts are video-cls, groups, video-det, transfer, transfer-2x" >&2; exit 64 ;;
    esac
done
[ ${#parts[@]} -gt 0 ] || parts=(video-cls groups video-det transfer transfer-2x)

nb="${NORMBENCH:-}"
if [ -z "$nb" ]; then
    (cd "$root" && swift build -c release --product normbench)
    nb="$root/.build/release/normbench"
fi

# step <run folder> <normbench run arguments...>; a run that exits non-zero (a
# failed cell, a full disk) is reported at the end and the next one starts.
failed=()
step() {
    local dir="$1"; shift
    local resume=()
    [ -f "$dir/run.json" ] && resume=(--resume)
    echo "scripts/study.sh: $(date -u +%FT%TZ) normbench run $* --out $dir ${resume[*]}" >&2
    "$nb" run "$@" --out "$dir" "${resume[@]}" </dev/null || failed+=("$dir")
}

for part in "${parts[@]}"; do
    case "$part" in
        video-cls)
            for seed in 0 1 2 3 4; do
                step "$out/video-cls/seed-$seed" video-cls --seeds $seed
                if [ $seed -le 2 ]; then
                    step "$out/video-cls-long/seed-$seed" video-cls-long --seeds $seed
                    step "$out/video-cls-ghost/seed-$seed" video-cls-ghost --seeds $seed
                fi
            done ;;
        groups)
            for seed in 0 1 2; do step "$out/groups/seed-$seed" groups --seeds $seed; done ;;
        video-det)
            for seed in 0 1 2; do
                step "$out/video-det/workers-1/seed-$seed" video-det --seeds $seed
                step "$out/video-det/workers-2/seed-$seed" video-det --workers 2 --norms bn,syncbn --seeds $seed
            done ;;
        transfer|transfer-2x)
            # The fine-tuning starts from the newest complete run in
            # Results/video-pretrain (its model.init), whatever --out says.
            step "Results/video-pretrain/seed-0" video-pretrain --seeds 0
            if [ "$part" = transfer ]; then
                for seed in 0 1 2; do step "$out/video-det-transfer/seed-$seed" video-det-transfer --seeds $seed; done
            else
                for seed in 0 1 2; do
                    step "$out/video-det-transfer-2x/seed-$seed" video-det-transfer-2x --seeds $seed
                    step "$out/video-det-transfer-2x-long/seed-$seed" video-det-transfer-2x-long --seeds $seed
                done
            fi ;;
    esac
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "scripts/study.sh: these runs exited non-zero (see above); rerun the same command to retry their missing cells: ${failed[*]}" >&2
    exit 1
fi
echo "scripts/study.sh: done; render the pages with: normbench publish" >&2
