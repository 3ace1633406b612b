#define _GNU_SOURCE
#include "CJournalBridgeShims.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

int c_jb_enable_datagram_info(int fd, int credentials) {
    int on = 1;
    if (credentials && setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0) return -1;
    return setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
}

static void format_address(const struct sockaddr *address, socklen_t length, char *text, size_t capacity) {
    char host[INET6_ADDRSTRLEN] = "";
    if (capacity == 0) return;
    text[0] = 0;
    if (address->sa_family == AF_INET && length >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)address;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(text, capacity, "%s:%u", host, (unsigned)ntohs(in->sin_port));
    } else if (address->sa_family == AF_INET6 && length >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)address;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(text, capacity, "[%s]:%u", host, (unsigned)ntohs(in6->sin6_port));
    }
}

long c_jb_receive_datagram(int fd, void *buffer, unsigned long capacity, c_jb_datagram_info *info) {
    struct sockaddr_storage address;
    struct iovec vector = {.iov_base = buffer, .iov_len = capacity};
    // Room for SCM_CREDENTIALS and SO_RXQ_OVFL together.
    union {
        char bytes[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(unsigned int))];
        struct cmsghdr align;
    } control;
    struct msghdr message = {
        .msg_name = &address, .msg_namelen = sizeof(address),
        .msg_iov = &vector, .msg_iovlen = 1,
        .msg_control = control.bytes, .msg_controllen = sizeof(control.bytes),
    };
    memset(info, 0, sizeof(*info));
    ssize_t length = recvmsg(fd, &message, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
    if (length < 0) return -1;
    for (struct cmsghdr *item = CMSG_FIRSTHDR(&message); item != NULL; item = CMSG_NXTHDR(&message, item)) {
        if (item->cmsg_level != SOL_SOCKET) continue;
        if (item->cmsg_type == SCM_CREDENTIALS && item->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
            struct ucred credentials;
            memcpy(&credentials, CMSG_DATA(item), sizeof(credentials));
            info->has_credentials = 1;
            info->pid = credentials.pid;
            info->uid = credentials.uid;
            info->gid = credentials.gid;
        } else if (item->cmsg_type == SO_RXQ_OVFL && item->cmsg_len >= CMSG_LEN(sizeof(unsigned int))) {
            memcpy(&info->drops, CMSG_DATA(item), sizeof(info->drops));
            info->has_drops = 1;
        } else if (item->cmsg_type == SCM_RIGHTS) {
            // Descriptors nobody asked for: closed at once, so a sender cannot fill our table.
            size_t count = (item->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; i++) {
                int passed;
                memcpy(&passed, CMSG_DATA(item) + i * sizeof(int), sizeof(int));
                close(passed);
            }
        }
    }
    format_address((struct sockaddr *)&address, message.msg_namelen, info->peer, sizeof(info->peer));
    return (long)length;
}

int c_jb_inet_bind(const char *host, const char *port, int stream, int backlog) {
    struct addrinfo hints, *found = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = stream ? SOCK_STREAM : SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host[0] ? host : NULL, port, &hints, &found) != 0 || found == NULL) {
        errno = EADDRNOTAVAIL;
        return -1;
    }
    int saved = EADDRNOTAVAIL;
    int fd = -1;
    for (struct addrinfo *at = found; at != NULL; at = at->ai_next) {
        fd = socket(at->ai_family, at->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, at->ai_protocol);
        if (fd < 0) { saved = errno; continue; }
        int on = 1;
        if (stream) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));  // a restart may bind while old connections linger
        if (bind(fd, at->ai_addr, at->ai_addrlen) == 0 && (!stream || listen(fd, backlog) == 0)) break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(found);
    if (fd < 0) errno = saved;
    return fd;
}

int c_jb_accept_peer(int fd, char *peer, unsigned long capacity) {
    struct sockaddr_storage address;
    socklen_t length = sizeof(address);
    int accepted = accept4(fd, (struct sockaddr *)&address, &length, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (accepted >= 0) format_address((struct sockaddr *)&address, length, peer, capacity);
    return accepted;
}

int c_jb_local_address(int fd, char *text, unsigned long capacity) {
    struct sockaddr_storage address;
    socklen_t length = sizeof(address);
    if (getsockname(fd, (struct sockaddr *)&address, &length) != 0) return -1;
    format_address((struct sockaddr *)&address, length, text, capacity);
    return 0;
}
