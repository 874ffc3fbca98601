"""Tools → Update prices in the window: the download runs on a worker thread, the plan is re-priced,
the user's own catalog still wins, and a failed download changes nothing and says why."""
from __future__ import annotations

import threading

from gpuplanner.ui.main_window import Services


def test_update_prices_reprices_the_plan_off_the_gui_thread(make_window, server, data_dir, tmp_path, monkeypatch):
    from gpuplanner.core import price_update
    threads = []
    real = price_update.update_prices

    def spy(**kwargs):
        threads.append(threading.current_thread())
        return real(**kwargs)
    monkeypatch.setattr(price_update, "update_prices", spy)
    mine = tmp_path / "negotiated.csv"
    mine.write_text("cloud,instance_type,gpu,gpu_count,price_usd_per_hour\naws,gpu_8x_h100_sxm5,H100,8,25.0\n")
    window = make_window(Services(price_source=f"{server}/good"))
    window.sources.load_user_catalog(str(mine))
    assert "undated" in window.as_of_label.text()  # the bundled snapshot has no date
    # what to do comes first: the sources' list after it is longer than the status bar
    assert window.as_of_label.text().split(" — ")[0].startswith("⚠ ") and "Update prices" in window.as_of_label.text()
    stale_before = window.as_of_label.text()
    assert window.sources.update_prices()
    assert threads and threads[0] is not threading.main_thread()
    instances = window.state.catalogs.instances
    assert instances["p5.48xlarge"].price_usd_per_hour == 50.0
    assert instances["gpu_8x_h100_sxm5"].price_usd_per_hour == 25.0  # the user's file is re-read and wins
    assert "(SkyPilot catalog download)" in window.as_of_label.text() and window.as_of_label.text() != stale_before
    assert "refreshed" in window.statusBar().currentMessage()
    window.update_prices_action.trigger()  # the menu path works the same
    assert window.state.catalogs.instances["p5.48xlarge"].price_usd_per_hour == 50.0


def test_a_failed_update_is_reported_and_changes_nothing(make_window, server, data_dir, dialogs):
    window = make_window(Services(price_source=f"{server}/missing"))
    before = window.state.catalogs
    assert not window.sources.update_prices()
    assert window.state.catalogs is before
    assert dialogs.errors and dialogs.errors[-1][0] == "Prices not updated" and "HTTP 404" in dialogs.errors[-1][1]


def test_the_catalog_dialog_shows_network_and_rack_scale_nvlink_domains(catalogs):
    from gpuplanner.ui.catalog_dialog import TABLES, instance_rows
    headers = TABLES[1][1]
    rows = {row[1]: dict(zip(headers, row)) for row in instance_rows(catalogs)}
    assert rows["a4x-highgpu-4g"]["NVLink domain"][0] == "72" and rows["p5.48xlarge"]["NVLink domain"][0] == ""
    assert rows["p5.48xlarge"]["Network (Gb/s)"][0] == "3,200"
    assert rows["gpu_8x_h100_sxm5"]["Network (Gb/s)"][0] == ""  # not published: blank, not zero
