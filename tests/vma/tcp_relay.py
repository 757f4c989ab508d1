#!/usr/bin/env python3
"""A TCP relay for tests and benchmarks: listens on 127.0.0.1:PORT and
forwards each connection to TARGET, optionally holding data back for a
delay in each direction (a WAN's round-trip time, where netem is not
available). Killing it cuts every connection at once, like a lost path.

  tcp_relay.py --listen 10900 --target 127.0.0.1:10809 [--delay_ms 10]
"""
import argparse
import collections
import socket
import threading
import time


def pump(src, dst, delay):
    """Copies src to dst; with a delay, every chunk leaves `delay` seconds
    after it arrived (a reader thread and a writer thread per direction)."""
    if delay <= 0:
        try:
            while True:
                data = src.recv(1 << 20)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        return

    queue = collections.deque()
    ready = threading.Condition()

    def writer():
        try:
            while True:
                with ready:
                    while not queue:
                        ready.wait()
                    due, data = queue.popleft()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if data is None:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        while True:
            data = src.recv(1 << 20)
            with ready:
                queue.append((time.monotonic() + delay, data or None))
                ready.notify()
            if not data:
                break
    except OSError:
        with ready:
            queue.append((time.monotonic(), None))
            ready.notify()


def serve(client, target, delay):
    host, port = target.rsplit(":", 1)
    try:
        upstream = socket.create_connection((host, int(port)))
    except OSError:
        client.close()
        return
    for s in (client, upstream):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=pump, args=(client, upstream, delay),
                     daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client, delay),
                     daemon=True).start()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--delay_ms", type=float, default=0,
                        help="one-way delay; the RTT added is twice this")
    args = parser.parse_args()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.listen))
    listener.listen(64)
    while True:
        client, _ = listener.accept()
        serve(client, args.target, args.delay_ms / 1000.0)


if __name__ == "__main__":
    main()
