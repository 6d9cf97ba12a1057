"""``python -m twin.emulator SCENARIO [--endpoint URL] [--speed X] [--anchor EPOCH] [--seed N] [security]``.

Security options as ``twin plant serve``: ``--security-policy`` (repeatable),
``--certificate``, ``--private-key``, ``--user`` with ``--password-env`` or ``--password-file``.

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
    parser.add_argument("--security-policy", action="append", default=None)
    parser.add_argument("--certificate", default=None)
    parser.add_argument("--private-key", default=None)
    parser.add_argument("--user", default=None)
    parser.add_argument("--password-env", default=None)
    parser.add_argument("--password-file", default=None)
    args = parser.parse_args(argv)
    from twin.emulator import PlantServer, ServerSecurity, load_plant_scenario
    from workbench.errors import WorkbenchError

    try:
        security = ServerSecurity.from_options(
            args.security_policy, certificate=args.certificate, private_key=args.private_key,
            user=args.user, password_env=args.password_env, password_file=args.password_file)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    scenario = load_plant_scenario(args.scenario)
    server = PlantServer(scenario, endpoint=args.endpoint, speed=args.speed, anchor=args.anchor, seed=args.seed,
                         security=security)
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
