/*
 * syslog-flood: N sender processes, each sending M syslog messages as fast as it can over a
 * Unix datagram socket (the way /dev/log is used) or TCP (LF-terminated, RFC 6587
 * non-transparent framing). The same sender for journal-bridge and rsyslog in the bench.
 *
 *   syslog-flood unix  PATH      SENDERS MESSAGES SIZE TAG
 *   syslog-flood local PATH      SENDERS MESSAGES SIZE TAG
 *   syslog-flood tcp   HOST:PORT SENDERS MESSAGES SIZE TAG
 *
 * Each message: "<14>Nov 28 12:00:00 benchhost TAG[pid]: s<sender> seq:<n> <padding>" with
 * the padding bringing the text after the tag to SIZE bytes; `local` sends glibc's form,
 * without the hostname, over a Unix datagram socket (journald's own syslog socket parses the
 * tag only in that form). Blocking sockets: a full queue
 * slows the sender, as with logger, glibc and Python. Exits 0 once every sender sent all.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int connect_target(int tcp, const char *target) {
    if (!tcp) {
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un address = {.sun_family = AF_UNIX};
        snprintf(address.sun_path, sizeof(address.sun_path), "%s", target);
        if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) return -1;
        return fd;
    }
    char host[256];
    snprintf(host, sizeof(host), "%s", target);
    char *colon = strrchr(host, ':');
    if (!colon) return -1;
    *colon = 0;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *found;
    if (getaddrinfo(host, colon + 1, &hints, &found) != 0) return -1;
    int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, found->ai_addr, found->ai_addrlen) != 0) return -1;
    freeaddrinfo(found);
    return fd;
}

static int send_all(int fd, const char *data, size_t length, int tcp) {
    if (!tcp) {
        for (;;) {
            ssize_t n = send(fd, data, length, 0);
            if (n >= 0) return 0;
            if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS) continue;
            return -1;
        }
    }
    while (length > 0) {
        ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

static int sender(int tcp, int local, const char *target, int index, long messages, int size, const char *tag) {
    int fd = connect_target(tcp, target);
    if (fd < 0) { perror("syslog-flood: connect"); return 1; }
    char padding[65536];
    memset(padding, 'x', sizeof(padding));
    char message[70000];
    for (long n = 0; n < messages; n++) {
        int head = snprintf(
            message, sizeof(message), "<14>Nov 28 12:00:00 %s%s[%d]: ", local ? "" : "benchhost ", tag, getpid());
        int body = snprintf(message + head, sizeof(message) - head, "s%d seq:%ld ", index, n);
        int pad = size - body > 0 ? size - body : 0;
        if (pad > (int)sizeof(padding)) pad = sizeof(padding);
        int length = head + body;
        memcpy(message + length, padding, pad);
        length += pad;
        if (tcp) message[length++] = '\n';
        if (send_all(fd, message, length, tcp) != 0) { perror("syslog-flood: send"); return 1; }
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: syslog-flood unix|local|tcp PATH|HOST:PORT SENDERS MESSAGES SIZE TAG\n");
        return 64;
    }
    int tcp = strcmp(argv[1], "tcp") == 0;
    int local = strcmp(argv[1], "local") == 0;
    int senders = atoi(argv[3]);
    long messages = atol(argv[4]);
    int size = atoi(argv[5]);
    for (int i = 0; i < senders; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit(sender(tcp, local, argv[2], i, messages, size, argv[6]));
        if (pid < 0) { perror("syslog-flood: fork"); return 1; }
    }
    int failed = 0, status;
    while (wait(&status) > 0) if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
    return failed ? 1 : 0;
}
