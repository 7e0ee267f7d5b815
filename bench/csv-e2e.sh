#!/usr/bin/env bash
# CSV end to end (issue 14): `credit score --model` on the loan book, sqlite: -> csv:, against
# `sqlite3 -csv` exporting the same join to a file. Best wall clock of three runs of each, one
# after the other on the same machine; writes OUT/csv-e2e.json for `credit-bench report`.
#   bash bench/csv-e2e.sh BIN OUT     # BIN holds credit; OUT holds book.db and MODEL.credit files
# bench/run.sh calls it after training; alone it needs only a restored book and a model.
set -euo pipefail
BIN=$1
OUT=$2
QUERY=${QUERY:-"$(cd "$(dirname "$0")/.." && pwd)/examples/alura-cash/join.sql"}

# best COMMAND...: the shortest wall clock of three runs, in seconds.
best() {
    local b="" t0 t1
    for _ in 1 2 3; do
        t0=$(date +%s.%N)
        "$@" > /dev/null
        t1=$(date +%s.%N)
        b=$(awk -v b="$b" -v d="$(awk "BEGIN {print $t1 - $t0}")" 'BEGIN {print (b == "" || d < b) ? d : b}')
    done
    echo "$b"
}

sqlite=$(best sh -c "sqlite3 -csv -header '$OUT/book.db' < '$QUERY' > '$OUT/e2e-sqlite3.csv'")
rows=$(( $(wc -l < "$OUT/e2e-sqlite3.csv") - 1 ))
json="{\"rows\": $rows, \"sqlite3Seconds\": $sqlite, \"models\": ["
for algo in logistic mlp gbdt; do
    [[ -f "$OUT/$algo.credit" ]] || continue
    s=$(best "$BIN/credit" score --model "$OUT/$algo.credit" --data "sqlite:$OUT/book.db" --out "csv:$OUT/e2e-$algo.csv" 2>/dev/null)
    written=$(( $(wc -l < "$OUT/e2e-$algo.csv") - 1 ))
    json+="{\"algorithm\": \"$algo\", \"seconds\": $s, \"rows\": $written},"
done
echo "${json%,}]}" > "$OUT/csv-e2e.json"
cat "$OUT/csv-e2e.json" >&2
