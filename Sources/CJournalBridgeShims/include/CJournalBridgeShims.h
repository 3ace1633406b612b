#ifndef C_JOURNAL_BRIDGE_SHIMS_H
#define C_JOURNAL_BRIDGE_SHIMS_H

#include <sys/types.h>

// The bits of the socket API that Swift cannot see or that need a macro:
// `struct ucred` (needs _GNU_SOURCE) and `struct sockaddr_un` filling.

/// Reads the peer's pid/uid/gid with SO_PEERCRED. Returns 0 or -1 with errno set.
int c_jb_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/// bind(2) / connect(2) of a Unix stream socket to `path`.
/// Returns 0, or -1 with errno set (ENAMETOOLONG when the path does not fit sun_path).
int c_jb_bind_unix(int fd, const char *path);
int c_jb_connect_unix(int fd, const char *path);

/// bind(2) of a Unix stream socket to `path`, the socket file created with exactly the
/// permission bits `mode & 0777`, whatever the process's umask, and without touching that
/// umask: the bind runs on a short-lived thread that first unshares its file-system
/// attributes (unshare(CLONE_FS), which needs no privilege) and sets its own umask there.
/// If unsharing is refused (a seccomp filter), the process's umask is changed around the
/// one bind(2) call only. Returns 0, or -1 with errno set.
int c_jb_bind_unix_mode(int fd, const char *path, mode_t mode);

/// open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC): a descriptor of the entry itself (a link
/// stays a link) that no read, write or open side effect comes with. Returns it, or -1 with errno.
int c_jb_open_entry(const char *path);

/// fchownat(fd, "", owner, group, AT_EMPTY_PATH): changes the owner/group of what an
/// O_PATH descriptor names, never following a path. Returns 0, or -1 with errno set.
int c_jb_fchown_entry(int fd, uid_t owner, gid_t group);

/// accept4(fd, NULL, NULL, SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0)).
int c_jb_accept(int fd, int nonblocking);

/// pipe2(fds, O_NONBLOCK | O_CLOEXEC).
int c_jb_pipe(int fds[2]);

/// Names the calling thread (pthread_setname_np needs _GNU_SOURCE); at most 15 bytes are kept.
void c_jb_set_thread_name(const char *name);

/// Puts the calling thread under SCHED_BATCH, its nice value unchanged (SCHED_BATCH needs
/// _GNU_SOURCE): when it wakes, it no longer preempts the task running on the CPU it is
/// placed on. Only a thread under SCHED_OTHER changes; another policy (given to the
/// process by an administrator) stays. Returns 0, or the error number of the failed call.
int c_jb_set_thread_batch_scheduling(void);

/// getxattr(2) (sys/xattr.h is not in Swift's Glibc module). Returns the value's size, or -1 with errno.
ssize_t c_jb_getxattr(const char *path, const char *name, void *value, size_t size);

// Syslog inputs (syslog.c): datagrams with the kernel's credentials and drop counts, and
// TCP/UDP sockets named by host and port.

/// Turns on SO_PASSCRED (each datagram carries its sender's pid/uid/gid, SCM_CREDENTIALS)
/// when `credentials`, and SO_RXQ_OVFL (each datagram carries the count of datagrams the
/// kernel dropped on this socket so far). Returns 0, or -1 with errno set.
int c_jb_enable_datagram_info(int fd, int credentials);

/// What `c_jb_receive_datagram` learnt besides the bytes.
typedef struct {
    int has_credentials;
    pid_t pid;
    uid_t uid;
    gid_t gid;
    int has_drops;
    unsigned int drops;
    /// The sender's address ("192.0.2.1:514", "[2001:db8::1]:514"), empty for a Unix socket.
    char peer[64];
} c_jb_datagram_info;

/// recvmsg(fd, MSG_DONTWAIT | MSG_TRUNC) into `buffer`: returns the datagram's full length
/// (more than `capacity` when it was cut), or -1 with errno set.
long c_jb_receive_datagram(int fd, void *buffer, unsigned long capacity, c_jb_datagram_info *info);

/// A TCP (`stream` non-zero, listening) or UDP socket bound to `host`:`port` (a name or a
/// numeric address; an empty host is every address), non-blocking and close-on-exec.
/// Returns the descriptor, or -1 with errno set (EADDRNOTAVAIL when the name does not resolve).
int c_jb_inet_bind(const char *host, const char *port, int stream, int backlog);

/// accept4 (non-blocking, close-on-exec) writing the peer's address as text to `peer`.
int c_jb_accept_peer(int fd, char *peer, unsigned long capacity);

/// The address a socket is bound to, as text ("127.0.0.1:5140"). Returns 0, or -1 with errno.
int c_jb_local_address(int fd, char *text, unsigned long capacity);

#endif
