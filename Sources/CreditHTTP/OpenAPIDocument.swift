/// The OpenAPI 3.1 document served at `GET /openapi.json`: a copy of docs/openapi.json
/// (HTTPFaceTests checks the two are equal and that its paths are the served ones).
let openAPIDocument = #"""
{
  "openapi": "3.1.0",
  "info": {"title": "creditd HTTP/JSON face", "version": "1", "description": "Scores loan applicants with the loaded .credit model. docs/http.md has curl examples."},
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "Required when creditd was started with --http-token-file (always beyond loopback)."}},
    "schemas": {
      "Value": {"oneOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]},
      "Applicant": {"type": "object", "description": "Field name → value; 'id' (or the model's id field) names the applicant.", "additionalProperties": {"$ref": "#/components/schemas/Value"}},
      "Columns": {"type": "object", "required": ["columns"], "properties": {
        "columns": {"type": "object", "additionalProperties": {"type": "array", "items": {"$ref": "#/components/schemas/Value"}}},
        "ids": {"type": "array", "items": {"type": ["string", "number", "null"]}}}},
      "Reason": {"type": "object", "properties": {"feature": {"type": "string"}, "text": {"type": "string"}, "contribution": {"type": "number"}}},
      "RowError": {"type": "object", "properties": {"field": {"type": "string"}, "value": {"type": "string"}, "reason": {"type": "string"}}},
      "Result": {"type": "object", "properties": {
        "id": {"type": ["string", "null"]},
        "probability_default": {"type": "number"}, "probability_good": {"type": "number"},
        "decision": {"enum": ["approve", "refuse"]}, "threshold": {"type": "number"},
        "reasons": {"type": "array", "items": {"$ref": "#/components/schemas/Reason"}},
        "error": {"$ref": "#/components/schemas/RowError"}}},
      "Batch": {"type": "object", "properties": {"model_id": {"type": "string"}, "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}}}},
      "Model": {"type": "object", "properties": {
        "model_id": {"type": "string"}, "algorithm": {"type": "string"}, "threshold": {"type": "number"}, "threshold_mode": {"type": "string"},
        "id_field": {"type": "string"}, "signer_key_id": {"type": "string", "description": "key id that signed the artifact; empty when unsigned (docs/deploy.md, Signing keys)"},
        "fields": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "kind": {"enum": ["numeric", "categorical"]}, "categories": {"type": "array", "items": {"type": "string"}}}}},
        "metrics": {"type": "object", "additionalProperties": {"type": "number"}}}},
      "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {"status": {"type": "integer"}, "message": {"type": "string"}}}}}
    },
    "parameters": {"reasons": {"name": "reasons", "in": "query", "schema": {"enum": ["none"]}, "description": "none: probabilities and decisions only"}},
    "responses": {"Problem": {"description": "bad request (400 JSON, 413 too large, 415 content type, 422 invalid applicants, 503 no model)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}
  },
  "security": [{}, {"bearer": []}],
  "paths": {
    "/v1/score": {
      "post": {"summary": "Score one applicant, an array of them, or columns", "parameters": [{"$ref": "#/components/parameters/reasons"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/Applicant"}, {"type": "array", "items": {"$ref": "#/components/schemas/Applicant"}}, {"$ref": "#/components/schemas/Columns"}]}}}},
        "responses": {"200": {"description": "one result per applicant (an object for one applicant, model_id + results otherwise)", "content": {"application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/Batch"}, {"$ref": "#/components/schemas/Result"}]}}}}, "default": {"$ref": "#/components/responses/Problem"}}},
      "get": {"summary": "Score one applicant given as query parameters (Power BI's Web.Contents)", "parameters": [{"$ref": "#/components/parameters/reasons"}],
        "responses": {"200": {"description": "model_id and the applicant's result", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Result"}}}}, "default": {"$ref": "#/components/responses/Problem"}}}
    },
    "/v1/score/csv": {
      "post": {"summary": "Score a CSV file (header row; the model's id column and fields): the scored CSV, streamed back as it is scored, byte for byte what credit score --model writes. Body up to 64 MiB (413 beyond). X-Credit-Rows gives the input rows before the first line.",
        "requestBody": {"required": true, "content": {"text/csv": {"schema": {"type": "string"}}}},
        "responses": {"200": {"description": "id, probability, decision, reason_1..4 and reason_k_contribution, error, model_id: one line per input row, in input order", "content": {"text/csv": {"schema": {"type": "string"}}}}, "default": {"$ref": "#/components/responses/Problem"}}}
    },
    "/v1/model": {"get": {"summary": "Algorithm, input fields (kinds, categories), threshold and how it was chosen, metrics", "responses": {"200": {"description": "the model", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Model"}}}}, "503": {"$ref": "#/components/responses/Problem"}}}},
    "/v1/model/report": {"get": {"summary": "The model report stored at training: ROC, precision-recall, calibration, score distribution by class, precision/recall/cost by threshold, confusion matrix at the threshold, feature importance, training distributions, data fingerprint and metrics", "responses": {"200": {"description": "model_id, algorithm, threshold, training, metrics and report", "content": {"application/json": {"schema": {"type": "object"}}}}, "404": {"description": "the model carries no report (trained before reports existed)"}, "503": {"$ref": "#/components/responses/Problem"}}}},
    "/v1/portfolio": {"get": {"summary": "What every face scored since the serving model was loaded: counts, approval rate, score histogram, reasons by frequency, per-feature drift (PSI against the training distribution, bands stable < 0.1 <= moderate <= 0.25 < significant)", "responses": {"200": {"description": "the portfolio", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/healthz": {"get": {"summary": "Live", "responses": {"200": {"description": "the process answers"}}}},
    "/readyz": {"get": {"summary": "Ready: a model is loaded", "responses": {"200": {"description": "ready"}, "503": {"description": "no model loaded"}}}},
    "/metrics": {"get": {"summary": "Prometheus text: requests by face/method/code, latency, rows, decisions, model info, loads, connections", "responses": {"200": {"description": "text/plain; version=0.0.4"}}}},
    "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
  }
}

"""#
