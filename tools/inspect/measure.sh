#!/usr/bin/env bash
# What the inspector adds to a WebSocket echo round trip on loopback: the
# echo server (chapter 4's solution) measured directly and through
# `course inspect`, in interleaved rounds (direct, proxied, direct, …) so
# that whatever else the machine does lands on both alike.
#
#   tools/inspect/measure.sh [ROUNDS] [RATE] [CONNECTIONS]   # defaults: 7 1000 10
#
# The inspector is the debug build `cargo course inspect` runs (INSPECTOR=
# release measures a release build); the server and the load tool are
# release builds, as the appendix's figures are. Each round is `load echo --rate RATE`
# (messages/s over all connections, one in flight each; 100-byte text
# messages, which the inspector decodes and prints, to /dev/null). Prints
# each round's report (directly: the server's CPU per message; through the
# inspector: the inspector's), its p50 and, at the end, the median p50 of
# each side and the difference. Run it niced on a shared machine, and say
# the load average.
set -euo pipefail
cd "$(dirname "$0")/../.."

rounds=${1:-7}
rate=${2:-1000}
connections=${3:-10}

profile=${INSPECTOR:-debug}
cargo build --release --quiet --package course-load --package sol04-frames
if [ "$profile" = release ]; then
  cargo build --release --quiet --package course
else
  cargo build --quiet --package course
fi
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/release"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
server_port=$(free_port)
proxy_port=$(free_port)

PORT=$server_port RUST_LOG=warn "$bin/sol04-frames" >/dev/null 2>&1 &
server=$!
"$target_dir/$profile/course" inspect --to "127.0.0.1:$server_port" --listen "$proxy_port" --no-view >/dev/null 2>&1 &
inspector=$!
trap 'kill $server $inspector 2>/dev/null || true' EXIT
for port in "$server_port" "$proxy_port"; do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $rounds rounds of ${rate} msg/s over $connections connections; the inspector's $profile build"
p50() {
  "$bin/load" echo --port "$1" --pid "$2" --rate "$rate" --connections "$connections" --size 100 --text \
    --secs 5 --warmup-secs 1 | tee /dev/stderr | sed -n 's/.*round trip p50 \([0-9.]*\) ms.*/\1/p'
}
direct=()
proxied=()
for round in $(seq "$rounds"); do
  direct+=("$(p50 "$server_port" "$server")")
  proxied+=("$(p50 "$proxy_port" "$inspector")")
  echo "round $round: direct p50 ${direct[-1]} ms, through the inspector ${proxied[-1]} ms"
done
python3 - "${direct[*]}" "${proxied[*]}" <<'EOF'
import statistics, sys
direct = [float(x) for x in sys.argv[1].split()]
proxied = [float(x) for x in sys.argv[2].split()]
d, p = statistics.median(direct), statistics.median(proxied)
pairs = sorted(q - r for r, q in zip(direct, proxied))
print(f"median p50: direct {d * 1000:.0f} µs, through the inspector {p * 1000:.0f} µs: "
      f"{(p - d) * 1000:+.0f} µs (per-round differences, sorted: "
      + ", ".join(f"{x * 1000:+.0f}" for x in pairs) + " µs)")
EOF
