#!/usr/bin/env python3
"""trap.py: a witness that nothing was contacted. Inside a private network
namespace (spec/helpers/netns.lua) the addresses a test must never reach are
put on the loopback interface; this listens on every address for the ports
those destinations use (TCP) and for DNS (UDP and TCP 53), and appends one
line per connection or datagram to LOG. A test then requires LOG to be empty.

    trap.py LOG PORT[,PORT...] --parent-pid PID

Prints "TRAP READY" once every socket is bound; exits when PID is gone.
"""
import os
import socket
import sys
import threading
import time

LOCK = threading.Lock()


def record(log, what):
    with LOCK:
        with open(log, "a") as f:
            f.write(what + "\n")


def tcp(log, family, host, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    s.listen(16)

    def serve():
        while True:
            c, peer = s.accept()
            local = c.getsockname()
            record(log, "tcp %s:%d from %s" % (local[0], local[1], peer[0]))
            c.close()
    threading.Thread(target=serve, daemon=True).start()


def udp(log, family, host, port):
    s = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))

    def serve():
        while True:
            data, peer = s.recvfrom(65535)
            record(log, "udp %d bytes to port %d from %s" % (len(data), port, peer[0]))
    threading.Thread(target=serve, daemon=True).start()


def main():
    log = sys.argv[1]
    ports = [int(p) for p in sys.argv[2].split(",")]
    parent = int(sys.argv[sys.argv.index("--parent-pid") + 1]) if "--parent-pid" in sys.argv else None
    for fam, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        for p in ports + [53]:
            tcp(log, fam, host, p)
        udp(log, fam, host, 53)
    sys.stdout.write("TRAP READY\n")
    sys.stdout.flush()
    # Until the Lua process that started it is gone.
    while parent is None or os.path.exists("/proc/%d" % parent):
        time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
