/* credit_client.c: see credit_client.h. */
#include "credit_client.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FRAME (256u * 1024u * 1024u)

struct credit_client {
    int fd;
    uint64_t next_id;
    int status;
    Credit__ReasonDetail reasons;   /* for credit_score_columns; REASONS_FULL by default */
    char detail[512];
};

const char *credit_strerror(credit_error err) {
    switch (err) {
    case CREDIT_OK: return "ok";
    case CREDIT_ERR_ADDRESS: return "bad address (expected unix:PATH or tcp:HOST:PORT)";
    case CREDIT_ERR_CONNECT: return "cannot connect to the daemon";
    case CREDIT_ERR_IO: return "socket send/receive failed";
    case CREDIT_ERR_CLOSED: return "the daemon closed the connection";
    case CREDIT_ERR_TIMEOUT: return "timed out waiting for the daemon";
    case CREDIT_ERR_PROTOCOL: return "malformed or unexpected response";
    case CREDIT_ERR_NOMEM: return "out of memory";
    case CREDIT_ERR_STATUS: return "the daemon answered with an error status";
    case CREDIT_ERR_ARGUMENT: return "invalid argument";
    }
    return "unknown error";
}

static void set_detail(credit_client *c, const char *text) {
    if (c) snprintf(c->detail, sizeof c->detail, "%s", text ? text : "");
}

static int connect_unix(const char *path) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { int e = errno; close(fd); errno = e; return -1; }
    return fd;
}

static int connect_tcp(const char *host, const char *port) {
    struct addrinfo hints, *list = NULL, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &list) != 0) { errno = EHOSTUNREACH; return -1; }
    int fd = -1, e = ECONNREFUSED;
    for (ai = list; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) { e = errno; continue; }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            break;
        }
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(list);
    if (fd < 0) errno = e;
    return fd;
}

credit_client *credit_connect(const char *address, int timeout_ms, credit_error *err) {
    credit_error dummy;
    if (!err) err = &dummy;
    if (!address) { *err = CREDIT_ERR_ADDRESS; return NULL; }
    int fd;
    if (strncmp(address, "unix:", 5) == 0 && address[5]) {
        fd = connect_unix(address + 5);
    } else if (strncmp(address, "tcp:", 4) == 0) {
        char host[256];
        const char *rest = address + 4, *colon = strrchr(rest, ':');
        const char *port = colon ? colon + 1 : rest;
        size_t hl = colon ? (size_t)(colon - rest) : 0;
        if (hl >= sizeof host || !*port) { *err = CREDIT_ERR_ADDRESS; return NULL; }
        if (hl == 0) strcpy(host, "127.0.0.1"); else { memcpy(host, rest, hl); host[hl] = 0; }
        fd = connect_tcp(host, port);
    } else {
        *err = CREDIT_ERR_ADDRESS;
        return NULL;
    }
    if (fd < 0) { *err = CREDIT_ERR_CONNECT; return NULL; }
    if (timeout_ms > 0) {
        struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    credit_client *c = calloc(1, sizeof *c);
    if (!c) { close(fd); *err = CREDIT_ERR_NOMEM; return NULL; }
    c->fd = fd;
    c->next_id = 1;
    *err = CREDIT_OK;
    return c;
}

void credit_close(credit_client *c) {
    if (!c) return;
    close(c->fd);
    free(c);
}

int credit_client_status(const credit_client *c) { return c ? c->status : 0; }
const char *credit_client_detail(const credit_client *c) { return c ? c->detail : ""; }

void credit_client_set_reasons(credit_client *c, Credit__ReasonDetail reasons) {
    c->reasons = reasons;
}

static credit_error io_error(credit_client *c) {
    set_detail(c, strerror(errno));
    if (errno == EAGAIN || errno == EWOULDBLOCK) return CREDIT_ERR_TIMEOUT;
    if (errno == EPIPE || errno == ECONNRESET) return CREDIT_ERR_CLOSED;
    return CREDIT_ERR_IO;
}

static credit_error write_all(credit_client *c, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
        if (k > 0) { p += k; n -= (size_t)k; continue; }
        if (k < 0 && errno == EINTR) continue;
        return io_error(c);
    }
    return CREDIT_OK;
}

static credit_error read_all(credit_client *c, uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t k = recv(c->fd, p, n, 0);
        if (k > 0) { p += k; n -= (size_t)k; continue; }
        if (k == 0) { set_detail(c, "end of stream"); return CREDIT_ERR_CLOSED; }
        if (errno == EINTR) continue;
        return io_error(c);
    }
    return CREDIT_OK;
}

credit_error credit_send(credit_client *c, const Credit__Request *request) {
    if (!c || !request) return CREDIT_ERR_ARGUMENT;
    size_t size = credit__request__get_packed_size(request);
    if (size > MAX_FRAME) return CREDIT_ERR_ARGUMENT;
    uint8_t *buf = malloc(size + 4);
    if (!buf) return CREDIT_ERR_NOMEM;
    buf[0] = (uint8_t)(size >> 24); buf[1] = (uint8_t)(size >> 16);
    buf[2] = (uint8_t)(size >> 8); buf[3] = (uint8_t)size;
    credit__request__pack(request, buf + 4);
    credit_error e = write_all(c, buf, size + 4);
    free(buf);
    return e;
}

