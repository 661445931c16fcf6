#!/usr/bin/env bash
# Benchmarks the pages that must stay fast on large data. Seeds a fresh database with
# `guildhall seed-bench` (10,000 organizations, 200,000 users, 250,000 memberships), serves the
# release build, signs in as the bench super administrator and runs wrk against each URL.
# Set BENCH_REUSE=1 to keep an already seeded database.
set -euo pipefail
cd "$(dirname "$0")/.."

server="${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/guildhall}"
server="${server%/*}"
export DATABASE_URL="$server/guildhall_bench"
# BENCH_BIN measures another build (an older release, say) against the same data.
bin="${BENCH_BIN:-${CARGO_TARGET_DIR:-target}/release/guildhall}"
port="${BENCH_PORT:-8091}"
duration="${BENCH_DURATION:-10s}"

command -v wrk >/dev/null || { echo "Installing wrk (apt)..."; ${SUDO:-$( [ "$(id -u)" -ne 0 ] && echo sudo )} apt-get install -y -qq wrk >/dev/null; }
[ -n "${BENCH_BIN:-}" ] || cargo build --release --quiet

if [ "${BENCH_REUSE:-0}" != 1 ]; then
  "$bin" migrate >/dev/null 2>&1 || true
  psql_url="$server/postgres"
  "$bin" --help >/dev/null
  echo "Recreating guildhall_bench..."
  printf 'DROP DATABASE IF EXISTS guildhall_bench WITH (FORCE);\n' | psql -q "$psql_url" 2>/dev/null || true
fi
"$bin" seed-bench

# The policy API's per-key rate is lifted: wrk calls with one key as fast as it can.
GUILDHALL_API_CALLS_PER_KEY_PER_SECOND=100000000 GUILDHALL_BIND="127.0.0.1:$port" RUST_LOG=warn "$bin" serve &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; wait $server_pid 2>/dev/null' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

jar="$(mktemp)"
token="$(curl -s -c "$jar" "http://127.0.0.1:$port/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n 1)"
curl -s -b "$jar" -c "$jar" -o /dev/null --data-urlencode "csrf_token=$token" \
  --data-urlencode "email=bench-admin@bench.example" --data-urlencode "password=guildhall-bench" "http://127.0.0.1:$port/login"
cookie="$(awk '$6 == "guildhall_session" { print $6 "=" $7 }' "$jar")"
[ -n "$cookie" ] || { echo "sign-in failed" >&2; exit 1; }

# The owner of the 20,000-member organization, for its Members page.
owner_email="$(psql -qtA "$server/guildhall_bench" -c "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = 1 AND m.role = 'owner'")"
owner_jar="$(mktemp)"
token="$(curl -s -c "$owner_jar" "http://127.0.0.1:$port/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n 1)"
curl -s -b "$owner_jar" -c "$owner_jar" -o /dev/null --data-urlencode "csrf_token=$token" \
  --data-urlencode "email=$owner_email" --data-urlencode "password=guildhall-bench" "http://127.0.0.1:$port/login"
owner_cookie="$(awk '$6 == "guildhall_session" { print $6 "=" $7 }' "$owner_jar")"
[ -n "$owner_cookie" ] || { echo "the owner's sign-in failed" >&2; exit 1; }

# Warm up: connections in the pool, prepared statements, the database's caches.
for path in "/admin/organizations" "/admin/users?org=1" "/admin/organizations?q=robotics" "/admin/users?org=1&q=hopper"; do
  wrk -t2 -c16 -d3s -H "Cookie: $cookie" "http://127.0.0.1:$port$path" >/dev/null
done
# Team 1 of that organization: 2,000 members, owned by the organization's owner.
team="$(psql -qtA "$server/guildhall_bench" -c "SELECT min(id) FROM teams WHERE org_id = 1")"
for path in "/settings/org/users" "/settings/org/users?q=ada" "/settings/org/teams" "/settings/org/teams/$team" "/settings/org/teams/$team/candidates?add=grace" "/settings/org/subscription" "/settings/org/keys" "/settings/org/security" "/settings/org/usage"; do
  wrk -t2 -c16 -d3s -H "Cookie: $owner_cookie" "http://127.0.0.1:$port$path" >/dev/null
done

transactions() {
  psql -qtA "$server/postgres" -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'guildhall_bench'"
}

