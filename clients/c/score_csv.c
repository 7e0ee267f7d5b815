/* score_csv: scores a CSV file through creditd with the C client.
 *   score_csv ADDRESS FILE.csv [ID_COLUMN]    (default id column: loan_id)
 * Prints "id,probability,decision,error" per input row, in input order; probabilities are
 * printed with %.17g, so they read back as the exact doubles the daemon computed.
 * The CSV reader is deliberately simple: comma-separated, no quoted fields. */
#include "credit_client.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 1000

static char **split(char *line, size_t *count) {
    size_t cap = 16, n = 0;
    char **out = malloc(cap * sizeof *out);
    char *p = line;
    line[strcspn(line, "\r\n")] = 0;
    for (;;) {
        if (n == cap) out = realloc(out, (cap *= 2) * sizeof *out);
        out[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma) break;
        *comma = 0;
        p = comma + 1;
    }
    *count = n;
    return out;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s unix:PATH|tcp:HOST:PORT FILE.csv [ID_COLUMN]\n", argv[0]); return 2; }
    const char *id_name = argc > 3 ? argv[3] : "loan_id";
    credit_error err;
    credit_client *c = credit_connect(argv[1], 30000, &err);
    if (!c) { fprintf(stderr, "connect %s: %s\n", argv[1], credit_strerror(err)); return 1; }
    Credit__Response *info = NULL;
    if ((err = credit_model_info(c, &info)) != CREDIT_OK) {
        fprintf(stderr, "model info: %s: %s\n", credit_strerror(err), credit_client_detail(c));
        return 1;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) { perror(argv[2]); return 1; }
    char *line = NULL;
    size_t cap = 0, ncols = 0;
    if (getline(&line, &cap, f) < 0) { fprintf(stderr, "%s: empty file\n", argv[2]); return 1; }
    char **header = split(strdup(line), &ncols);

    /* Rows, as strings. */
    size_t nrows = 0, rcap = 1024;
    char ***rows = malloc(rcap * sizeof *rows);
    while (getline(&line, &cap, f) > 0) {
        if (line[0] == '\n' || line[0] == '\r') continue;
        size_t k;
        char **cells = split(strdup(line), &k);
        if (k != ncols) { fprintf(stderr, "row %zu: %zu fields, header has %zu\n", nrows + 1, k, ncols); return 1; }
        if (nrows == rcap) rows = realloc(rows, (rcap *= 2) * sizeof *rows);
        rows[nrows++] = cells;
    }
    fclose(f);

    /* Map schema fields to CSV columns. */
    Credit__ModelInfoResponse *m = info->model_info;
    int id_col = -1;
    for (size_t j = 0; j < ncols; j++) if (strcmp(header[j], id_name) == 0) id_col = (int)j;
    size_t nnum = 0, ncat = 0;
    int *num_col = calloc(m->n_fields + 1, sizeof *num_col), *cat_col = calloc(m->n_fields + 1, sizeof *cat_col);
    credit_numeric_column *num = calloc(m->n_fields + 1, sizeof *num);
    credit_categorical_column *cat = calloc(m->n_fields + 1, sizeof *cat);
    for (size_t i = 0; i < m->n_fields; i++) {
        for (size_t j = 0; j < ncols; j++) {
            if (strcmp(header[j], m->fields[i]->name) != 0) continue;
            if (m->fields[i]->kind == CREDIT__FIELD_KIND__CATEGORICAL) { cat[ncat].field = m->fields[i]->name; cat_col[ncat++] = (int)j; }
            else { num[nnum].field = m->fields[i]->name; num_col[nnum++] = (int)j; }
        }
    }
    double *values = malloc((nnum * BATCH + 1) * sizeof *values);
    const char **texts = malloc((ncat * BATCH + 1) * sizeof *texts);
    const char **ids = malloc((BATCH + 1) * sizeof *ids);
    printf("%s,probability,decision,error\n", id_name);
    for (size_t start = 0; start < nrows; start += BATCH) {
        size_t n = nrows - start < BATCH ? nrows - start : BATCH;
        for (size_t r = 0; r < n; r++) {
            char **cells = rows[start + r];
            ids[r] = id_col >= 0 ? cells[id_col] : "";
            for (size_t k = 0; k < nnum; k++) {
                const char *t = cells[num_col[k]];
                char *end;
                double x = strtod(t, &end);
                if (*t == 0 || strcmp(t, "NA") == 0 || strcmp(t, "NULL") == 0) x = NAN;
                else if (*end != 0) {
                    fprintf(stderr, "row %zu, field %s, value '%s': not a number\n", start + r + 1, num[k].field, t);
                    return 1;
                }
                values[k * BATCH + r] = x;
            }
            for (size_t k = 0; k < ncat; k++) texts[k * BATCH + r] = cells[cat_col[k]];
        }
        for (size_t k = 0; k < nnum; k++) num[k].values = values + k * BATCH;
        for (size_t k = 0; k < ncat; k++) cat[k].values = texts + k * BATCH;
        Credit__Response *resp = NULL;
        err = credit_score_columns(c, n, ids, num, nnum, cat, ncat, 0, &resp);
        if (err != CREDIT_OK) {
            fprintf(stderr, "score rows %zu..%zu: %s (status %d): %s\n", start + 1, start + n,
                    credit_strerror(err), credit_client_status(c), credit_client_detail(c));
            return 1;
        }
        Credit__ScoreResponse *s = resp->score;
        for (size_t r = 0; r < n; r++) {
            const Credit__RowError *e = NULL;
            for (size_t k = 0; k < s->n_errors; k++) if (s->errors[k]->index == r) e = s->errors[k];
            if (e) printf("%s,,error,%s = '%s': %s\n", ids[r], e->field, e->value, e->reason);
            else printf("%s,%.17g,%s,\n", ids[r], s->probability[r], s->decision[r] == CREDIT__DECISION__REFUSE ? "refuse" : "approve");
        }
        credit_response_free(resp);
    }
    credit_response_free(info);
    credit_close(c);
    return 0;
}
