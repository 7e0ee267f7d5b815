/* The floor: the least a server can do with creditd's frames. Echoes 4-byte big-endian
 * length-prefixed frames back unchanged, one blocking thread per connection (the same I/O
 * model as creditd), on a Unix socket and/or a TCP port:
 *     echo unix:/tmp/floor.sock tcp:17312
 * Built by bench/run.sh with `cc -O2 -pthread`. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int read_full(int fd, unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r; n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w; n -= (size_t)w;
    }
    return 0;
}

static void *serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    size_t cap = 1 << 16;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (read_full(fd, buf, 4) != 0) break;
        size_t len = ((size_t)buf[0] << 24) | ((size_t)buf[1] << 16) | ((size_t)buf[2] << 8) | buf[3];
        if (len + 4 > cap) {
            while (len + 4 > cap) cap *= 2;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        if (read_full(fd, buf + 4, len) != 0) break;
        if (write_full(fd, buf, len + 4) != 0) break;
    }
    free(buf);
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg) {
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) { if (errno == EINTR) continue; perror("accept"); return NULL; }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly on Unix sockets */
        pthread_t t;
        pthread_create(&t, NULL, serve, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) { fprintf(stderr, "usage: echo unix:PATH | tcp:PORT ...\n"); return 2; }
    pthread_t threads[16];
    int n = 0;
    for (int i = 1; i < argc && n < 16; i++) {
        int lfd;
        if (strncmp(argv[i], "unix:", 5) == 0) {
            struct sockaddr_un a = {0};
            a.sun_family = AF_UNIX;
            strncpy(a.sun_path, argv[i] + 5, sizeof a.sun_path - 1);
            unlink(a.sun_path);
            lfd = socket(AF_UNIX, SOCK_STREAM, 0);
            if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0) { perror(argv[i]); return 1; }
        } else if (strncmp(argv[i], "tcp:", 4) == 0) {
            struct sockaddr_in a = {0};
            a.sin_family = AF_INET;
            a.sin_port = htons((uint16_t)atoi(argv[i] + 4));
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            lfd = socket(AF_INET, SOCK_STREAM, 0);
            int one = 1;
            setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0) { perror(argv[i]); return 1; }
        } else { fprintf(stderr, "bad address %s\n", argv[i]); return 2; }
        if (listen(lfd, 128) != 0) { perror("listen"); return 1; }
        pthread_create(&threads[n++], NULL, accept_loop, (void *)(intptr_t)lfd);
    }
    for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
    return 0;
}
