"""The local sandbox behind ``make demo``: the whole chain as it runs in a cluster, on one machine.

    python -m hack.sandbox [--driver XE|FAKE] [--dir .sandbox] [--once]

Starts the Kubernetes API emulator, the IOS-XE simulator, and the host runner (a node that runs
the controller and cisco-vk pods as processes); installs the CRD, RBAC and the controller from
deploy/; applies a Secret and a CiscoDevice; waits for the cisco-vk pod, the Ready node and the
Ready CiscoDevice; runs a demo pod on the simulated switch and shows ``kubectl get`` and
``kubectl logs``. Every step is printed. Without --once (or DEMO_ONCE=1) the sandbox stays up until
Ctrl-C and prints the KUBECONFIG to use; with it, the exit code is 0 only if every step succeeded.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from hack.sandbox.steps import Sandbox, StepFailed


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m hack.sandbox", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--driver", choices=["XE", "FAKE"], default=os.environ.get("DEMO_DRIVER", "XE"))
    ap.add_argument("--dir", default=".sandbox", help="working folder (kubeconfig, logs, state)")
    ap.add_argument("--once", action="store_true", default=os.environ.get("DEMO_ONCE") == "1",
                    help="exit after the scenario (also DEMO_ONCE=1); exit code 0 only if all steps passed")
    args = ap.parse_args()
    sandbox = Sandbox(Path(args.dir).resolve(), driver=args.driver)
    code = 0
    try:
        sandbox.run_scenario()
        print(f"\nAll steps passed. export KUBECONFIG={sandbox.kubeconfig}")
    except StepFailed as err:
        print(f"\nFAILED: {err}\nlogs: {sandbox.dir / 'logs'}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    try:
        if not args.once and code == 0:
            print("The sandbox stays up; try:\n"
                  f"  export KUBECONFIG={sandbox.kubeconfig}\n"
                  "  kubectl get ciscodevices,nodes,pods -A -o wide\n"
                  "Press Ctrl-C to stop.")
            signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
