"""CPU cost of live monitoring: sampler thread + offscreen live panel at default rates.

Runs each scenario for a while with the panel shown (offscreen), its history
pre-filled with 15 minutes of samples so the plots draw a full window, and
reports process CPU time (all threads) as % of one core. Budget (issue 12): under 1 %.

    python benchmarks/monitor_cost.py [--seconds 12]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets  # noqa: E402  (Qt before pyqtgraph, via the panel)

from gpuplanner.monitor import (  # noqa: E402
    FallbackSource,
    GpuSource,
    NvmlSource,
    Sampler,
    SamplerBatch,
    SamplerRates,
    SystemSource,
)
from gpuplanner.monitor.synthetic import SyntheticSource  # noqa: E402
from gpuplanner.ui.live.panel import LivePanel  # noqa: E402


class PrefilledSampler(Sampler):
    """A default-rate sampler whose first drain also delivers 15 minutes of past samples."""

    def __init__(self, source: GpuSource, past: SyntheticSource | None) -> None:
        super().__init__(source, SamplerRates())
        self._past = past

    def drain(self) -> SamplerBatch:
        batch = super().drain()
        if self._past is None or not batch.devices:
            return batch
        past, self._past = self._past, None
        rates = self.rates
        now_s = time.time()
        stamps = [now_s - rates.history_s + i * rates.usage_interval_s for i in range(rates.usage_capacity)]
        uuids = [d.uuid for d in batch.devices]
        usage = tuple(past.read_usage(u, t) for t in stamps for u in uuids)
        sensors = tuple(past.read_sensors(u, t) for t in stamps[::2] for u in uuids)
        return SamplerBatch(batch.status, batch.devices, usage + batch.usage, sensors + batch.sensors, batch.processes)


def run(app: QtWidgets.QApplication, name: str, sampler: Sampler, seconds: float) -> float:
    panel = LivePanel(sampler)
    print(f"{name}: panel redraws every {panel.drain_interval_ms} ms")
    panel.resize(1000, 800)
    panel.show()
    # start-up, the pre-filled first drain and its first paint are not steady state: wait past them
    warmup_end = time.monotonic() + 2.0 + 2 * panel.drain_interval_ms / 1000
    while time.monotonic() < warmup_end:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    cpu_start_s, wall_start_s = time.process_time(), time.monotonic()
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    cpu_s, wall_s = time.process_time() - cpu_start_s, time.monotonic() - wall_start_s
    panel.stop()
    panel.close()
    panel.deleteLater()  # destroyed now, while Qt is fully alive, not at interpreter exit
    app.processEvents()
    percent = 100.0 * cpu_s / wall_s
    print(f"{name:<44} {percent:5.2f} % of one core ({cpu_s:.2f} s CPU in {wall_s:.1f} s)")
    return percent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="measured time per scenario")
    args = parser.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    print(f"default rates: {SamplerRates()}; {os.cpu_count()} CPUs")
    scenarios = {
        "idle event loop, no panel (baseline)": None,
        "no GPU: NVML fails → psutil CPU/RAM": PrefilledSampler(
            FallbackSource(NvmlSource(), SystemSource(), "CPU/RAM"), SyntheticSource()
        ),
        "synthetic GPU (4 plots, 10 curves)": PrefilledSampler(SyntheticSource(), SyntheticSource()),
    }
    worst = 0.0
    for name, sampler in scenarios.items():
        if sampler is None:
            start_cpu_s, start_wall_s = time.process_time(), time.monotonic()
            loop = QtCore.QEventLoop()
            QtCore.QTimer.singleShot(2000, loop.quit)
            loop.exec()
            idle = 100 * (time.process_time() - start_cpu_s) / (time.monotonic() - start_wall_s)
            print(f"{name:<44} {idle:5.2f} % of one core")
            continue
        worst = max(worst, run(app, name, sampler, args.seconds))
    print(f"worst case: {worst:.2f} % of one core (budget < 1 %)")
    return 0 if worst < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
