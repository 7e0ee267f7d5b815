/* credit_client.h: a small blocking C client for creditd (see docs/clients.md).
 *
 * One connection, blocking sockets, protobuf-c messages generated from proto/credit.proto
 * (the Swift package's Sources/CCreditProto). Requests may be pipelined: credit_send()
 * several, then credit_receive() and match responses by request_id. Not thread-safe. */
#ifndef CREDIT_CLIENT_H
#define CREDIT_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "credit.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CREDIT_OK = 0,
    CREDIT_ERR_ADDRESS = 1,   /* address is not unix:PATH or tcp:HOST:PORT */
    CREDIT_ERR_CONNECT = 2,   /* socket/connect failed (credit_client_detail has errno text) */
    CREDIT_ERR_IO = 3,        /* send or recv failed */
    CREDIT_ERR_CLOSED = 4,    /* the daemon closed the connection */
    CREDIT_ERR_TIMEOUT = 5,   /* no response within the timeout */
    CREDIT_ERR_PROTOCOL = 6,  /* a frame that is not a valid Response, or an unexpected id */
    CREDIT_ERR_NOMEM = 7,
    CREDIT_ERR_STATUS = 8,    /* the daemon answered non-OK: credit_client_status/detail */
    CREDIT_ERR_ARGUMENT = 9   /* bad argument to this library */
} credit_error;

typedef struct credit_client credit_client;

/* A numeric input column (NaN = missing) and a categorical one ("" or NULL = missing). */
typedef struct { const char *field; const double *values; } credit_numeric_column;
typedef struct { const char *field; const char *const *values; } credit_categorical_column;

/* Human-readable text of an error code (static string). */
const char *credit_strerror(credit_error err);

/* Connects to "unix:PATH" or "tcp:HOST:PORT"; timeout_ms bounds every send/receive (0 = none).
 * Returns NULL on failure with *err set (err may be NULL). */
credit_client *credit_connect(const char *address, int timeout_ms, credit_error *err);
void credit_close(credit_client *c);

/* After CREDIT_ERR_STATUS: the daemon's status code (Credit__Code). */
int credit_client_status(const credit_client *c);
/* Detail of the last error: the daemon's message or the errno text ("" when none). */
const char *credit_client_detail(const credit_client *c);

/* Whether later credit_score_columns answers carry reason codes:
 * CREDIT__REASON_DETAIL__REASONS_FULL (the default) or CREDIT__REASON_DETAIL__REASONS_NONE
 * (probabilities and decisions only). */
void credit_client_set_reasons(credit_client *c, Credit__ReasonDetail reasons);

/* Pipelining: send a request (its request_id is the caller's), receive the next response
 * (any order; free it with credit_response_free). */
credit_error credit_send(credit_client *c, const Credit__Request *request);
credit_error credit_receive(credit_client *c, Credit__Response **response);
void credit_response_free(Credit__Response *response);

/* Scores n applicants (columns form) and waits for the answer. On CREDIT_OK, *response
 * holds the ScoreResponse ((*response)->score: probability[i], decision[i], errors...). */
credit_error credit_score_columns(credit_client *c, size_t n, const char *const *ids,
                                  const credit_numeric_column *numeric, size_t n_numeric,
                                  const credit_categorical_column *categorical, size_t n_categorical,
                                  uint64_t deadline_unix_micros, Credit__Response **response);

/* ModelInfo: (*response)->model_info lists the schema (fields, kinds, categories). */
credit_error credit_model_info(credit_client *c, Credit__Response **response);

#ifdef __cplusplus
}
#endif
#endif