credit_error credit_receive(credit_client *c, Credit__Response **response) {
    if (!c || !response) return CREDIT_ERR_ARGUMENT;
    *response = NULL;
    uint8_t header[4];
    credit_error e = read_all(c, header, 4);
    if (e != CREDIT_OK) return e;
    uint32_t n = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 | header[3];
    if (n > MAX_FRAME) { set_detail(c, "frame too large"); return CREDIT_ERR_PROTOCOL; }
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return CREDIT_ERR_NOMEM;
    e = read_all(c, buf, n);
    if (e == CREDIT_OK) {
        *response = credit__response__unpack(NULL, n, buf);
        if (!*response) { set_detail(c, "not a valid credit.Response"); e = CREDIT_ERR_PROTOCOL; }
    }
    free(buf);
    return e;
}

void credit_response_free(Credit__Response *response) {
    if (response) credit__response__free_unpacked(response, NULL);
}

/* Sends one request and waits for its answer; non-OK status → CREDIT_ERR_STATUS. */
static credit_error call(credit_client *c, Credit__Request *req, Credit__Response **response) {
    req->request_id = c->next_id++;
    c->status = 0;
    set_detail(c, "");
    credit_error e = credit_send(c, req);
    if (e != CREDIT_OK) return e;
    e = credit_receive(c, response);
    if (e != CREDIT_OK) return e;
    Credit__Response *r = *response;
    if (r->status && r->status->code != CREDIT__CODE__OK) {
        c->status = (int)r->status->code;
        set_detail(c, r->status->message);
        credit_response_free(r);
        *response = NULL;
        return CREDIT_ERR_STATUS;
    }
    if (r->request_id != req->request_id) {
        set_detail(c, "response for another request id");
        credit_response_free(r);
        *response = NULL;
        return CREDIT_ERR_PROTOCOL;
    }
    return CREDIT_OK;
}

credit_error credit_score_columns(credit_client *c, size_t n, const char *const *ids,
                                  const credit_numeric_column *numeric, size_t n_numeric,
                                  const credit_categorical_column *categorical, size_t n_categorical,
                                  uint64_t deadline_unix_micros, Credit__Response **response) {
    if (!c || !response || (n_numeric && !numeric) || (n_categorical && !categorical)) return CREDIT_ERR_ARGUMENT;
    static char empty[] = "";
    credit_error e = CREDIT_ERR_NOMEM;
    Credit__NumericColumn *num = calloc(n_numeric ? n_numeric : 1, sizeof *num);
    Credit__NumericColumn **nump = calloc(n_numeric ? n_numeric : 1, sizeof *nump);
    Credit__CategoricalColumn *cat = calloc(n_categorical ? n_categorical : 1, sizeof *cat);
    Credit__CategoricalColumn **catp = calloc(n_categorical ? n_categorical : 1, sizeof *catp);
    char **catvals = calloc(n_categorical * n + 1, sizeof *catvals);
    if (!num || !nump || !cat || !catp || !catvals) goto done;
    for (size_t i = 0; i < n_numeric; i++) {
        credit__numeric_column__init(&num[i]);
        num[i].field = (char *)numeric[i].field;
        num[i].n_values = n;
        num[i].values = (double *)numeric[i].values;
        nump[i] = &num[i];
    }
    for (size_t i = 0; i < n_categorical; i++) {
        credit__categorical_column__init(&cat[i]);
        cat[i].field = (char *)categorical[i].field;
        cat[i].n_values = n;
        cat[i].values = catvals + i * n;
        for (size_t r = 0; r < n; r++) {
            const char *v = categorical[i].values[r];
            cat[i].values[r] = v ? (char *)v : empty;
        }
        catp[i] = &cat[i];
    }
    Credit__Columns cols;
    credit__columns__init(&cols);
    cols.n_ids = ids ? n : 0;
    cols.ids = (char **)ids;
    cols.n_numeric = n_numeric;
    cols.numeric = nump;
    cols.n_categorical = n_categorical;
    cols.categorical = catp;
    Credit__ScoreRequest score;
    credit__score_request__init(&score);
    score.input_case = CREDIT__SCORE_REQUEST__INPUT_COLUMNS;
    score.columns = &cols;
    score.reasons = c->reasons;
    Credit__Request req;
    credit__request__init(&req);
    req.deadline_unix_micros = deadline_unix_micros;
    req.method_case = CREDIT__REQUEST__METHOD_SCORE;
    req.score = &score;
    e = call(c, &req, response);
    if (e == CREDIT_OK && (*response)->result_case != CREDIT__RESPONSE__RESULT_SCORE) {
        credit_response_free(*response);
        *response = NULL;
        set_detail(c, "answer is not a ScoreResponse");
        e = CREDIT_ERR_PROTOCOL;
    }
done:
    free(num); free(nump); free(cat); free(catp); free(catvals);
    return e;
}

credit_error credit_model_info(credit_client *c, Credit__Response **response) {
    if (!c || !response) return CREDIT_ERR_ARGUMENT;
    Credit__ModelInfoRequest m;
    credit__model_info_request__init(&m);
    Credit__Request req;
    credit__request__init(&req);
    req.method_case = CREDIT__REQUEST__METHOD_MODEL_INFO;
    req.model_info = &m;
    credit_error e = call(c, &req, response);
    if (e == CREDIT_OK && (*response)->result_case != CREDIT__RESPONSE__RESULT_MODEL_INFO) {
        credit_response_free(*response);
        *response = NULL;
        set_detail(c, "answer is not a ModelInfoResponse");
        e = CREDIT_ERR_PROTOCOL;
    }
    return e;
}
