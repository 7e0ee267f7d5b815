"""FastAPI + uvicorn serving the XGBoost model peers.py trained on the same loan book:
POST /score with one applicant as JSON -> {"probability": p}. Started by bench/run.sh:
    PEER_MODEL_DIR=bench/out uvicorn peers_server:app --app-dir bench/peers --port 17400
"""
import json, os

import pandas as pd
import xgboost as xgb
from fastapi import FastAPI, Request

d = os.environ.get("PEER_MODEL_DIR", "out")
booster = xgb.Booster()
booster.load_model(f"{d}/xgb.json")
schema = json.load(open(f"{d}/xgb_schema.json"))
features, categories = schema["features"], schema["categories"]
app = FastAPI()


@app.post("/score")
async def score(request: Request):
    body = await request.json()
    row = {}
    for f in features:
        v = body.get(f)
        if f in categories:
            row[f] = pd.Categorical([v.strip() if isinstance(v, str) else None], categories=categories[f])
        else:
            row[f] = [float(v) if v is not None else float("nan")]
    p = float(booster.inplace_predict(pd.DataFrame(row))[0])
    return {"probability": p}
