#!/usr/bin/env python3
"""Byte-exact traffic through forwards, for the tunnel tests.

  byte_check.py echo PORT [--burst BYTES]
      Serves 127.0.0.1:PORT. Each connection is echoed until the client's
      EOF, then closed. With --burst, each connection instead gets BYTES of
      pattern written at once and is closed (field case T3).
  byte_check.py send PORT BYTES [--parallel N] [--rate BYTES_PER_S]
      N connections at once to 127.0.0.1:PORT, each sends BYTES of a
      pattern, half-closes, reads the echo to EOF and compares SHA-256 and
      length of what came back with what went out. Exit 0 only if all match.
  byte_check.py sink PORT
      Serves 127.0.0.1:PORT: reads each connection to EOF, then closes it.
  byte_check.py stream PORT BYTES [--parallel N]
      N connections at once each send BYTES to a sink, half-close and wait
      for its close; prints aggregate and per-stream MB/s (benchmarks).
  byte_check.py read PORT BYTES [--rate BYTES_PER_S]
      Reads one connection to EOF (slowly with --rate) and checks that it
      got exactly the --burst pattern of BYTES.
"""
import argparse
import hashlib
import random
import socket
import sys
import threading
import time

CHUNK = 256 * 1024


BASE = random.Random(20261203).randbytes(CHUNK)


def pattern(total):
    """Yields `total` bytes in chunks; each chunk starts with its number."""
    offset, number = 0, 0
    while offset < total:
        n = min(CHUNK, total - offset)
        yield (number.to_bytes(8, "little") + BASE[8:])[:n]
        offset += n
        number += 1


def throttle(start, done, rate):
    if rate:
        ahead = done / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)


def serve(port, burst):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(256)

    def handle(conn):
        try:
            if burst:
                for block in pattern(burst):
                    conn.sendall(block)
                return
            while True:
                data = conn.recv(CHUNK)
                if not data:
                    conn.shutdown(socket.SHUT_WR)
                    # Wait for the peer's close so nothing is reset.
                    while conn.recv(CHUNK):
                        pass
                    return
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def serve_sink(port):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(256)

    def handle(conn):
        try:
            while conn.recv(1024 * 1024):
                pass
        except OSError:
            pass
        conn.close()

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def stream(port, total, parallel):
    rates = [0.0] * parallel
    block = BASE * 4

    def one(index):
        conn = socket.create_connection(("127.0.0.1", port))
        start, sent = time.monotonic(), 0
        view = memoryview(block)
        while sent < total:
            n = min(len(block), total - sent)
            conn.sendall(view[:n])
            sent += n
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(65536):
            pass
        rates[index] = total / (time.monotonic() - start) / 1e6
        conn.close()

    start = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - start
    print("aggregate_mbps=%.1f min_mbps=%.1f max_mbps=%.1f seconds=%.2f" % (
        total * parallel / seconds / 1e6, min(rates), max(rates), seconds))
    return 0


def one_send(port, total, rate, results, index):
    sent, got = hashlib.sha256(), hashlib.sha256()
    received = 0
    try:
        conn = socket.create_connection(("127.0.0.1", port), timeout=600)

        def reader():
            nonlocal received
            while True:
                data = conn.recv(CHUNK)
                if not data:
                    return
                received += len(data)
                got.update(data)

        thread = threading.Thread(target=reader)
        thread.start()
        start, done = time.monotonic(), 0
        for block in pattern(total):
            conn.sendall(block)
            sent.update(block)
            done += len(block)
            throttle(start, done, rate)
        conn.shutdown(socket.SHUT_WR)
        thread.join()
        conn.close()
        ok = received == total and got.digest() == sent.digest()
        results[index] = (ok, "sent=%d received=%d" % (total, received))
    except OSError as error:
        results[index] = (False, "error %s after received=%d" % (error, received))


def send(port, total, parallel, rate):
    results = [None] * parallel
    threads = [threading.Thread(target=one_send,
                                args=(port, total, rate, results, i))
               for i in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = [r[1] for r in results if not r[0]]
    print("connections=%d ok=%d%s" % (parallel, parallel - len(bad),
                                        (" first_bad=" + bad[0]) if bad else ""))
    return 0 if not bad else 1


def read(port, total, rate):
    conn = socket.create_connection(("127.0.0.1", port), timeout=600)
    want, got = hashlib.sha256(), hashlib.sha256()
    for block in pattern(total):
        want.update(block)
    received, start = 0, time.monotonic()
    while True:
        data = conn.recv(64 * 1024 if rate else CHUNK)
        if not data:
            break
        received += len(data)
        got.update(data)
        throttle(start, received, rate)
    print("received=%d want=%d" % (received, total))
    return 0 if received == total and got.digest() == want.digest() else 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["echo", "send", "read", "sink", "stream"])
    parser.add_argument("port", type=int)
    parser.add_argument("bytes", type=int, nargs="?", default=0)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--burst", type=int, default=0)
    args = parser.parse_args()
    if args.mode == "echo":
        serve(args.port, args.burst)
    elif args.mode == "sink":
        serve_sink(args.port)
    elif args.mode == "stream":
        sys.exit(stream(args.port, args.bytes, args.parallel))
    elif args.mode == "send":
        sys.exit(send(args.port, args.bytes, args.parallel, args.rate))
    else:
        sys.exit(read(args.port, args.bytes, args.rate))


if __name__ == "__main__":
    main()
