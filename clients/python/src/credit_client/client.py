"""A blocking creditd client: framing (4-byte big-endian length + message), request ids,
pipelining, typed errors carrying the daemon's status code and message."""
from __future__ import annotations

import math
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence

import google.protobuf

from . import credit_pb2 as pb

#: The protoc release credit_pb2.py was generated with (scripts/gen-python-proto.sh).
PROTOC_VERSION = "3.21.12"
#: The oldest protobuf runtime that loads code from that protoc (Python gencode 4.21.12).
MIN_RUNTIME = (4, 21, 12)


def check_runtime() -> str:
    """Returns the installed protobuf runtime version; raises if it is older than the
    generated code needs."""
    v = google.protobuf.__version__
    parts = tuple(int(p) for p in v.split(".")[:3] if p.isdigit())
    if parts < MIN_RUNTIME:
        raise RuntimeError(f"protobuf runtime {v} is older than {'.'.join(map(str, MIN_RUNTIME))}, "
                           f"which the generated code (protoc {PROTOC_VERSION}) needs")
    return v


class CreditError(Exception):
    """The daemon answered with a non-OK status."""

    def __init__(self, code: int, message: str):
        self.code = code
        self.code_name = pb.Code.Name(code) if code in pb.Code.values() else str(code)
        self.message = message
        super().__init__(f"{self.code_name}: {message}" if message else self.code_name)


class ConnectionLost(Exception):
    """The connection broke or timed out (the request may or may not have been processed)."""


@dataclass
class RowError:
    index: int
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field} = '{self.value}': {self.reason}"


@dataclass
class ScoreResult:
    """One entry per applicant, request order. probability is NaN for a row error."""
    model_id: str
    ids: List[str]
    probability: List[float]
    decision: List[str]            # "approve" | "refuse" | "error"
    reasons: List[List[str]]       # reason wordings, strongest first
    errors: Dict[int, RowError] = field(default_factory=dict)


def _parse_address(address: str):
    if address.startswith("unix:") and len(address) > 5:
        return socket.AF_UNIX, address[5:]
    if address.startswith("tcp:"):
        rest = address[4:]
        host, _, port = rest.rpartition(":")
        return socket.AF_INET, (host or "127.0.0.1", int(port))
    raise ValueError(f"bad address '{address}': expected unix:PATH or tcp:HOST:PORT")


