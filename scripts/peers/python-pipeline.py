#!/usr/bin/env python3
"""The Python pattern journal-bridge replaces, as the peer to beat: N worker
processes log through logging.handlers.QueueHandler into one
multiprocessing.Queue; a QueueListener thread in the main process hands each
record to a RotatingFileHandler for WARNING+ (<base>_error.log), one for DEBUG+
(<base>_debug.log), a console StreamHandler at INFO (to /dev/null), and, unless
--no-journal, systemd's JournalHandler (pip package systemd-python).

usage: python-pipeline.py WORKERS RECORDS_PER_WORKER OUTDIR TAG [--no-journal]
Prints one line: records, seconds, records/s, end to end (all handled).
"""
import logging, logging.handlers, multiprocessing, os, sys, threading, time

LEVELS = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]

def worker(queue, n, tag):
    logger = logging.getLogger("mp")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(logging.handlers.QueueHandler(queue))
    name = multiprocessing.current_process().name
    for i in range(n):
        logger.log(LEVELS[i % 5], "%s - message %d with some payload text", name, i)

def main():
    workers, per, outdir, tag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    journal = "--no-journal" not in sys.argv
    os.makedirs(outdir, exist_ok=True)
    base = os.path.join(outdir, "bench")
    ff = logging.Formatter("[%(asctime)s] %(levelname)s : %(message)s")
    err = logging.handlers.RotatingFileHandler(base + "_error.log", "a", 10 * 1024 * 1024, 10)
    err.setLevel(logging.WARNING); err.setFormatter(ff)
    dbg = logging.handlers.RotatingFileHandler(base + "_debug.log", "a", 10 * 1024 * 1024, 10)
    dbg.setLevel(logging.DEBUG); dbg.setFormatter(ff)
    con = logging.StreamHandler(open(os.devnull, "w"))
    con.setLevel(logging.INFO); con.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    handlers = [err, dbg, con]
    if journal:
        from systemd.journal import JournalHandler
        jh = JournalHandler(SYSLOG_IDENTIFIER=tag)
        jh.setLevel(logging.DEBUG)
        handlers.append(jh)
    queue = multiprocessing.Queue(-1)
    listener = logging.handlers.QueueListener(queue, *handlers, respect_handler_level=True)
    t0 = time.perf_counter()
    listener.start()
    procs = [multiprocessing.Process(target=worker, args=(queue, per, tag)) for _ in range(workers)]
    for p in procs: p.start()
    for p in procs: p.join()
    listener.stop()  # drains the queue before returning
    dt = time.perf_counter() - t0
    total = workers * per
    print(f"python-pipeline workers={workers} records={total} seconds={dt:.3f} rate={total/dt:.0f}/s")

if __name__ == "__main__":
    main()
