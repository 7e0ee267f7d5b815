#!/usr/bin/env bash
# The main job on the embedded default, on a fresh machine: install what is needed, build,
# synthesize a dirty loan book as a MySQL dump, restore it into SQLite, profile it, train
# the three learners and keep the best, start creditd on a Unix socket and score a sample
# through it. Everything lands in ./demo/ (ignored by git). No server to install, no
# ../shared needed. The daemon is left running; the last line says how to stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --product credit
swift build --product creditd
BIN="$(swift build --show-bin-path)"
SPEC=examples/alura-cash/spec.json
mkdir -p demo
if [ -f demo/creditd.pid ] && kill -0 "$(cat demo/creditd.pid)" 2>/dev/null; then
    kill "$(cat demo/creditd.pid)"; sleep 1
fi

echo "== synthesize a dirty loan book (MySQL dump) and restore it into SQLite"
"$BIN/credit" synth --rows 20000 --seed 7 --out mysqldump:demo/book.sql
"$BIN/credit" db restore --replace --into sqlite:demo/book.db demo/book.sql

echo "== profile it"
"$BIN/credit" profile --data sqlite:demo/book.db --spec "$SPEC" \
    --out demo/profile.html --json demo/profile.json

echo "== train logistic regression and gradient-boosted trees (5-fold cross-validation; the MLP is left out: the spec declares monotone constraints); keep the best"
"$BIN/credit" train --data sqlite:demo/book.db --spec "$SPEC" --algorithm auto \
    --min-precision 0.80 --seed 7 --out demo/model.credit --metrics demo/metrics.json

HTTP_PORT="${CREDIT_HTTP_PORT:-8080}"
echo "== serve it: creditd on unix:demo/creditd.sock and http://127.0.0.1:$HTTP_PORT"
rm -f demo/creditd.sock
"$BIN/creditd" --model demo/model.credit --listen unix:demo/creditd.sock --listen "http:127.0.0.1:$HTTP_PORT" > demo/creditd.log 2>&1 &
echo $! > demo/creditd.pid
for _ in $(seq 1 100); do [ -S demo/creditd.sock ] && break; sleep 0.1; done

echo "== score a sample of 25 applicants through the daemon"
"$BIN/credit" score --connect unix:demo/creditd.sock --data sqlite:demo/book.db \
    --query "SELECT * FROM ($(grep -v '^--' examples/alura-cash/join.sql | tr '\n' ' ' | sed 's/;[[:space:]]*$//')) LIMIT 25" \
    --out csv:demo/sample-scores.csv
head -6 demo/sample-scores.csv
echo
echo "== one applicant through the HTTP/JSON face"
curl -s -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$HTTP_PORT/v1/score" \
    -d '{"id":"demo-1","person_age":30,"person_income":52000,"person_home_ownership":"RENT","person_emp_length":3,"loan_intent":"EDUCATION","loan_grade":"B","loan_amnt":9000,"loan_int_rate":11.5,"loan_percent_income":0.17,"cb_person_default_on_file":"N","cb_person_cred_hist_length":4}' || true
echo
echo "profile: demo/profile.html  metrics: demo/metrics.json  scores: demo/sample-scores.csv"
echo "analyst web app: http://127.0.0.1:$HTTP_PORT/ (score an applicant, score a file, model report, portfolio)"
echo "HTTP/JSON face: http://127.0.0.1:$HTTP_PORT/v1/model, /v1/score, /metrics, /openapi.json (docs/http.md)"
echo "creditd is running (pid $(cat demo/creditd.pid), log demo/creditd.log); stop it with: kill \$(cat demo/creditd.pid)"
