#!/usr/bin/env python3
"""Scores a CSV through creditd: python3 score_csv.py ADDRESS FILE.csv [ID_COLUMN] [BATCH]

Prints id,probability,decision,error per input row in input order; probabilities are printed
with repr(), which round-trips the exact double the daemon computed."""
import csv
import math
import sys

from credit_client import CreditClient, credit_pb2

MISSING = {"", "NA", "NULL", "null", "N/A"}


def main() -> int:
    address, path = sys.argv[1], sys.argv[2]
    id_column = sys.argv[3] if len(sys.argv) > 3 else "loan_id"
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    with CreditClient(address) as client:
        info = client.model_info()
        batches = []
        for start in range(0, len(rows), batch):
            chunk = rows[start:start + batch]
            numeric, categorical = {}, {}
            for fld in info.fields:
                if fld.name not in chunk[0]:
                    continue
                values = [r[fld.name].strip() for r in chunk]
                if fld.kind == credit_pb2.NUMERIC:
                    numeric[fld.name] = [math.nan if v in MISSING else float(v) for v in values]
                else:
                    categorical[fld.name] = ["" if v in MISSING else v for v in values]
            batches.append(dict(ids=[r.get(id_column, "") for r in chunk], numeric=numeric, categorical=categorical))
        results = client.score_many(batches)   # all batches in flight, answers matched by id
    print(f"{id_column},probability,decision,error")
    for res in results:
        for i, rid in enumerate(res.ids):
            err = res.errors.get(i)
            if err:
                print(f"{rid},,error,{err}")
            else:
                print(f"{rid},{res.probability[i]!r},{res.decision[i]},")
    return 0


if __name__ == "__main__":
    sys.exit(main())
