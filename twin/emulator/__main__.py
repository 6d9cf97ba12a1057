"""``python -m twin.emulator SCENARIO [--port N] [--speed X] [--anchor EPOCH] [--seed N]``.

The same server as ``twin plant serve`` without the CLI's imports (used by tests
that kill and restart the emulator process).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twin.emulator", description=__doc__)
    parser.add_argument("scenario")
    parser.add_argument("--endpoint", default=None)
    parser.add_argument("--speed", type=float, default=None)
    parser.add_argument("--anchor", type=float, default=None)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    from twin.emulator import PlantServer, load_plant_scenario

    scenario = load_plant_scenario(args.scenario)
    server = PlantServer(scenario, endpoint=args.endpoint, speed=args.speed, anchor=args.anchor, seed=args.seed)
    print(f"serving {scenario.name} at {server.endpoint}", flush=True)
    try:
        server.run(on_ready=lambda s: print(f"anchor {s.anchor!r} (resume this plant run with --anchor {s.anchor!r})",
                                            flush=True))
    except KeyboardInterrupt:
        pass
    print(f"published {server.samples_published} samples", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
