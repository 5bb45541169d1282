#!/usr/bin/env python3
"""Run one shell command on a pseudo-terminal, as a user at a terminal runs it.

    readme_pty.py [--cwd DIR] [--cols N] [--rows N] [--timeout S] [--interrupt-after TEXT] -- COMMAND

The command runs as `sh -c COMMAND` in DIR (default: the current directory) with this
process's environment, its stdin, stdout and stderr all the slave side of a new
pseudo-terminal (COLS x ROWS, the child's controlling terminal), so programs
see a terminal exactly as in an interactive session: isatty is true, the width
is the terminal's, stdout and stderr interleave in the order they were written.

Everything the terminal received is copied to this process's stdout, raw (ANSI
sequences and CR included). --interrupt-after TEXT types Ctrl-C (the byte 0x03)
into the terminal once a whole line holding TEXT has appeared in the output: the line discipline
sends SIGINT to the foreground process group and echoes "^C", as when a user
presses it. The exit status is the command's (128 + N when a signal N ended it);
after --timeout seconds (default 120) the command's process group is killed and
the status is 124 with a line on stderr.
"""
import argparse
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cwd", default=None)
    ap.add_argument("--cols", type=int, default=118)
    ap.add_argument("--rows", type=int, default=60)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--interrupt-after", default=None)
    ap.add_argument("command")
    a = ap.parse_args()

    pid, master = pty.fork()
    if pid == 0:
        # The child: its terminal gets the size before anything runs in it.
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", a.rows, a.cols, 0, 0))
        if a.cwd:
            os.chdir(a.cwd)
        os.execv("/bin/sh", ["sh", "-c", a.command])

    out = bytearray()
    needle = a.interrupt_after.encode() if a.interrupt_after else None
    interrupted = False
    deadline = time.monotonic() + a.timeout
    status = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.stdout.buffer.write(bytes(out))
            sys.stderr.write("readme_pty: the command did not finish within %gs\n" % a.timeout)
            return 124
        ready, _, _ = select.select([master], [], [], min(left, 0.2))
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every holder of the slave side has closed it
                chunk = b""
            if not chunk:
                break
            out += chunk
            # The needle's line must be complete (its newline read): typing Ctrl-C
            # flushes the terminal's output queue, so a newline still queued would
            # be lost and the next line would overwrite this one (regression: the
            # README's "update InProgress" line vanished once under load).
            seen = ANSI.sub(b"", bytes(out)) if needle and not interrupted else b""
            at = seen.find(needle) if seen else -1
            if at >= 0 and b"\n" in seen[at:]:
                os.write(master, b"\x03")
                interrupted = True
        elif status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
        else:
            break  # the command has ended and a quiet background child holds the terminal
    if status is None:
        _, status = os.waitpid(pid, 0)
    os.close(master)
    sys.stdout.buffer.write(bytes(out))
    sys.stdout.flush()
    if needle and not interrupted:
        sys.stderr.write("readme_pty: %r never appeared, so no Ctrl-C was typed\n" % a.interrupt_after)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
