#!/usr/bin/env python3
"""Records what a terminal program draws: runs it in a pseudo-terminal of a fixed size and saves
the bytes it wrote up to the moment it creates READY_FILE (plus a short settle time), so the
recording ends on the screen the program meant to show, before it restores the terminal.

usage: capture_tui.py COLS ROWS READY_FILE OUT_FILE TIMEOUT_S -- PROGRAM [ARGS...]
"""
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time


def main() -> int:
    cols, rows, ready, out, timeout = sys.argv[1:6]
    if sys.argv[6] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    argv = sys.argv[7:]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="xterm-256color", COLORTERM="truecolor")
        os.execvp(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", int(rows), int(cols), 0, 0))
    os.kill(pid, signal.SIGWINCH)
    recorded = bytearray()
    deadline = time.monotonic() + float(timeout)
    ready_at = None
    while time.monotonic() < deadline:
        if ready_at is None and os.path.exists(ready):
            ready_at = time.monotonic()
        if ready_at is not None and time.monotonic() - ready_at > 0.5:
            break
        readable, _, _ = select.select([fd], [], [], 0.05)
        if readable:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the program exited
                break
            if not chunk:
                break
            recorded += chunk
            # Answer the terminal queries a real terminal would, or the program waits for them.
            if b"\x1b[6n" in chunk:
                os.write(fd, b"\x1b[1;1R")
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    if ready_at is None:
        print(f"capture_tui: {argv[0]} never created {ready} within {timeout} s", file=sys.stderr)
        return 1
    with open(out, "wb") as f:
        f.write(recorded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
