"""Small books (issue 15): `credit train --algorithm auto` against scikit-learn's
LogisticRegression and CatBoost on 1,000-row samples of the shared loan book.

For each seed: a stratified 1,000-row sample of the labelled loans (numpy seed), a stratified
70/30 split of it (the same seed); `credit train --algorithm auto` on the 700 training rows (its
defaults: 10-fold cross-validation under 1,000 rows, refit on all 700) with the 300 test ids
given by --test-ids; the peers on exactly the same rows:
  - LogisticRegression (lbfgs, C=1): median-imputed, standardized numbers; one-hot categories
    (most frequent imputed, unknown ignored);
  - CatBoost: 500 iterations, native categorical features, default depth and learning rate.
Prints one markdown row per seed and the means (test ROC AUC), then the paired differences
(auto minus each peer, seed by seed): their mean, standard error and wins, which say whether a
gap in the means is larger than the sampling noise of 300-row test sets. The acceptance uses
seeds 0-4; other seeds (--seeds 5 6 ... 14) check that a setting is not fitted to those five.

    python bench/smallbooks/smallbooks.py --credit .build/release/credit --db /tmp/alura.db \
        --spec examples/alura-cash/spec.json --out /tmp/smallbooks [--seeds 0 1 2 3 4] [--rows 1000]
"""
import argparse, json, os, sqlite3, subprocess, sys

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def load(db, spec_path):
    spec = json.load(open(spec_path))
    query = open(os.path.join(os.path.dirname(spec_path), spec["query_file"])).read()
    raw = pd.read_sql_query(query, sqlite3.connect(db), dtype=str)
    target = spec["target"]["column"]
    raw = raw[raw[target].notna() & (raw[target].str.strip() != "")].reset_index(drop=True)
    y = (pd.to_numeric(raw[target], errors="coerce") == float(spec["target"]["positive"])).astype(int).to_numpy()
    return spec, raw, y


def features(spec, df):
    """The peers' view of the raw rows: numbers (spec range → missing), categories as text."""
    out = pd.DataFrame(index=df.index)
    num, cat = [], []
    for f in spec["features"]:
        name = f["name"]
        if f["kind"] == "numeric":
            v = pd.to_numeric(df[name], errors="coerce")
            r = f.get("range")
            if r:
                v = v.where((v >= r["min"]) & (v <= r["max"]))
            out[name] = v.astype(float)
            num.append(name)
        else:
            v = df[name].astype("string").str.strip()
            out[name] = v.where(v.notna() & (v != ""), "missing").astype(str)
            cat.append(name)
    return out, num, cat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--credit", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--credit-args", default="", help="extra arguments for credit train")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    spec, raw, y = load(a.db, a.spec)
    X, num, cat = features(spec, raw)
    print("| seed | credit auto (chosen) | scikit-learn LogisticRegression | CatBoost 500 |")
    print("|---:|---|---:|---:|")
    res = []
    for seed in a.seeds:
        sample, _ = train_test_split(np.arange(len(y)), train_size=a.rows, stratify=y, random_state=seed)
        sample = np.sort(sample)
        tr, te = train_test_split(sample, test_size=0.3, stratify=y[sample], random_state=seed)
        d = os.path.join(a.out, f"seed{seed}")
        os.makedirs(d, exist_ok=True)
        raw.iloc[sample].to_csv(os.path.join(d, "book.csv"), index=False)
        with open(os.path.join(d, "test_ids.txt"), "w") as f:
            f.write("\n".join(raw.iloc[te][spec["id"]]) + "\n")
        cmd = [a.credit, "train", "--data", "csv:" + os.path.join(d, "book.csv"), "--spec", a.spec, "--algorithm", "auto",
               "--test-ids", os.path.join(d, "test_ids.txt"), "--seed", str(seed),
               "--out", os.path.join(d, "auto.credit"), "--metrics", os.path.join(d, "auto.json")] + a.credit_args.split()
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"credit train failed (seed {seed}):\n{run.stderr}")
        m = json.load(open(os.path.join(d, "auto.json")))
        ours = m["test"]["roc_auc"]

        lr = Pipeline([("prep", ColumnTransformer([
                ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
                ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), cat)])),
            ("lr", LogisticRegression(max_iter=2000))])
        lr.fit(X.iloc[tr], y[tr])
        auc_lr = roc_auc_score(y[te], lr.predict_proba(X.iloc[te])[:, 1])

        cb = CatBoostClassifier(iterations=500, random_seed=seed, verbose=0, thread_count=2, cat_features=cat,
                                allow_writing_files=False)
        cb.fit(X.iloc[tr], y[tr])
        auc_cb = roc_auc_score(y[te], cb.predict_proba(X.iloc[te])[:, 1])
        res.append((ours, auc_lr, auc_cb))
        print(f"| {seed} | {ours:.4f} ({m['algorithm']}) | {auc_lr:.4f} | {auc_cb:.4f} |", flush=True)
    mean = np.mean(res, axis=0)
    print(f"| mean | {mean[0]:.4f} | {mean[1]:.4f} | {mean[2]:.4f} |")
    r = np.array(res)
    for k, peer in [(1, "LogisticRegression"), (2, "CatBoost 500")]:
        d = r[:, 0] - r[:, k]
        se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
        print(f"auto - {peer}: mean {d.mean():+.4f} (standard error {se:.4f}), auto ahead on {int((d > 0).sum())} of {len(d)} seeds")


if __name__ == "__main__":
    main()