class CreditClient:
    """One connection to creditd. Not thread-safe.

    >>> with CreditClient("unix:/run/creditd.sock") as c:
    ...     r = c.score_columns(ids=["a"], numeric={"person_income": [52000.0]})
    """

    def __init__(self, address: str, timeout: float = 30.0):
        family, target = _parse_address(address)
        self.address = address
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(target)
        except OSError as e:
            self._sock.close()
            raise ConnectionLost(f"cannot connect to {address}: {e}") from e
        if family == socket.AF_INET:
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()
        self._next_id = 1
        self._early: Dict[int, pb.Response] = {}

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> "CreditClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- raw requests ---------------------------------------------------------------

    def send(self, request: pb.Request) -> int:
        """Sends a request; assigns its request_id when 0. Returns the id."""
        if request.request_id == 0:
            request.request_id = self._next_id
            self._next_id += 1
        data = request.SerializeToString()
        try:
            self._sock.sendall(struct.pack(">I", len(data)) + data)
        except OSError as e:
            raise ConnectionLost(f"send to {self.address}: {e}") from e
        return request.request_id

    def _read_frame(self) -> bytes:
        while True:
            if len(self._buf) >= 4:
                n = struct.unpack(">I", self._buf[:4])[0]
                if len(self._buf) >= 4 + n:
                    frame = bytes(self._buf[4:4 + n])
                    del self._buf[:4 + n]
                    return frame
            try:
                chunk = self._sock.recv(1 << 16)
            except OSError as e:
                raise ConnectionLost(f"recv from {self.address}: {e}") from e
            if not chunk:
                raise ConnectionLost(f"{self.address} closed the connection")
            self._buf += chunk

    def receive(self, request_id: Optional[int] = None) -> pb.Response:
        """The next response (or the one for request_id; others are kept for later).
        Raises CreditError for a non-OK status."""
        while True:
            if request_id is not None and request_id in self._early:
                r = self._early.pop(request_id)
            else:
                r = pb.Response()
                r.ParseFromString(self._read_frame())
                if request_id is not None and r.request_id != request_id and r.request_id != 0:
                    self._early[r.request_id] = r
                    continue
            if r.status.code != pb.OK:
                raise CreditError(r.status.code, r.status.message)
            return r

    def call(self, request: pb.Request) -> pb.Response:
        return self.receive(self.send(request))

    # -- methods --------------------------------------------------------------------

    @staticmethod
    def _score_request(ids: Sequence[str], numeric: Dict[str, Sequence[float]],
                       categorical: Dict[str, Sequence[str]], deadline: Optional[float],
                       reasons: bool = True) -> pb.Request:
        req = pb.Request()
        if not reasons:
            req.score.reasons = pb.REASONS_NONE
        if deadline is not None:
            req.deadline_unix_micros = int(deadline * 1e6)
        cols = req.score.columns
        cols.ids.extend(ids)
        for name, values in numeric.items():
            c = cols.numeric.add()
            c.field = name
            c.values.extend(float("nan") if v is None else float(v) for v in values)
        for name, values in (categorical or {}).items():
            c = cols.categorical.add()
            c.field = name
            c.values.extend("" if v is None else str(v) for v in values)
        return req

    def send_score(self, ids: Sequence[str], numeric: Dict[str, Sequence[float]],
                   categorical: Optional[Dict[str, Sequence[str]]] = None,
                   timeout: Optional[float] = None, reasons: bool = True) -> int:
        """Sends a columnar Score request without waiting; returns its request id.
        timeout (seconds) becomes the request's deadline; reasons=False asks for
        probabilities and decisions only (no reason codes; cheaper for big batches)."""
        deadline = time.time() + timeout if timeout else None
        return self.send(self._score_request(ids, numeric, categorical or {}, deadline, reasons))

    def receive_score(self, request_id: int) -> ScoreResult:
        return _score_result(self.receive(request_id).score)

    def score_columns(self, ids: Sequence[str], numeric: Dict[str, Sequence[float]],
                      categorical: Optional[Dict[str, Sequence[str]]] = None,
                      timeout: Optional[float] = None, reasons: bool = True) -> ScoreResult:
        return self.receive_score(self.send_score(ids, numeric, categorical, timeout, reasons))

    def score_many(self, batches: Iterable[dict]) -> List[ScoreResult]:
        """Pipelining: sends every batch (dicts of send_score's arguments), then reads all
        answers, matched by request id; results in batch order."""
        ids = [self.send_score(**b) for b in batches]
        by_id: Dict[int, ScoreResult] = {}
        for _ in ids:
            r = self.receive()
            by_id[r.request_id] = _score_result(r.score)
        return [by_id[i] for i in ids]

    def model_info(self) -> pb.ModelInfoResponse:
        req = pb.Request()
        req.model_info.SetInParent()
        return self.call(req).model_info

    def health(self) -> pb.HealthResponse:
        req = pb.Request()
        req.health.SetInParent()
        return self.call(req).health

    def stats(self) -> pb.StatsResponse:
        req = pb.Request()
        req.stats.SetInParent()
        return self.call(req).stats


def _score_result(s: pb.ScoreResponse) -> ScoreResult:
    errors = {e.index: RowError(e.index, e.field, e.value, e.reason) for e in s.errors}
    reasons: List[List[str]] = []
    k = 0
    for n in s.reason_count:
        reasons.append(list(s.reason_text[k:k + n]))
        k += n
    decision = []
    for i, d in enumerate(s.decision):
        decision.append("error" if i in errors else ("refuse" if d == pb.REFUSE else "approve"))
    prob = [float("nan") if i in errors else p for i, p in enumerate(s.probability)]
    return ScoreResult(s.model_id, list(s.ids), prob, decision, reasons, errors)
