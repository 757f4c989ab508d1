#!/usr/bin/env python3
"""A TCP relay the tunnel tests control: a network path they can cut.

  tcp_relay.py LISTEN_PORT TARGET_PORT [--idle_drop SECONDS]

Relays 127.0.0.1:LISTEN_PORT to 127.0.0.1:TARGET_PORT.
  SIGUSR1  cut the path: every existing connection freezes for good (no
           byte moves either way, nothing is closed or reset, as when
           packets are dropped and the peers give up before it returns),
           and new connections wait.
  SIGUSR2  restore it for new connections (and those that waited).
  SIGHUP   freeze only the client-to-server direction of every existing
           connection: the server's bytes still arrive, the client's pile
           up until its socket is full (a send that never completes).
  --idle_drop S  like a NAT: a connection with no byte either way for S
           seconds is forgotten and never moves a byte again.
"""
import argparse
import signal
import socket
import sys
import threading
import time

passing = threading.Event()
passing.set()


class Flow:
    def __init__(self):
        self.last = time.monotonic()
        self.forgotten = False
        self.upstream_frozen = False


def pump(source, sink, flow, upstream):
    try:
        while True:
            data = source.recv(256 * 1024)
            passing.wait()
            while flow.forgotten or (upstream and flow.upstream_frozen):
                time.sleep(3600)
            if not data:
                sink.shutdown(socket.SHUT_WR)
                return
            flow.last = time.monotonic()
            sink.sendall(data)
    except OSError:
        pass


def watch_idle(flows, idle):
    while True:
        time.sleep(0.2)
        now = time.monotonic()
        for flow in list(flows):
            if passing.is_set() and now - flow.last > idle:
                flow.forgotten = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("listen_port", type=int)
    parser.add_argument("target_port", type=int)
    parser.add_argument("--idle_drop", type=float, default=0)
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
            server = socket.create_connection(("127.0.0.1", args.target_port))
        except OSError:
            client.close()
            continue
        flow = Flow()
        flows.append(flow)
        for a, b, upstream in ((client, server, True),
                               (server, client, False)):
            threading.Thread(target=pump, args=(a, b, flow, upstream),
                             daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
