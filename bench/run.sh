#!/usr/bin/env bash
# Regenerates bench/RESULTS.md: builds (release), restores the loan book, trains our models,
# installs and runs the peers (bench/.venv), drives creditd and the C floor with credit-bench,
# times the kernels against OpenBLAS, and assembles the report. Bench-only; never run in CI.
#   bash bench/run.sh            # full run (~10 min on 2 cores)
#   QUICK=1 bash bench/run.sh    # shorter runs (smoke test of the pipeline)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
OUT="$ROOT/bench/out"
DATA="$ROOT/../shared/data/alura-cash"
SPEC="$ROOT/examples/alura-cash/spec.json"
QUERY="$ROOT/examples/alura-cash/join.sql"
WARMUP=${WARMUP:-1}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
if [[ -n "${QUICK:-}" ]]; then WARMUP=0.3; SECONDS_PER_RUN=0.7; fi
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.md   # no stale figures from an earlier run
t_start=$(date +%s)
step() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

[[ -d "$DATA" ]] || { echo "missing $DATA (the shared loan book)" >&2; exit 1; }

step "system packages (build deps, OpenBLAS for the kernel comparison, a C compiler, Python venv)"
need=()
pkg-config --exists libprotobuf-c 2>/dev/null || need+=(libprotobuf-c-dev pkg-config)
[[ -e /usr/include/sqlite3.h ]] || need+=(libsqlite3-dev)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v cc >/dev/null || need+=(gcc)
command -v curl >/dev/null || need+=(curl)
ldconfig -p | grep -q libopenblas.so || need+=(libopenblas-dev)
command -v python3 >/dev/null || need+=(python3)
python3 -c "import ensurepip" 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})) && command -v apt-get >/dev/null; then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

step "peers: virtualenv bench/.venv"
if [[ ! -x bench/.venv/bin/python ]]; then python3 -m venv bench/.venv; fi
bench/.venv/bin/pip install -q --disable-pip-version-check -r bench/peers/requirements.txt >&2

step "build (release) + C floor + malloc counter"
swift build -c release >&2
BIN="$(swift build -c release --show-bin-path)"
cc -O2 -pthread -o "$OUT/echo" bench/floor/echo.c
cc -O2 -shared -fPIC -o "$OUT/malloc_count.so" bench/alloc/malloc_count.c

step "restore the loan book"
"$BIN/credit" db restore --replace --into "sqlite:$OUT/book.db" "$DATA"/analise_risco_*.sql >&2

step "train our models (timed)"
least() { awk -v a="$1" -v b="$2" 'BEGIN {print (a == "null" || b + 0 < a + 0) ? b : a}'; }   # "null" = none yet
echo "[" > "$OUT/train.json"
first=1
for algo in logistic mlp gbdt; do
    # Best of three runs (the same seed, so the same model each time), like the peers' fits.
    secs=null; fit=null; status=ok
    for _ in 1 2 3; do
        t0=$(date +%s.%N)
        if "$BIN/credit" train --data "sqlite:$OUT/book.db" --spec "$SPEC" --algorithm "$algo" \
            --test-ids "$DATA/anchor-split/test_loan_ids.txt" --validation 0.2 --out "$OUT/$algo.credit" \
            --metrics "$OUT/train-$algo.metrics.json" > "$OUT/train-$algo.log" 2>&1; then
            t1=$(date +%s.%N)
            # The learner's fit alone (binning, trees, early stopping on validation): the figure
            # compared with XGBoost's DMatrix + train.
            f=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["leaderboard"][0]["fit_seconds"])' \
                "$OUT/train-$algo.metrics.json")
            secs=$(least "$secs" "$(awk "BEGIN {print $t1 - $t0}")"); fit=$(least "$fit" "$f")
        else
            secs=null; fit=null; status="failed: $(tail -1 "$OUT/train-$algo.log" | tr -d '"\\' | cut -c1-120)"
            rm -f "$OUT/$algo.credit"
            break
        fi
    done
    [[ $first -eq 1 ]] || echo "," >> "$OUT/train.json"; first=0
    echo "{\"algorithm\": \"$algo\", \"seconds\": $secs, \"fitSeconds\": $fit, \"status\": \"$status\"}" >> "$OUT/train.json"
done
echo "]" >> "$OUT/train.json"
SERVED="$OUT/gbdt.credit"; [[ -f "$SERVED" ]] || SERVED="$OUT/mlp.credit"

step "CSV end to end: credit score --model, sqlite: -> csv:, vs sqlite3 -csv of the same join"
bash bench/csv-e2e.sh "$BIN" "$OUT"

step "peers: XGBoost, LightGBM, CatBoost in process"
PEER_SIZE=(); [[ -f "$OUT/gbdt.credit" ]] && PEER_SIZE=(--model "$OUT/gbdt.credit")   # same trees and depth as ours
bench/.venv/bin/python bench/peers/peers.py "${PEER_SIZE[@]}" --db "$OUT/book.db" --query "$QUERY" --spec "$SPEC" \
    --test-ids "$DATA/anchor-split/test_loan_ids.txt" --out "$OUT" >&2

