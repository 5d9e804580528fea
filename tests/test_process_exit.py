"""The `ikefleet` process ends without the interpreter's teardown (ikefleet/__main__.py `exit_now`: freeing a
run's objects one by one costs a 200-branch verify 0.05-0.1 s), but still pays what an exit owes the outside:
atexit hooks, the standard streams flushed, a non-daemon thread waited for, the command's exit code."""

from __future__ import annotations

import subprocess
import sys

# A command (standing in for ikefleet.cli.main) that leaves buffered output, an atexit hook and an object
# whose finalizer runs only in the interpreter's teardown; THREAD adds a non-daemon thread still working.
PROGRAM = """
import atexit, sys, threading, time
import ikefleet.cli
from ikefleet.__main__ import run

class Leftover:
    def __del__(self):
        sys.stderr.write("teardown\\n")

def command():
    global kept
    kept = Leftover()
    sys.stdout.write("report line\\n")  # a pipe: block-buffered, not yet written
    atexit.register(lambda: sys.stderr.write("atexit hook\\n"))
    if THREAD:
        threading.Thread(target=lambda: (time.sleep(0.3), sys.stderr.write("thread done\\n"))).start()
    return 3

ikefleet.cli.main = command
run()
"""


def _run(thread: bool) -> subprocess.CompletedProcess[str]:
    code = f"THREAD = {thread}\n{PROGRAM}"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_the_process_exits_with_its_code_output_and_hooks_but_no_teardown() -> None:
    done = _run(thread=False)
    assert done.returncode == 3
    assert done.stdout == "report line\n"
    assert done.stderr == "atexit hook\n"  # no "teardown": the objects were not freed one by one


def test_a_thread_still_running_is_waited_for() -> None:
    done = _run(thread=True)
    assert done.returncode == 3
    assert done.stdout == "report line\n"
    assert "thread done\n" in done.stderr and "atexit hook\n" in done.stderr
