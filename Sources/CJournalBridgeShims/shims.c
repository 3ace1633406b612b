#define _GNU_SOURCE
#include "CJournalBridgeShims.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <pthread.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/xattr.h>

int c_jb_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        return -1;
    }
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

static int fill_address(struct sockaddr_un *addr, const char *path) {
    size_t n = strlen(path);
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    if (n == 0 || n >= sizeof(addr->sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(addr->sun_path, path, n);
    return 0;
}

int c_jb_bind_unix(int fd, const char *path) {
    struct sockaddr_un addr;
    if (fill_address(&addr, path) != 0) return -1;
    return bind(fd, (struct sockaddr *)&addr, sizeof(addr));
}

struct bind_job {
    int fd;
    const char *path;
    mode_t mode;
    int unshared;
    int result;
    int error;
};

static void *bind_in_own_fs(void *argument) {
    struct bind_job *job = argument;
    // This thread's umask becomes its own: the process's (and every other thread's) stays as is.
    if (unshare(CLONE_FS) != 0) {
        job->error = errno;
        return NULL;
    }
    job->unshared = 1;
    umask(~job->mode & 0777);
    job->result = c_jb_bind_unix(job->fd, job->path);
    job->error = errno;
    return NULL;
}

int c_jb_bind_unix_mode(int fd, const char *path, mode_t mode) {
    struct bind_job job = {fd, path, mode & 0777, 0, -1, 0};
    pthread_t thread;
    int created = pthread_create(&thread, NULL, bind_in_own_fs, &job);
    if (created == 0) {
        // As swift-log's Lock treats a failed pthread call: a broken invariant. Going on would
        // leave the thread using `job` on this stack frame after it returns.
        if (pthread_join(thread, NULL) != 0) abort();
        if (job.unshared) {
            errno = job.error;
            return job.result;
        }
    }
    // No thread or no unshare: the process-wide umask, held for this one system call. A file
    // another thread creates in this window gets this umask: merely stricter than the process's
    // when the wanted mode is within what that umask allows (0660 under 0007 or 0027), wider otherwise.
    mode_t previous = umask(~job.mode & 0777);
    int result = c_jb_bind_unix(fd, path);
    int error = errno;
    umask(previous);
    errno = error;
    return result;
}

int c_jb_open_entry(const char *path) {
    return open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

int c_jb_fchown_entry(int fd, uid_t owner, gid_t group) {
    return fchownat(fd, "", owner, group, AT_EMPTY_PATH);
}

int c_jb_connect_unix(int fd, const char *path) {
    struct sockaddr_un addr;
    if (fill_address(&addr, path) != 0) return -1;
    return connect(fd, (struct sockaddr *)&addr, sizeof(addr));
}

void c_jb_set_thread_name(const char *name) {
    char buffer[16];
    strncpy(buffer, name, sizeof(buffer) - 1);
    buffer[sizeof(buffer) - 1] = 0;
    // The name is for ps and debuggers only; a thread without one works the same.
    (void)pthread_setname_np(pthread_self(), buffer);
}

int c_jb_set_thread_batch_scheduling(void) {
    // sched_*(0, ...) act on the calling thread and ask the kernel, where pthread_getschedparam
    // may answer from what glibc cached (and a new thread copies its creator's cache).
    int policy = sched_getscheduler(0);
    if (policy < 0) return errno;
    // Only in place of the default: a policy the process was given (its unit's
    // CPUSchedulingPolicy=, chrt: idle, real time) is the administrator's, and stays.
    if (policy != SCHED_OTHER) return 0;
    struct sched_param param = {.sched_priority = 0};
    return sched_setscheduler(0, SCHED_BATCH, &param) == 0 ? 0 : errno;
}

int c_jb_accept(int fd, int nonblocking) {
    return accept4(fd, NULL, NULL, SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0));
}

int c_jb_pipe(int fds[2]) {
    return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
}

ssize_t c_jb_getxattr(const char *path, const char *name, void *value, size_t size) {
    return getxattr(path, name, value, size);
}
