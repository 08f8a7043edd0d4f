"""Show or flip the fault switches of a FAKE device from a shell:

    python -m cvk.driver.fake STATE_FILE                       # print the faults
    python -m cvk.driver.fake STATE_FILE unreachable=true latencySeconds=1.5

Safe while cisco-vk runs: the change is written under the state file's lock and picked up within
a fraction of a second.
"""

from __future__ import annotations

import argparse
import json
import sys

from cvk.driver.fake.faults import Faults
from cvk.driver.fake.store import StateError, StateStore


def _parse(assignments: list[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r}: write KEY=VALUE, e.g. unreachable=true")
        try:
            values[key] = json.loads(raw.lower() if raw.lower() in ("true", "false") else raw)
        except json.JSONDecodeError:
            raise ValueError(f"{item!r}: the value must be true, false or a number") from None
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cvk.driver.fake", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("state_file", help="the FAKE device's state file (fake.stateFile)")
    parser.add_argument("faults", nargs="*", metavar="KEY=VALUE",
                        help="unreachable, authFailure, failInstalls, busy (true/false), latencySeconds (number)")
    args = parser.parse_args(argv)
    store = StateStore(args.state_file)
    try:
        changes = _parse(args.faults)
        with store.locked():
            doc = store.read() or {"version": 1, "pods": []}
            faults = Faults.from_dict({**Faults.from_dict(doc.get("faults")).to_dict(), **changes})
            if changes:
                doc["faults"] = faults.to_dict()
                store._write(doc)
    except (ValueError, StateError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(faults.to_dict(), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
