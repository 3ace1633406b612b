#!/usr/bin/env python3
"""Cost of one logger.log() call in a worker through QueueHandler into a
multiprocessing.Queue (the worker side of the Python pattern), with a
QueueListener draining.
usage: python-queuehandler-call.py N  -> prints median and p99 per call in microseconds"""
import logging, logging.handlers, multiprocessing, sys, time

def main():
    n = int(sys.argv[1])
    q = multiprocessing.Queue(-1)
    sink = logging.NullHandler()
    listener = logging.handlers.QueueListener(q, sink)
    listener.start()
    logger = logging.getLogger("p"); logger.setLevel(logging.DEBUG)
    logger.addHandler(logging.handlers.QueueHandler(q))
    ts = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        logger.info("message %d with some payload text", i)
        ts.append(time.perf_counter_ns() - t0)
    listener.stop()
    ts.sort()
    print(f"python-queuehandler calls={n} p50_us={ts[n//2]/1000:.2f} p99_us={ts[n*99//100]/1000:.2f}")
main()
