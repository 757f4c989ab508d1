#!/usr/bin/env python3
"""A TCP relay that tests and benchmarks control: a network path they can
cut, and a WAN's round-trip time where netem is not available.

  tcp_relay.py LISTEN_PORT TARGET [--idle_drop SECONDS] [--delay_ms MS]

Relays 127.0.0.1:LISTEN_PORT to TARGET (a port on 127.0.0.1, or HOST:PORT).
  SIGUSR1  cut the path: every existing connection freezes for good (no
           byte moves either way, nothing is closed or reset, as when
           packets are dropped and the peers give up before it returns),
           and new connections wait.
  SIGUSR2  restore it for new connections (and those that waited).
  SIGHUP   freeze only the client-to-server direction of every existing
           connection: the server's bytes still arrive, the client's pile
           up until its socket is full (a send that never completes).
  SIGTERM  (or any kill) every connection is cut at once, as by a lost
           path that the peers see as a reset or end-of-stream.
  --idle_drop S  like a NAT: a connection with no byte either way for S
           seconds is forgotten and never moves a byte again.
  --delay_ms MS  every chunk leaves MS milliseconds after it arrived, in
           each direction (the round-trip time added is twice MS). At most
           DELAY_QUEUE_BYTES wait per direction, so a fast sender is still
           held back by TCP's own flow control.
"""
import argparse
import collections
import signal
import socket
import sys
import threading
import time

CHUNK = 256 * 1024
DELAY_QUEUE_BYTES = 64 << 20

passing = threading.Event()
passing.set()


class Flow:
    def __init__(self):
        self.last = time.monotonic()
        self.forgotten = False
        self.upstream_frozen = False


def send(sink, data, flow, upstream):
    """Sends one chunk (None: end-of-stream) unless the path is cut."""
    passing.wait()
    while flow.forgotten or (upstream and flow.upstream_frozen):
        time.sleep(3600)
    if data is None:
        sink.shutdown(socket.SHUT_WR)
        return
    flow.last = time.monotonic()
    sink.sendall(data)


def pump(source, sink, flow, upstream):
    try:
        while True:
            data = source.recv(CHUNK)
            send(sink, data or None, flow, upstream)
            if not data:
                return
    except OSError:
        pass


def delayed_pump(source, sink, flow, upstream, delay):
    """pump, with every chunk held back for `delay` seconds: this thread
    reads and queues, a second one sends each chunk when it is due."""
    queue = collections.deque()
    cond = threading.Condition()
    queued = [0]

    def writer():
        try:
            while True:
                with cond:
                    while not queue:
                        cond.wait()
                    due, data = queue.popleft()
                    queued[0] -= len(data or b"")
                    cond.notify_all()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                send(sink, data, flow, upstream)
                if data is None:
                    return
        except OSError:
            pass

    threading.Thread(target=writer, daemon=True).start()
    try:
        while True:
            data = source.recv(CHUNK)
            with cond:
                while queued[0] > DELAY_QUEUE_BYTES:
                    cond.wait()
                queue.append((time.monotonic() + delay, data or None))
                queued[0] += len(data)
                cond.notify_all()
            if not data:
                return
    except OSError:
        with cond:
            queue.append((time.monotonic(), None))
            cond.notify_all()


def watch_idle(flows, idle):
    while True:
        time.sleep(0.2)
        now = time.monotonic()
        for flow in list(flows):
            if passing.is_set() and now - flow.last > idle:
                flow.forgotten = True


def parse_target(text):
    host, _, port = text.rpartition(":")
    return (host or "127.0.0.1", int(port))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("listen_port", type=int)
    parser.add_argument("target", type=parse_target,
                        help="PORT (on 127.0.0.1) or HOST:PORT")
    parser.add_argument("--idle_drop", type=float, default=0)
    parser.add_argument("--delay_ms", type=float, default=0,
                        help="one-way delay; the RTT added is twice this")
    args = parser.parse_args()
    flows = []

    def cut(*_):
        passing.clear()
        for flow in flows:
            flow.forgotten = True

    signal.signal(signal.SIGUSR1, cut)
    signal.signal(signal.SIGUSR2, lambda *_: passing.set())

    def freeze_upstream(*_):
        for flow in flows:
            flow.upstream_frozen = True

    signal.signal(signal.SIGHUP, freeze_upstream)
    if args.idle_drop:
        threading.Thread(target=watch_idle, args=(flows, args.idle_drop),
                         daemon=True).start()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.listen_port))
    listener.listen(64)
    while True:
        try:
            client, _ = listener.accept()
        except InterruptedError:
            continue
        passing.wait()
        try:
            server = socket.create_connection(args.target)
        except OSError:
            client.close()
            continue
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        flow = Flow()
        flows.append(flow)
        for a, b, upstream in ((client, server, True),
                               (server, client, False)):
            if args.delay_ms > 0:
                target, extra = delayed_pump, (args.delay_ms / 1000.0,)
            else:
                target, extra = pump, ()
            threading.Thread(target=target, args=(a, b, flow, upstream) + extra,
                             daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
