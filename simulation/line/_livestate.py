"""Starting a line model from a live state, and taking the live state of a running model."""

from __future__ import annotations

from typing import Any

from simulation.line._parts import Item, Server, StationRuntime
from simulation.line._snapshot import LineSnapshot, ServerSnapshot
from simulation.line.config import EXIT
from workbench.errors import SimulationError, did_you_mean

__all__ = ["LiveState"]


class LiveState:
    """Mixin of :class:`~simulation.line.LineModel`: snapshot loading, resuming and taking."""

    def _load_buffers(self, snap: LineSnapshot) -> None:
        for name, content in snap.buffers.items():
            if name not in self.stations:
                raise SimulationError(f"snapshot: buffer of unknown station '{name}'; "
                                      f"{did_you_mean(name, self.stations)}")
            st = self.stations[name]
            entries = content if isinstance(content, list) else [None] * 0
            if isinstance(content, int):
                items = [(self.products[0], 0.0)] * content
            else:
                items = [(e.product or self.products[0], e.age) for e in entries for _ in range(e.count)]
            if len(items) > st.store.capacity:
                raise SimulationError(
                    f"snapshot: buffer of '{name}' holds {len(items)} items, more than its capacity "
                    f"{st.store.capacity:g}"
                )
            for product, age in items:
                self._check_product(product, f"buffers.{name}")
                st.store.items.append(self._new_item(product, self.start - age))
                self._wip_add(1)

    def _check_product(self, product: str, where: str) -> None:
        if product not in self.products:
            raise SimulationError(f"snapshot {where}: unknown product '{product}'; "
                                  f"{did_you_mean(product, self.products)}")

    def _resume(self, st: StationRuntime, srv: Server, init: ServerSnapshot):
        """Finish what the machine was doing when the snapshot was taken."""
        product = init.product or (self.products[0] if init.state in ("busy", "blocked", "down") else None)
        batch: list[Item] = []
        if product is not None and init.state != "maintenance":
            self._check_product(product, f"stations.{st.name}")
            for _ in range(init.items):
                batch.append(self._new_item(product, self.start - init.age))
                self._wip_add(1)
            srv.last_product = product
        if init.last_product is not None:
            srv.last_product = init.last_product
        if init.state == "maintenance":
            if st.cfg.maintenance is None:
                raise SimulationError(f"snapshot: station '{st.name}' has no maintenance configured")
            yield from self.maintenance(st, srv, init.repair_remaining)
            return
        if init.state == "down":
            if not st.cfg.failures:
                raise SimulationError(f"snapshot: station '{st.name}' is down but has no failure modes")
            yield from self.repair(st, srv, 0, init.repair_remaining)
        if init.state in ("busy", "down") and batch:
            if init.remaining is not None:
                work = init.remaining
            else:
                full = st.process[product].draw() if st.unit is None else \
                    self._unit_outcome(st, batch)[0]
                work = full * (1.0 - (init.progress or 0.0))
            yield from self._work(st, srv, work, "busy")
        srv.batch = batch
        if batch and init.state == "blocked":  # already processed and inspected: move on
            for i, item in enumerate(batch):
                srv.batch = batch[i:]
                target = self._route(st)
                if target == EXIT:
                    self._exit(item, good=True)
                    continue
                req = self.stations[target].store.put(item)
                if not req.triggered:
                    srv.set("blocked")
                    yield req
            srv.batch = []
        elif batch:
            yield from self._finish(st, srv, batch, None)

    # ------------------------------------------------------------------ live state
    def snapshot(self) -> LineSnapshot:
        """The state of the line now, to start another model from it (e.g. a forecast).

        Work left on a busy machine is exact; a repair or maintenance that is still
        waiting for a crew member gets a freshly sampled duration when resumed, and a
        changeover in progress is restarted.
        """
        now = self.env.now
        buffers = {
            name: [{"product": it.product, "age": now - it.t_in} for it in st.store.items]
            for name, st in self.stations.items() if st.store.items
        }
        stations: dict[str, list[dict]] = {}
        for name, st in self.stations.items():
            rows = []
            for srv in st.servers:
                row: dict[str, Any] = {"last_product": srv.last_product}
                held = srv.batch
                if held:
                    row.update(product=held[0].product, items=len(held), age=now - min(i.t_in for i in held))
                left = None
                if srv.logical == "busy" and held:
                    left = max(srv.work_left - (now - srv.seg_start), 0.0) if srv.in_work else srv.work_left
                stop = max(srv.stop_end - now, 0.0) if srv.stop_end is not None else None
                if srv.down:
                    row.update(state="down", repair_remaining=stop)
                    if held and srv.logical != "blocked":
                        row["remaining"] = left if left is not None else srv.work_left
                    elif held:
                        row["state"] = "blocked"
                elif srv.logical == "maintenance":
                    row.update(state="maintenance", repair_remaining=stop)
                elif srv.logical == "blocked" and held:
                    row["state"] = "blocked"
                elif held and srv.logical in ("busy", "changeover", "off_shift"):
                    row["state"] = "busy"
                    if left is not None:
                        row["remaining"] = left
                    elif srv.logical == "off_shift":
                        row["remaining"] = srv.work_left
                else:
                    row["state"] = "idle"
                rows.append(row)
            stations[name] = rows
        return LineSnapshot.model_validate({"time": now, "buffers": buffers, "stations": stations})