# SQL statements per request: every statement a page runs is its own transaction (pages run
# no explicit ones), so the database's transaction counter over N sequential requests, once
# the server's idle connections have reported their statistics (about 10 s), divided by N.
statements() {
  local path="$1" who="${2:-$cookie}" n=200 before after
  sleep 11; before="$(transactions)"
  for _ in $(seq 1 "$n"); do curl -fs -o /dev/null -H "Cookie: $who" "http://127.0.0.1:$port$path"; done
  sleep 11; after="$(transactions)"
  awk -v d="$((after - before))" -v n="$n" 'BEGIN { printf "%.1f", d / n }'
}

printf '%-58s %10s %9s %9s\n' "page" "req/s" "p50" "p99"
run() {
  local label="$1" path="$2" who="${3:-$cookie}" extra="${4:-X-Bench: 1}" out
  out="$(wrk -t2 -c16 -d"$duration" --latency -H "Cookie: $who" -H "$extra" "http://127.0.0.1:$port$path")"
  if echo "$out" | grep -q "Non-2xx"; then echo "$label: non-2xx responses" >&2; echo "$out" >&2; exit 1; fi
  printf '%-58s %10s %9s %9s\n' "$label" \
    "$(echo "$out" | awk '/Requests\/sec/ { print $2 }')" \
    "$(echo "$out" | awk '$1 == "50%" { print $2 }')" \
    "$(echo "$out" | awk '$1 == "99%" { print $2 }')"
}
run "organizations, first page (25 rows)"      "/admin/organizations"
run "organizations, first page (50 rows)"      "/admin/organizations?per_page=50"
run "organizations, sorted by users descending" "/admin/organizations?sort=users&dir=desc"
run "organizations, page 100"                   "/admin/organizations?page=100"
run "organizations, search \"robotics\""          "/admin/organizations?q=robotics"
run "organizations, htmx fragment, by domain"   "/admin/organizations?sort=domain&page=7"
run "organizations, page 100 (50 rows)"        "/admin/organizations?page=100&per_page=50"
run "users of the 20,000-member organization"   "/admin/users?org=1"
run "users of that organization, search \"hopper\"" "/admin/users?org=1&q=hopper"
run "users of that organization, search \"grace hop\"" "/admin/users?org=1&q=grace+hop"
run "organizations, search \"globex labs 1\"" "/admin/organizations?q=globex+labs+1"
run "Members page, as the 20,000-member org's owner" "/settings/org/users" "$owner_cookie"
run "Members, page 400 (after 9,975 members)"   "/settings/org/users?page=400" "$owner_cookie"
run "Members, search \"ada\" (1,600 matches)"    "/settings/org/users?q=ada" "$owner_cookie"
run "Members, search \"lovelace12\" (rare)"      "/settings/org/users?q=lovelace12" "$owner_cookie"
run "Teams page (500 teams), as the owner"      "/settings/org/teams" "$owner_cookie"
run "Teams, page 10"                             "/settings/org/teams?page=10" "$owner_cookie"
run "Teams, search \"data\""                     "/settings/org/teams?q=data" "$owner_cookie"
run "a 2,000-member team's page, as its owner"  "/settings/org/teams/$team" "$owner_cookie"
run "that team, page 40"                         "/settings/org/teams/$team?page=40" "$owner_cookie"
run "that team, search \"ada\""                  "/settings/org/teams/$team?q=ada" "$owner_cookie"
run "add-member search \"grace\" (htmx fragment)" "/settings/org/teams/$team/candidates?add=grace" "$owner_cookie" "HX-Request: true"
run "Subscription tab (6,666 seat holders), as the owner" "/settings/org/subscription" "$owner_cookie"
run "Subscription, seat holders page 200"        "/settings/org/subscription?seats_page=200" "$owner_cookie"
run "Keys (API and provider keys), as the owner" "/settings/org/keys" "$owner_cookie"
run "Security page, as the owner"                "/settings/org/security" "$owner_cookie"
# Members are summed from whole months plus or minus the days at the range's edges: the last 30
# days, and a 30-day range whose edges fall mid-month (the most days to read), and 90 days.
run "Usage, last 30 days"                        "/settings/org/usage" "$owner_cookie"
run "Usage, 30 days ending 16 days ago"          "/settings/org/usage?from=$(date -u -d '45 days ago' +%F)&until=$(date -u -d '16 days ago' +%F)" "$owner_cookie"
run "Usage, last 90 days"                        "/settings/org/usage?from=$(date -u -d '89 days ago' +%F)" "$owner_cookie"
# The audit log: a million of organization 1's entries, two million in all. A deep page starts
# from the cursor of the entry 200,000 places back.
actor="$(psql -qtA "$server/guildhall_bench" -c "SELECT actor_email FROM audit_log WHERE org_id = 1 ORDER BY id LIMIT 1")"
deep="$(psql -qtA "$server/guildhall_bench" -c "SELECT (extract(epoch FROM at) * 1000000)::bigint || '.' || id FROM audit_log WHERE org_id = 1 ORDER BY at DESC, id DESC OFFSET 200000 LIMIT 1")"
audit_pages=("/settings/org/audit" "/settings/org/audit?before=$deep" "/settings/org/audit?action=invitation.sent"
  "/settings/org/audit?actor=$actor" "/settings/org/audit?target=member42%40bench.example"
  "/settings/org/audit?from=$(date -u -d '200 days ago' +%F)&until=$(date -u -d '190 days ago' +%F)")
