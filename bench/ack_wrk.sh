#!/usr/bin/env bash
# Throughput and latency of the released `cws-bot` binary under wrk: every request is a unique,
# correctly signed `/cws launch` (fresh trigger id), verified, parsed and queued in Redis. The
# same load then goes to the bare axum + Redis reference (bench/reference_edge.rs), and the bot's
# share of the reference's throughput and its peak memory are printed.
#   bench/ack_wrk.sh [seconds=5] [connections=64]
# Needs wrk (apt-get install wrk) and a Redis at CWS_BENCH_REDIS (default the test Redis, db 83).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-5}"
connections="${2:-64}"
redis_url="${CWS_BENCH_REDIS:-redis://127.0.0.1:6390/83}"
port=38473
reference_port=38474
secret=bench-signing-secret
work=$(mktemp -d)
bot=
reference=
trap 'kill $bot $reference 2>/dev/null || true; rm -rf "$work"' EXIT

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
cargo build --release -q -p cws-bot --bin cws-bot --example reference_edge
redis-cli -u "$redis_url" flushdb >/dev/null

# As the image runs it (Dockerfile: mimalloc's arena size).
MIMALLOC_ARENA_RESERVE=4MiB \
REDIS_URL="$redis_url" SLACK_SIGNING_SECRET="$secret" CWS_LISTEN="127.0.0.1:$port" RUST_LOG=warn \
  target/release/cws-bot &
bot=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

# Enough unique requests that none repeats during the run; wrk threads take disjoint ranges.
python3 - "$work/requests.tsv" "$secret" "$((seconds * 60000))" <<'PY'
import hashlib, hmac, sys, time, urllib.parse
path, secret, count = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
ts = str(int(time.time()))
with open(path, "w") as out:
    for n in range(count):
        body = urllib.parse.urlencode({
            "team_id": "T0BENCH", "team_domain": "bench", "channel_id": "C0BENCH",
            "user_id": "U0BENCH", "user_name": "bench", "command": "/cws",
            "text": f'launch "Python Machine Learning" box-{n} --size M',
            "response_url": "http://127.0.0.1:9/r", "trigger_id": f"wrk.{ts}.{n}"})
        sig = "v0=" + hmac.new(secret, f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        out.write("%s\t%s\t%s\n" % (ts, sig, body))
PY

cat > "$work/signed.lua" <<LUA
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  requests = {}
  for line in io.lines("$work/requests.tsv") do
    local ts, sig, body = line:match("([^\t]*)\t([^\t]*)\t(.*)")
    requests[#requests + 1] = { ts, sig, body }
  end
  step = 2
  i = id
end
function request()
  i = i + step
  local r = requests[(i % #requests) + 1]
  return wrk.format("POST", "/slack/commands", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Slack-Request-Timestamp"] = r[1],
    ["X-Slack-Signature"] = r[2],
  }, r[3])
end
function done(summary, latency, requests)
  if summary.errors.status > 0 then
    io.stderr:write(summary.errors.status .. " answers were not 200\n")
    os.exit(1)
  end
end
LUA

# Requests per second of the server on $1 under the load, its latency distribution printed.
saturate() {
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/signed.lua" "http://127.0.0.1:$1" \
    > "$work/wrk.txt"
  sed -n '/Latency Distribution/,$p' "$work/wrk.txt" >&2
  awk '/Requests\/sec/ { print int($2) }' "$work/wrk.txt"
}

echo "== cws-bot: 2 threads, $connections connections, ${seconds}s"
bot_rps=$(saturate "$port")
echo "jobs queued: $(redis-cli -u "$redis_url" hlen cws:queue:launch:data)"
bot_rss_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$bot/status")
kill "$bot"

redis-cli -u "$redis_url" flushdb >/dev/null
REDIS_URL="$redis_url" SLACK_SIGNING_SECRET="$secret" CWS_LISTEN="127.0.0.1:$reference_port" \
  target/release/examples/reference_edge &
reference=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$reference_port") 2>/dev/null && break
  sleep 0.1
done
echo "== bare axum + Redis reference, same load"
reference_rps=$(saturate "$reference_port")
echo "jobs queued: $(redis-cli -u "$redis_url" llen ref:queue)"

echo "cws-bot: $bot_rps req/s, peak RSS $((bot_rss_kb / 1024)) MB (target < 30 MB)"
echo "reference: $reference_rps req/s"
echo "cws-bot / reference: $((100 * bot_rps / reference_rps)) % (target >= 70 %)"
