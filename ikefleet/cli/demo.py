"""`ikefleet demo`: the README's main job: lab up (hub + 5 branches), rollout, verify, summary, lab down."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console

EXIT_OK, EXIT_FAILED = 0, 1
# A first look should take seconds: the lab's routers make their keys at 1/100 of a real router's time
# (`ikefleet lab up` defaults to real time), and the demo says so.
DEMO_TIME_SCALE = 0.01


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "demo",
        help="start the built-in lab, roll the VPN out, verify it, print the summary, stop the lab",
        description="The whole main job against the built-in lab: a hub and simulated branch routers served "
        "over real SSH on loopback, a rollout (PKI, IKEv2, EoIP, OSPF) and a verification of every tunnel.",
    )
    p.add_argument("--branches", type=int, default=5, help="branch routers in the lab (%(default)s)")
    p.add_argument("--dir", type=Path, help="lab directory to keep (default: a temporary one, removed after)")
    p.add_argument("--time-scale", type=float, default=DEMO_TIME_SCALE, metavar="FRACTION",
                   help="the lab's key generation takes this fraction of a real router's time "
                   "(%(default)s; 1 = real: about 80 s per 4096-bit key on the lab's model)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ikefleet.cli.lines import Lines
    from ikefleet.cli.rollout import print_summary
    from ikefleet.lab.manager import Lab
    from ikefleet.reports.console import print_report
    from ikefleet.runbooks.rollout import Rollout, RolloutOptions
    from ikefleet.runbooks.verify import Verify, VerifyOptions

    console = Console()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="ikefleet-demo-"))
    started = time.monotonic()
    try:
        with Lab.start(directory, branches=args.branches, time_scale=args.time_scale) as lab:
            console.print(f"lab: hub + {args.branches} branches in {lab.directory}; key generation at "
                          f"{args.time_scale:g} of a real router's time (--time-scale)", markup=False)
            config = lab.directory / "config.yaml"
            summary = Rollout(
                RolloutOptions(config=config),
                progress=Lines(lambda line: console.print(f"  {line}", markup=False, highlight=False)),
            ).run()
            print_summary(summary, console)
            lab.settle()
            report = Verify(VerifyOptions(config=config)).run()
            print_report(report, console)
    finally:
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    ok = not summary.failed and report.compliant
    console.print(
        f"demo {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.0f}s: rollout "
        f"{len(summary.hosts) - len(summary.failed)}/{len(summary.hosts)} hosts, verification "
        f"{'compliant' if report.compliant else 'not compliant'}; lab stopped",
        markup=False,
    )
    return EXIT_OK if ok else EXIT_FAILED
