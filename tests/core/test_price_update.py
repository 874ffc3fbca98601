"""`catalog update`: SkyPilot-format price files served on the loopback address, the good case
and every way a download goes wrong (which must leave the prices in use untouched)."""
import datetime as dt
import math

import pytest

from gpuplanner.cli import main
from gpuplanner.core import load_catalogs
from gpuplanner.core.price_age import stale_prices, staleness_warning
from gpuplanner.core.price_update import PriceUpdateError, update_prices
from gpuplanner.core.resource_files import updated_prices_path

TODAY = dt.date(2026, 11, 29)


def test_update_lays_fresh_prices_over_the_bundled_ones(server, data_dir):
    bundled = load_catalogs()
    summary = update_prices(f"{server}/good", today=TODAY)
    assert summary.path == updated_prices_path() and summary.path.parent == data_dir
    fresh = load_catalogs()
    p5 = fresh.instances["p5.48xlarge"]
    assert p5.price_usd_per_hour == 50.0 and p5.price_usd_per_hour != bundled.instances["p5.48xlarge"].price_usd_per_hour
    assert p5.spot_price_usd_per_hour == 18.5  # cheapest us-east-1 zone; not the Local Zone, not us-west-2
    assert p5.as_of.startswith("2026-11-29") and "skypilot" in p5.source.lower()
    assert p5.network_bytes_per_s == bundled.instances["p5.48xlarge"].network_bytes_per_s  # kept from the snapshot
    a3 = fresh.instances["a3-highgpu-8g"]
    assert (a3.price_usd_per_hour, a3.spot_price_usd_per_hour, a3.region) == (89.0, 33.0, "us-east4")  # host + GPU
    ultra = fresh.instances["a2-ultragpu-8g"]
    assert math.isnan(ultra.price_usd_per_hour) and "below its spot" in ultra.notes  # not a list price
    assert fresh.instances["gpu_8x_h100_sxm5"].price_usd_per_hour == 30.0
    nd = fresh.instances["Standard_ND96isr_H100_v5"]
    assert nd.price_usd_per_hour == 98.32 and nd.gpu_count == 8  # the bundled row's GPU count, not the catalog's 12
    assert math.isnan(nd.spot_price_usd_per_hour) and "spot equals" in nd.notes  # no spot market, not a spot price
    added = fresh.instances["g6e.2xlarge"]
    assert (added.gpu, added.gpu_count, added.price_usd_per_hour) == ("L40S", 1, 2.24208)
    assert "m5.large" not in fresh.instances  # no GPU
    assert "g4dn.xlarge" in summary.kept and fresh.instances["g4dn.xlarge"] == bundled.instances["g4dn.xlarge"]
    assert summary.added + summary.refreshed == 6 and "2026-11-29" in summary.text()  # 6 GPU types served


@pytest.mark.parametrize("case,reason", [
    ("missing", "HTTP 404"),
    ("short", "incomplete"),
    ("malformed", "lacks the column"),
    ("cut", "truncated or malformed"),
])
def test_a_bad_download_leaves_the_prices_in_use_untouched(server, data_dir, case, reason):
    update_prices(f"{server}/good", today=TODAY - dt.timedelta(days=1))
    before = updated_prices_path().read_bytes()
    with pytest.raises(PriceUpdateError, match=reason) as info:
        update_prices(f"{server}/{case}", today=TODAY)
    assert "nothing was changed" in str(info.value)
    assert updated_prices_path().read_bytes() == before
    assert sorted(p.name for p in data_dir.iterdir()) == ["instance_prices.csv"]  # no temporary left behind


def test_no_server_and_no_download_at_all(data_dir):
    with pytest.raises(PriceUpdateError, match="cannot reach"):
        update_prices("http://127.0.0.1:9", today=TODAY)  # the discard port: nothing listens
    with pytest.raises(PriceUpdateError, match="not an http"):
        update_prices("file:///etc", today=TODAY)
    assert not updated_prices_path().exists()


def test_a_cancelled_update_writes_nothing(server, data_dir):
    with pytest.raises(PriceUpdateError, match="cancelled"):
        update_prices(f"{server}/good", today=TODAY, cancelled=lambda: True)
    assert not updated_prices_path().exists()


def test_an_unreadable_update_file_falls_back_to_the_snapshot_and_says_why(data_dir):
    data_dir.mkdir()
    updated_prices_path().write_text("instance_type,gpu,gpu_count,price_usd_per_hour\np5.48xlarge,H100,8,-1\n")
    catalogs = load_catalogs()
    assert catalogs.instances["p5.48xlarge"].price_usd_per_hour == 55.04
    assert "downloaded prices not used" in catalogs.price_update_error and "price_usd_per_hour" in catalogs.price_update_error


def test_prices_older_than_90_days_or_undated_are_flagged(server, data_dir):
    bundled = load_catalogs()
    stale, priced = stale_prices(bundled, TODAY)
    assert stale == priced > 0  # the snapshot's rows carry no date
    update_prices(f"{server}/good", today=TODAY)
    fresh = load_catalogs()
    assert stale_prices(fresh, TODAY)[0] < stale  # the refreshed rows are dated today
    assert stale_prices(fresh, TODAY + dt.timedelta(days=91))[0] == stale_prices(fresh, TODAY)[1]
    assert "older than 90 days" in staleness_warning(fresh, TODAY)


def test_cli_catalog_update(server, data_dir, capsys, monkeypatch):
    assert main(["catalog", "instances", "--format", "csv"]) == 0
    assert "undated or older than 90 days" in capsys.readouterr().err  # the bundled snapshot carries no date
    monkeypatch.setenv("GPUPLANNER_PRICES_URL", f"{server}/good")  # the default source, as the window uses it
    assert main(["catalog", "update"]) == 0
    assert "instance types refreshed" in capsys.readouterr().out and updated_prices_path().is_file()
    assert main(["catalog", "update", "--from", f"{server}/missing"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gpuplanner-cli: error: catalog update:") and "HTTP 404" in err