for path in "${audit_pages[@]}"; do
  wrk -t2 -c16 -d2s -H "Cookie: $owner_cookie" "http://127.0.0.1:$port$path" >/dev/null
done
run "Audit log (1,000,000 entries), newest"      "/settings/org/audit" "$owner_cookie"
run "Audit log, 200,000 entries back"            "/settings/org/audit?before=$deep" "$owner_cookie"
run "Audit log, one action"                      "/settings/org/audit?action=invitation.sent" "$owner_cookie"
run "Audit log, one actor"                       "/settings/org/audit?actor=$actor" "$owner_cookie"
run "Audit log, one target"                      "/settings/org/audit?target=member42%40bench.example" "$owner_cookie"
run "Audit log, ten days half a year ago"        "/settings/org/audit?from=$(date -u -d '200 days ago' +%F)&until=$(date -u -d '190 days ago' +%F)" "$owner_cookie"
run "Audit log of every organization (2,000,000)" "/admin/audit"
run "every organization's, one action, one org"  "/admin/audit?action=team.member_added&org=7"
# Verify runs in the background: start it (as htmx does), then poll its region until done.
page="$(curl -s -H "Cookie: $owner_cookie" "http://127.0.0.1:$port/settings/org/audit")"
owner_token="$(echo "$page" | sed -n 's/.*name="csrf-token" content="\([^"]*\)".*/\1/p' | head -n 1)"
started="$(date +%s.%N)"
region="$(curl -s -H "Cookie: $owner_cookie" -H "X-CSRF-Token: $owner_token" -H "HX-Request: true" \
  --data-urlencode "org=" "http://127.0.0.1:$port/settings/org/audit/verify")"
status_path="$(echo "$region" | sed -n 's/.*hx-get="\([^"]*\)".*/\1/p' | head -n 1)"
while [ -n "$status_path" ]; do
  sleep 0.5
  region="$(curl -s -H "Cookie: $owner_cookie" -H "HX-Request: true" "http://127.0.0.1:$port$status_path")"
  echo "$region" | grep -q 'hx-trigger="every 1s"' || break
done
ended="$(date +%s.%N)"
echo "$region" | grep -q "intact" || { echo "the verification did not end intact: $region" >&2; exit 1; }
printf '%-58s %10s\n' "Verify organization 1's chain (1,000,000 entries)" \
  "$(awk -v s="$started" -v e="$ended" 'BEGIN { printf "%.1f s", e - s }')"

# The policy API against a bare endpoint of the same server, in the same run: authorize with
# the bench's key (organization 1, every check passing) and /healthz.
bench_key="ghk_bbbbbbbbbbbb_benchbenchbenchbenchbenchbenchbenchbenchben"
lua="$(mktemp --suffix .lua)"
cat > "$lua" <<LUA
wrk.method = "POST"
wrk.body = '{"endpoint":"chat_completions","model":"gpt-4o"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $bench_key"
LUA
wrk -t2 -c16 -d3s -s "$lua" "http://127.0.0.1:$port/api/v1/authorize" >/dev/null
api_run() {
  local label="$1" path="$2" script="${3:-}" out
  out="$(wrk -t2 -c16 -d"$duration" --latency ${script:+-s "$script"} "http://127.0.0.1:$port$path")"
  if echo "$out" | grep -q "Non-2xx"; then echo "$label: non-2xx responses" >&2; echo "$out" >&2; exit 1; fi
  printf '%-58s %10s %9s %9s\n' "$label" \
    "$(echo "$out" | awk '/Requests\/sec/ { print $2 }')" \
    "$(echo "$out" | awk '$1 == "50%" { print $2 }')" \
    "$(echo "$out" | awk '$1 == "99%" { print $2 }')"
}
api_run "bare endpoint (GET /healthz)"              "/healthz"
api_run "POST /api/v1/authorize (allow)"            "/api/v1/authorize" "$lua"
curl -fs -X POST -H "Authorization: Bearer $bench_key" -H "Content-Type: application/json" \
  -d '{"endpoint":"chat_completions","model":"gpt-4o"}' "http://127.0.0.1:$port/api/v1/authorize" | grep -q '"allow"' \
  || { echo "the bench key is not allowed" >&2; exit 1; }

# Usage ingestion: 20 batches of 1,000 calls (fresh idempotency keys each run), two at a time.
batches="$(mktemp -d)"
python3 - "$batches" "$(date +%s)" <<'PY'
import json, sys
folder, run = sys.argv[1], sys.argv[2]
for b in range(20):
    records = [{"idempotency_key": f"bench-{run}-{b}-{i}", "endpoint": "chat_completions",
                "model": "gpt-4o", "input_tokens": 120 + i % 50, "output_tokens": 80}
               for i in range(1000)]
    with open(f"{folder}/{b}.json", "w") as f:
        json.dump({"records": records}, f)
PY
started="$(date +%s.%N)"
ls "$batches"/*.json | xargs -P 2 -I{} curl -fs -o /dev/null -X POST -H "Authorization: Bearer $bench_key" \
  -H "Content-Type: application/json" --data-binary @{} "http://127.0.0.1:$port/api/v1/usage"
ended="$(date +%s.%N)"
printf '%-58s %10s\n' "usage: 20 batches of 1,000 calls, 2 at a time" \
  "$(awk -v s="$started" -v e="$ended" 'BEGIN { printf "%.0f calls/s", 20000 / (e - s) }')"

# Inviting 100 people in one request, as the owner (fresh addresses each run): server time.
page="$(curl -s -H "Cookie: $owner_cookie" "http://127.0.0.1:$port/settings/org/users")"
owner_token="$(echo "$page" | sed -n 's/.*name="csrf-token" content="\([^"]*\)".*/\1/p' | head -n 1)"
run_id="$(date +%s)"
emails="$(for i in $(seq 1 100); do printf 'invitee%s.%s@bench.example\n' "$run_id" "$i"; done)"
timed="$(curl -s -o /dev/null -w '%{http_code} %{time_total}' \
  -H "Cookie: $owner_cookie" -H "X-CSRF-Token: $owner_token" -H "HX-Request: true" \
  --data-urlencode "emails=$emails" --data-urlencode "role=member" --data-urlencode "intent=send" \
  "http://127.0.0.1:$port/settings/org/invitations")"
[ "${timed%% *}" = 200 ] || { echo "inviting 100 people failed: HTTP ${timed%% *}" >&2; exit 1; }
printf '%-58s %10s\n' "inviting 100 emails in one request" "$(echo "$timed" | awk '{ printf "%.0f ms", $2 * 1000 }')"

if [ "${BENCH_STATEMENTS:-1}" = 1 ]; then
  echo
  printf '%-58s %10s\n' "page" "SQL/request"
  for path in "/admin/organizations" "/admin/organizations?q=robotics" "/admin/users?org=1" "/admin/users?org=1&q=hopper" "/settings/account" "/admin/audit"; do
    printf '%-58s %10s\n' "$path" "$(statements "$path")"
  done
  for path in "/settings/org/users" "/settings/org/users?q=ada" "/settings/org/teams" "/settings/org/teams/$team" "/settings/org/teams/$team?q=ada" "/settings/org/teams/$team/candidates?add=grace" "/settings/org/subscription" "/settings/org/keys" "/settings/org/security" "/settings/org/usage" "${audit_pages[@]}"; do
    printf '%-58s %10s\n' "$path (owner)" "$(statements "$path" "$owner_cookie")"
  done
  sleep 11; before="$(transactions)"
  for _ in $(seq 1 200); do
    curl -fs -o /dev/null -X POST -H "Authorization: Bearer $bench_key" -H "Content-Type: application/json" \
      -d '{"endpoint":"chat_completions","model":"gpt-4o"}' "http://127.0.0.1:$port/api/v1/authorize"
  done
  sleep 11; after="$(transactions)"
  printf '%-58s %10s\n' "POST /api/v1/authorize" "$(awk -v d="$((after - before))" 'BEGIN { printf "%.1f", d / 200 }')"
fi
