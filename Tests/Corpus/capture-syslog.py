#!/usr/bin/env python3
"""Captures what real syslog clients send, byte for byte, into Tests/Corpus/syslog:
logger(1) (RFC 3164, RFC 5424 with structured data and MSGID, octet counting, Unix
datagram and stream, TCP), Python's logging.handlers.SysLogHandler (Unix datagram and
TCP) and glibc's syslog(3) from a small C program whose /dev/log is our socket (a private
mount namespace: needs root and unshare). Nothing of ours is on the sending side.

Files: NAME.dgram holds one datagram; NAME.stream the bytes of one stream connection.
Also writes the RFC examples (RFC 5424 section 6.5, RFC 3164 section 5.4) and named
malformed inputs. Run from the repo root; the tests read the files, they do not run this."""
import logging, logging.handlers, os, shutil, socket, subprocess, sys, tempfile, threading

out = "Tests/Corpus/syslog"
os.makedirs(out, exist_ok=True)
work = tempfile.mkdtemp(prefix="jb-syslog-capture.")


def save(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def dgram_socket(name):
    path = os.path.join(work, name)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(5)
    return s, path


def receive_datagrams(s, count):
    return [s.recv(1 << 20) for _ in range(count)]


class StreamCapture:
    """Accepts one connection and reads it until the peer closes."""

    def __init__(self, family, address):
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind(address)
        self.listener.listen(1)
        self.listener.settimeout(10)
        self.address = self.listener.getsockname()
        self.data = b""
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        conn, _ = self.listener.accept()
        conn.settimeout(10)
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            self.data += chunk
        conn.close()

    def result(self):
        self.thread.join()
        self.listener.close()
        return self.data


def logger(*args, stdin=None):
    subprocess.run(["logger", *args], input=stdin, check=True)


# logger(1) on a Unix datagram socket.
s, path = dgram_socket("dgram.sock")
logger("-u", path, "-d", "--rfc3164", "-t", "capture-logger", "-p", "local3.warning", "--id=4242", "hello from logger rfc3164")
logger("-u", path, "-d", "--rfc5424", "-t", "capture-logger", "-p", "user.err", "--msgid", "ID47",
       "--sd-id", "origin@32473", "--sd-param", 'ip="192.0.2.1"', "--sd-param", 'note="quote \\" backslash \\\\ bracket \\]"',
       "hello from logger rfc5424")
logger("-u", path, "-d", "--rfc5424", "-t", "capture-logger", "-p", "daemon.debug", "--sd-id", "a@1", "--sd-param", 'x="1"',
       "--sd-id", "b@2", "--sd-param", 'y="2"', "--sd-param", 'y="3"', "two elements, a repeated param")
logger("-u", path, "-d", "-t", "capture-logger", "-p", "user.info", "logger's default for a local socket")
logger("-u", path, "-d", "--rfc3164", "-t", "capture-logger", "-p", "user.notice", stdin=b"invalid utf-8 \xff\xfe here\n")
names = ["logger-rfc3164", "logger-rfc5424-sd-msgid", "logger-rfc5424-two-elements", "logger-default-local",
         "logger-invalid-utf8"]
for name, data in zip(names, receive_datagrams(s, len(names))):
    save(name + ".dgram", data)

# Python's SysLogHandler on the Unix datagram socket: `<PRI>msg\0`.
handler = logging.handlers.SysLogHandler(address=path, facility=logging.handlers.SysLogHandler.LOG_LOCAL0)
handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
log = logging.getLogger("capture-python")
log.propagate = False
log.addHandler(handler)
log.setLevel(logging.DEBUG)
log.warning("hello from python")
log.error("line one\nline two")
handler.ident = "capture-python[%d]: " % os.getpid()
handler.setFormatter(logging.Formatter("%(message)s"))
log.info("with ident")
handler.close()
log.removeHandler(handler)
for name, data in zip(["python-unix", "python-unix-multiline", "python-unix-ident"], receive_datagrams(s, 3)):
    save(name + ".dgram", data)
s.close()

# logger(1) on a Unix stream socket (LF-terminated) and TCP, both framings.
capture = StreamCapture(socket.AF_UNIX, os.path.join(work, "stream.sock"))
logger("-u", capture.address, "-T", "--rfc3164", "-t", "capture-logger", "-p", "user.warning", stdin=b"first line\nsecond line\n")
save("logger-unix-stream.stream", capture.result())

capture = StreamCapture(socket.AF_INET, ("127.0.0.1", 0))
logger("-n", "127.0.0.1", "-P", str(capture.address[1]), "-T", "--rfc5424", "--msgid", "TCPTEST", "-t", "capture-logger",
       "--sd-id", "meta@32473", "--sd-param", 'k="v"', stdin=b"tcp one\ntcp two\n")
save("logger-tcp-lf.stream", capture.result())

capture = StreamCapture(socket.AF_INET, ("127.0.0.1", 0))
logger("-n", "127.0.0.1", "-P", str(capture.address[1]), "-T", "--octet-count", "--rfc5424", "-t", "capture-logger",
       stdin=b"counted one\ncounted two\n")
save("logger-tcp-octet-count.stream", capture.result())

# Python's SysLogHandler on TCP: no framing at all, each message ends with its NUL.
capture = StreamCapture(socket.AF_INET, ("127.0.0.1", 0))
handler = logging.handlers.SysLogHandler(address=("127.0.0.1", capture.address[1]), socktype=socket.SOCK_STREAM)
handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
log.addHandler(handler)
log.warning("tcp one")
log.error("tcp two")
handler.close()
log.removeHandler(handler)
save("python-tcp.stream", capture.result())

# glibc syslog(3), through /dev/log in a private mount namespace.
c_source = r"""
#include <syslog.h>
int main(int argc, char **argv) {
    openlog("capture-glibc", LOG_PID, LOG_LOCAL2);
    syslog(LOG_WARNING, "hello from glibc %d", 42);
    syslog(LOG_ERR | LOG_AUTH, "explicit facility");
    closelog();
    openlog("capture-glibc-nopid", 0, LOG_USER);
    syslog(LOG_INFO, "without a pid");
    closelog();
    return 0;
}
"""
if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("cc"):
    with open(os.path.join(work, "c.c"), "w") as f:
        f.write(c_source)
    program = os.path.join(work, "capture-glibc")
    subprocess.run(["cc", "-o", program, os.path.join(work, "c.c")], check=True)
    run_in_namespace = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs tmpfs /dev && ln -s "$0" /dev/log && "$1"']
    s, path = dgram_socket("glibc-dgram.sock")
    subprocess.run(run_in_namespace + [path, program], check=True)
    for name, data in zip(["glibc-pid", "glibc-facility", "glibc-nopid"], receive_datagrams(s, 3)):
        save(name + ".dgram", data)
    s.close()
    capture = StreamCapture(socket.AF_UNIX, os.path.join(work, "glibc-stream.sock"))
    subprocess.run(run_in_namespace + [capture.address, program], check=True)
    save("glibc-unix-stream.stream", capture.result())
else:
    print("glibc capture skipped: needs root, unshare and cc", file=sys.stderr)

# The RFCs' own examples.
rfc = {
    # RFC 5424 section 6.5, examples 1-4 (example 1's BOM kept).
    "rfc5424-example1": b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8",
    "rfc5424-example2": b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
    "rfc5424-example3": b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] \xef\xbb\xbfAn application event log entry...',
    "rfc5424-example4": b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
    # RFC 3164 section 5.4.
    "rfc3164-example1": b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    "rfc3164-example2": b"Use the BFG!",
    "rfc3164-example3": b"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
    "rfc3164-example4": b"<165>Aug 24 05:34:00 CST 1987 mypc myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%",
    "rfc3164-example5": b"<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!",
    # rsyslog's RSYSLOG_ForwardFormat template (its layout, written by hand).
    "rsyslog-forward-format": b"<30>2026-11-28T08:13:56.010615+00:00 otherhost sshd[99]: accepted",
    # Malformed and hostile.
    "bad-pri-too-big": b"<192>1 2003-10-11T22:14:15.003Z host app - - - too big",
    "bad-pri-unclosed": b"<13 no closing bracket",
    "pri-leading-zero": b"<013>Oct 11 22:14:15 host tag: leading zero",
    "bad-5424-timestamp": b"<13>1 2003-13-45T99:14:15Z host app - - - bad date",
    "bad-5424-sd-unclosed": b'<13>1 - host app - - [id@1 a="unterminated',
    "bad-5424-sd-noquote": b"<13>1 - host app - - [id@1 a=b] msg",
    "bad-5424-short": b"<13>1 -",
    "sd-escapes": b'<13>1 - host app - - [x@1 q="a\\"b" s="c\\\\d" r="e\\]f" o="g\\h"] escapes',
    "sd-binary-value": b'<13>1 - host app - - [x@1 v="\xff\x00\xfe"] binary',
    "nul-inside": b"<13>Oct 11 22:14:15 host tag: before\x00after",
    "only-pri": b"<13>",
    "empty-after-strip": b"\x00\n",
    "control-chars": b"<13>Oct 11 22:14:15 host tag: \x1b[31mred\x1b[0m\r\nforged line",
    "long-tag": b"<13>Oct 11 22:14:15 host " + b"t" * 200 + b"[1]: long tag",
    "invalid-utf8-5424": b"<14>1 - h a - - - \xc3\x28 \xff",
}
for name, data in rfc.items():
    save(name + ".dgram", data)
save("octet-count-lies.stream", b"5 <13>a\n999999999999 <13>x\n12 <13>1 - - - - -\n")
save("mixed-framing.stream", b"17 <13>octet counted<14>lf terminated\n\n\x00<15>nul terminated\x0025 <13>1 - h a p m - counted")

shutil.rmtree(work)
print("wrote", len(os.listdir(out)), "files to", out)