step "peer: FastAPI + uvicorn + XGBoost"
PEER_MODEL_DIR="$OUT" bench/.venv/bin/python -m uvicorn peers_server:app --app-dir bench/peers \
    --host 127.0.0.1 --port 17400 --log-level warning --no-access-log &
UVICORN=$!
trap 'kill $UVICORN 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -s -o /dev/null -X POST -H 'content-type: application/json' -d '{}' http://127.0.0.1:17400/score && break
    sleep 0.2
done

{
    echo "## Machine and load"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (+ local changes)')"
    echo "- CPU: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), nproc $(nproc)"
    echo "- memory: $(free -g | awk '/Mem:/ {print $2 " GiB"}')"
    echo "- $(swift --version 2>&1 | head -1)"
    echo "- load before the serving runs: \`$(uptime)\`"
    echo "- idle CPUs: cpuidle driver \`$(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo none)\`, guest halt polling \`$(cat /sys/module/haltpoll/parameters/guest_halt_poll_ns 2>/dev/null || echo n/a)\` ns (0: an idle vCPU halts at once, and waking it costs a trip through the host)"
    echo
    echo "Commands: \`bash bench/run.sh\` ran \`credit db restore\`, \`credit train --algorithm logistic|mlp|gbdt\`,"
    echo "\`bench/peers/peers.py\`, \`credit-bench serve\` (served model: \`$(basename "$SERVED")\`), \`credit-bench kernels\`, \`credit-bench report\`."
    echo
} > "$OUT/machine.md"

step "serving: creditd vs floor (+ FastAPI peer, + allocations)"
"$BIN/credit-bench" serve --creditd "$BIN/creditd" --model "$SERVED" --floor "$OUT/echo" \
    --data "sqlite:$OUT/book.db" --query-file "$QUERY" --malloc-counter "$OUT/malloc_count.so" \
    --http "tcp:127.0.0.1:17400/score" --http-face --warmup "$WARMUP" --seconds "$SECONDS_PER_RUN" \
    --out-json "$OUT/serve.json" --out-md "$OUT/serve.md"
if [[ $(nproc) -gt 1 ]]; then
    # The same one-applicant runs with the generator and every server on CPU 0: no message
    # crosses vCPUs, so none waits for the host to wake a halted one (bench/NOTES.md).
    step "serving, one CPU: one applicant, client and servers on CPU 0"
    taskset -a -p -c 0 "$UVICORN" >/dev/null
    taskset -c 0 "$BIN/credit-bench" serve --creditd "$BIN/creditd" --model "$SERVED" --floor "$OUT/echo" \
        --data "sqlite:$OUT/book.db" --query-file "$QUERY" --shapes 1 --tcp-port 17331 \
        --http "tcp:127.0.0.1:17400/score" --http-face --warmup "$WARMUP" --seconds "$SECONDS_PER_RUN" \
        --out-json "$OUT/serve-onecpu.json" --out-md "$OUT/serve-onecpu.md"
fi
kill $UVICORN 2>/dev/null || true
if [[ "$SERVED" != "$OUT/logistic.credit" && -f "$OUT/logistic.credit" ]]; then
    step "serving: the logistic model (cheap scoring: protocol + transport cost)"
    "$BIN/credit-bench" serve --creditd "$BIN/creditd" --model "$OUT/logistic.credit" --floor "$OUT/echo" \
        --data "sqlite:$OUT/book.db" --query-file "$QUERY" --shapes 1,1024 --tcp-port 17321 \
        --warmup "$WARMUP" --seconds "$SECONDS_PER_RUN" \
        --out-json "$OUT/serve-logistic.json" --out-md "$OUT/serve-logistic.md"
fi
echo "- load after the serving runs: \`$(uptime)\`" >> "$OUT/machine.md"
echo >> "$OUT/machine.md"

step "kernels: CreditCore vs OpenBLAS; logits by batch"
MODELS=()
for algo in logistic mlp gbdt; do [[ -f "$OUT/$algo.credit" ]] && MODELS+=(--model "$OUT/$algo.credit"); done
"$BIN/credit-bench" kernels "${MODELS[@]}" --out-json "$OUT/kernels.json" --out-md "$OUT/kernels.md"
# The default build already measures both kernel copies (run-time dispatch, docs/matrix-core.md);
# KERNELS_TUNED=1 adds the old whole-program -target-cpu haswell build for comparison.
if [[ "${KERNELS_TUNED:-0}" != 0 ]] && grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
    step "kernels again, tuned build (-target-cpu haswell -DCREDIT_FMA)"
    TUNED_FLAGS=(-Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DCREDIT_FMA)
    swift build -c release --build-path .build-tuned --product credit-bench "${TUNED_FLAGS[@]}" >&2
    TBIN="$(swift build -c release --build-path .build-tuned --show-bin-path "${TUNED_FLAGS[@]}")"
    "$TBIN/credit-bench" kernels "${MODELS[@]}" --out-json "$OUT/kernels-tuned.json" --out-md "$OUT/kernels-tuned.md"
fi

cp bench/NOTES.md "$OUT/notes.md" 2>/dev/null || true
step "report"
"$BIN/credit-bench" report --dir "$OUT" --out bench/RESULTS.md
echo "bench/RESULTS.md written in $(( $(date +%s) - t_start )) s" >&2
