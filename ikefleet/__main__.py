"""The `ikefleet` command and `python -m ikefleet`: the process's entry point.

A Ctrl-C is the operator's at any moment: while the command line's modules load and while the interpreter
exits it ends the process with `interrupted` and 130 (`exit_interrupted`), while a command runs it is the
command's (`ikefleet.cli.main`: KeyboardInterrupt, or a run's own handling, ikefleet/interrupt.py). Only
`signal` and ikefleet.interrupt load before that handler is set, so the window Python's own traceback is
left is the interpreter's start-up.
"""

import signal
import sys

from ikefleet.interrupt import EXIT_INTERRUPTED, exit_interrupted


def run() -> None:
    """Run the command line in this process and exit with its code."""
    signal.signal(signal.SIGINT, exit_interrupted)
    from ikefleet.cli import main

    signal.signal(signal.SIGINT, signal.default_int_handler)  # the command's: its cleanup runs
    try:
        code = main()
    except KeyboardInterrupt:  # a second Ctrl-C while main was reporting the first
        code = EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGINT, exit_interrupted)  # from here on only the interpreter's exit
    sys.exit(code)


if __name__ == "__main__":
    run()
