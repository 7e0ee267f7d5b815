#!/usr/bin/env bash
# Loads the shared MySQL dumps into a MySQL/MariaDB server with the `mariadb` client (as the
# Alura team did in MySQL Workbench), into database DB (default analise_risco):
#
#   bash scripts/load-alura-mysql.sh mysql://USER[:PASSWORD]@HOST:PORT [DB] [DUMP_DIR]
#
# Two adjustments, both about the server and not the data: the MySQL 8 collation
# utf8mb4_0900_ai_ci (unknown to MariaDB 10) and the tables' case-insensitive utf8mb3 default
# become utf8mb4_bin, so `ORDER BY e.loan_id` sorts bytes as SQLite does (the same row order,
# hence the same training-data fingerprint); and the three join keys get indexes (the dumps
# have none, and MariaDB's block nested-loop join of 34,489 x 34,489 rows takes minutes).
# The password comes from the URL or MYSQL_PWD.
set -euo pipefail
url="${1:?usage: $0 mysql://USER[:PASSWORD]@HOST:PORT [DB] [DUMP_DIR]}"
db="${2:-analise_risco}"
dumps="${3:-$(cd "$(dirname "$0")/.." && pwd)/../shared/data/alura-cash}"
rest="${url#*://}"; rest="${rest%%/*}"
cred="${rest%@*}"; hostport="${rest##*@}"
user="${cred%%:*}"
if [ "$cred" != "$user" ]; then export MYSQL_PWD="${cred#*:}"; fi
host="${hostport%:*}"; port="${hostport##*:}"
client=(mariadb --no-defaults -h "$host" -P "$port" -u "$user")
"${client[@]}" -e "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
for f in analise_risco_dados_mutuarios analise_risco_emprestimos analise_risco_historicos_banco analise_risco_ids; do
    sed -e 's/utf8mb4_0900_ai_ci/utf8mb4_bin/g' -e 's/CHARSET=utf8mb3;/CHARSET=utf8mb4 COLLATE=utf8mb4_bin;/' \
        -e "s/^use analise_risco;/use \`$db\`;/" "$dumps/$f.sql" | "${client[@]}" "$db"
done
"${client[@]}" "$db" -e "CREATE INDEX person ON dados_mutuarios (person_id); CREATE INDEX loan ON emprestimos (loan_id);
    CREATE INDEX cb ON historicos_banco (cb_id); SELECT COUNT(*) AS ids_rows FROM ids"
