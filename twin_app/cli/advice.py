"""``twin plant advise`` and ``twin plant confirm``: set-point advice by hand, through the twin's audited path.

``advise`` proposes set-point changes exactly as the twin does (:class:`twin.AdviceChannel`: the
binding's ``advice:`` limits, rates and mode; every step in the event log); ``confirm`` is the
operator's side of ``recommend`` mode: it shows the pending proposal and confirms (or rejects) it.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from twin_app.cli._common import console, print_table


def _binding(path: Path, url: str | None):
    from twin import load_binding
    from workbench.errors import ConfigError

    b = load_binding(path)
    if b.advice is None:
        raise ConfigError("the binding has no advice: section (which set-points the twin may write, limits, "
                          "max_rate, mode); add one, see docs/twin-monitoring.md, 'Advice back to the plant'",
                          source=str(path), path="advice")
    if url:
        b.opcua.url = url
    return b


def _changes(items: list[str], nodes: list[str]) -> dict[str, float]:
    from workbench.errors import ConfigError

    out = {}
    for item in items:
        node, eq, value = item.partition("=")
        try:
            out[node.strip()] = float(value)
        except ValueError:
            eq = ""
        if not eq or not node.strip():
            raise ConfigError(f"--set '{item}': expected NODE=VALUE with a number, e.g. --set {nodes[0]}=72.5",
                              path="--set")
    if not out:
        raise ConfigError(f"give at least one --set NODE=VALUE (writable: {', '.join(nodes)})", path="--set")
    return out


def advise(
    binding: Path = typer.Argument(..., help="Twin binding YAML with an advice: section."),
    set_: list[str] = typer.Option(..., "--set", help="NODE=VALUE (repeatable), in the node's unit."),
    reason: str = typer.Option(..., "--reason", help="Why (goes to the recommendation node and the audit log)."),
    effect: str = typer.Option("", "--effect", help="Predicted effect (audit log, recommendation)."),
    by: str = typer.Option(None, "--by", help="Who proposes (default: advice.by of the binding)."),
    url: str = typer.Option(None, "--url", help="OPC UA endpoint (default: the binding's opcua.url)."),
    log: Path = typer.Option(Path("out/advice"), "--log", help="Event log directory (events.jsonl; a trace store "
                             "works too)."),
    wait: float = typer.Option(0.0, "--wait", help="recommend mode: wall seconds to wait for the operator's "
                               "confirmation (0: propose and return)."),
) -> None:
    """Propose set-point changes through the audited path (limits, rate, mode of the binding).

    Plant time is the server's: the SourceTimestamp of the first set-point. Exit code 1 when
    the proposal was refused, failed, rejected or expired.
    """
    from twin import AdviceChannel, TraceStore

    b = _binding(binding, url)
    nodes = [s.node for s in b.advice.setpoints]
    changes = _changes(set_, nodes)
    store = TraceStore(log, [], [], time_kind="datetime", append=True)
    channel = AdviceChannel.from_binding(b, trace=store)
    try:
        clock_node = next((n for n in changes if n in nodes), nodes[0])

        def now() -> float:
            t = channel.writer.source_time(clock_node)
            return t if t is not None else time.time()

        p = channel.propose(changes, why=reason, predicted_effect=effect, at=now(), by=by)
        deadline = time.monotonic() + wait
        if p.status == "pending":
            console.print(f"proposal {p.id} written to {b.advice.prefix}/…/recommended; an operator confirms with "
                          f"`twin plant confirm {binding} --operator NAME`", highlight=False)
        while p.status == "pending" and time.monotonic() < deadline:
            time.sleep(0.5)
            channel.poll_confirmations(now())
    finally:
        channel.close()
    print_table([{"node": n, "value": v, "previous": p.previous.get(n, float("nan")),
                  "written": "yes" if n in p.written else "no"} for n, v in p.changes.items()],
                title=f"proposal {p.id} ({b.advice.mode}): {p.status}")
    if p.message:
        console.print(p.message, highlight=False, soft_wrap=True)
    console.print(f"audit: {Path(log) / 'events.jsonl'}", highlight=False)
    if p.status not in ("written", "pending"):
        raise typer.Exit(1)


def confirm(
    binding: Path = typer.Argument(..., help="Twin binding YAML with an advice: section."),
    operator: str = typer.Option(..., "--operator", help="Who confirms (recorded in the audit log)."),
    reject: bool = typer.Option(False, "--reject", help="Reject the pending proposal instead."),
    url: str = typer.Option(None, "--url", help="OPC UA endpoint (default: the binding's opcua.url)."),
    wait: float = typer.Option(0.0, "--wait", help="Wall seconds to wait for a proposal (0: confirm the pending "
                               "one or say there is none)."),
) -> None:
    """The operator's side of recommend mode: show the pending proposal and confirm (or reject) it.

    Writes ``"<proposal id> <operator>"`` to the confirm node; the twin checks limits and rate
    again and writes the set-points (both steps in its audit log).
    """
    from twin import confirm_proposal

    b = _binding(binding, url)
    o = b.opcua
    console.print(f"waiting for a proposal on {o.url} ({b.advice.prefix}/proposal)" if wait else
                  f"reading the pending proposal on {o.url}", highlight=False)
    pid, rows = confirm_proposal(b, operator, reject=reject, wait=wait)
    print_table(rows, title=f"proposal {pid}")
    console.print(f"{'rejected' if reject else 'confirmed'} proposal {pid} as {' '.join(operator.split())}",
                  highlight=False)
