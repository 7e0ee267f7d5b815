"""Python client for creditd (see docs/clients.md).

Synchronous, one socket per client, with pipelining: ``send_score`` many batches, then
``receive`` the answers, matched by request id (``score_many`` does both).
"""
from .client import (CreditClient, CreditError, ConnectionLost, ScoreResult, RowError,
                     PROTOC_VERSION, check_runtime)
from . import credit_pb2

__all__ = ["CreditClient", "CreditError", "ConnectionLost", "ScoreResult", "RowError",
           "PROTOC_VERSION", "check_runtime", "credit_pb2"]
