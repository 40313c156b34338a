#!/usr/bin/env bash
# The course's performance figures: each is one of its solutions against a
# reference server, in interleaved rounds (ours, reference, ours, …), with
# medians, ranges and the ratio. book/src/appendix-measuring.md explains them.
#
#   tools/load/compare.sh             # all three comparisons (about 10 minutes)
#   tools/load/compare.sh echo        # chapter 4's echo ÷ plain tokio-tungstenite
#   tools/load/compare.sh idle        # chapter 5's presence vs axum's defaults
#   tools/load/compare.sh fanout      # chapter 2's event stream vs a naive one, steady and in a burst
#   tools/load/compare.sh scale-out   # chapter 8's three instances on Redis vs chapter 6's one
#   ROUNDS=7 tools/load/compare.sh echo
#
# Each comparison writes its figures file, book/src/figures/<name>.md (the
# medians with the command, the machine and the date), which the book's
# pages include: commit the files after a clean run, and every page that
# quotes a figure follows.
#
# Figures taken while the machine is busy with something else are noise:
# check `uptime` first.
set -euo pipefail
cd "$(dirname "$0")/../.."

what="${1:-all}"
rounds="${ROUNDS:-5}"
# A ratio of medians within a few percent needs more rounds than one
# within tens of percent: the fan-out's steady figure is held to 1.05.
fanout_rounds="${ROUNDS:-7}"
case "$what" in
all | echo | idle | fanout | scale-out) ;;
*)
    echo "usage: $0 [all|echo|idle|fanout|scale-out]" >&2
    exit 2
    ;;
esac

# Each connection is a file descriptor at both ends, and 10,000 of them need
# more than a shell's usual 1,024. The servers inherit this limit (the load
# tool raises its own as well, and says what it got).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

packages=(-p course-load -p sol02-sse -p sol04-frames -p sol05-presence)
if [[ $what == all || $what == scale-out ]]; then
    packages+=(-p sol06-board -p sol08-scale-out)
fi
cargo build --release "${packages[@]}"
bin=target/release
figures=book/src/figures
compare() {
    local name="$1"
    shift
    "$bin/load" compare --rounds "$rounds" --out "$figures/$name.md" "$@"
}
echo "$(uptime)"

if [[ $what == all || $what == echo ]]; then
    echo
    echo "## Chapter 4's echo ÷ plain tokio-tungstenite: 64 connections × 1 KiB (goal: messages/s ratio ≥ 1.0)"
    compare echo-64 --ours "$bin/sol04-frames" --reference "$bin/ref-tungstenite-echo" \
        echo --connections 64 --size 1024
    echo
    echo "## Chapter 4's echo ÷ plain tokio-tungstenite: 1 connection × 16 B (goal: messages/s ratio ≥ 1.0)"
    compare echo-1 --ours "$bin/sol04-frames" --reference "$bin/ref-tungstenite-echo" \
        echo --connections 1 --size 16
fi

if [[ $what == all || $what == idle ]]; then
    echo
    echo "## Chapter 5's presence vs axum's defaults: 10,000 idle WebSockets (goal: ≤ 8 KiB each)"
    compare idle --ours "$bin/sol05-presence" --reference "$bin/ref-axum-echo" \
        idle --connections 10000
    echo
    echo "## The same, each connection joined to a board of 10 (the echo server answers the join by echoing it)"
    compare idle-joined --ours "$bin/sol05-presence" --reference "$bin/ref-axum-echo" \
        idle --connections 10000 --group 10 \
        --hello '{"type":"join","boardId":"idle-{g}","user":"user-{i}"}'
fi

if [[ $what == all || $what == fanout ]]; then
    echo
    echo "## Chapter 2's event stream vs naive Sse + broadcast: 10,000 subscribers, 20 events one at a time (goal: median ratios ≤ 1.05, all delivered)"
    rounds=$fanout_rounds
    compare fanout --ours "$bin/sol02-sse" --reference "$bin/ref-naive-sse" \
        fanout --subscribers 10000 --events 20
    echo
    echo "## The same, a burst: the 20 events created back to back, so each subscriber has several queued; chapter 2 encodes each event once and sends a subscriber's queued events as one chunk, the naive board encodes each per subscriber (goal: p99 ratio ≤ 0.6, all delivered; write calls per delivery show the batching)"
    compare fanout-burst --ours "$bin/sol02-sse" --reference "$bin/ref-naive-sse" \
        fanout --subscribers 10000 --events 20 --burst
fi

if [[ $what == all || $what == scale-out ]]; then
    # Three instances of chapter 8's server, each round on a private
    # redis-server (Debian: apt install redis-server), against chapter 6's
    # single in-memory server; the subscribers are spread over the three.
    for subscribers in 1000 10000; do
        echo
        echo "## Chapter 8's three instances on one Redis vs chapter 6's one process: $subscribers subscribers, 20 events (goal: server CPU/delivery ratio ≤ 1.5, all delivered)"
        compare "scale-out-$subscribers" --ours "$bin/sol08-scale-out" --reference "$bin/sol06-board" \
            --instances 3 --redis-server redis-server \
            fanout --subscribers "$subscribers" --events 20
    done
fi
