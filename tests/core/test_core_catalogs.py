"""The bundled catalogs and user-supplied ones: gaps stay gaps, bad files say where."""
import math

import pytest

from gpuplanner.core import CatalogError, PlanInputs, estimate, load_catalogs
from gpuplanner.core.resource_files import resources_dir

CATALOGS = load_catalogs()


def test_bundled_catalogs_load_with_sources_and_dates():
    # 22 GPUs + 7 newer ones; 72 SkyPilot-priced instances + 16 (Azure, AWS P6, GCP A4X): issue 15 breadth
    assert len(CATALOGS.gpus) == 29 and len(CATALOGS.instances) == 88 and len(CATALOGS.models) == 15
    for gpu in CATALOGS.gpus.values():
        assert gpu.source.startswith("https://") and gpu.as_of
    for inst in CATALOGS.instances.values():
        assert inst.source and inst.as_of
        if math.isfinite(inst.price_usd_per_hour) or math.isfinite(inst.spot_price_usd_per_hour):
            assert "skypilot" in inst.source  # every bundled price comes from a SkyPilot catalog
        else:
            assert inst.notes  # an unpriced row says why
    assert resources_dir().name == "resources"


@pytest.mark.parametrize("name,generation,bf16_tflops,fp4_tflops", [
    ("B300", "blackwell", 2250, 13500), ("GB300", "blackwell", 2500, 15000), ("H20", "hopper", 148, None),
    ("L20", "ada", 119.5, None), ("RTX-PRO-6000", "blackwell", 500, 2000), ("MI325X", "cdna3", 1307.4, None),
    ("MI355X", "cdna4", 2516.6, 10066.4),
])
def test_newer_gpus_have_dense_peaks_and_a_known_generation(name, generation, bf16_tflops, fp4_tflops):
    gpu = CATALOGS.gpus[name]
    assert gpu.generation == generation and gpu.supports("fp8") and gpu.source.startswith("https://")
    assert gpu.peak("bf16") == bf16_tflops * 1e12
    assert gpu.peak("fp8") == pytest.approx(2 * gpu.peak("bf16"), rel=1e-3)  # dense: FP8 = 2 x BF16
    if fp4_tflops is None:
        assert not gpu.supports("fp4") and math.isnan(gpu.peak("fp4"))
    else:
        assert gpu.peak("fp4") == fp4_tflops * 1e12 and gpu.peak("fp4") >= 2 * gpu.peak("fp8")


def test_rack_scale_instances_name_their_nvlink_domain_and_networks_are_sourced():
    for itype in ("p6e-gb200.36xlarge", "Standard_ND128isr_NDR_GB200_v6", "Standard_ND128isr_GB300_v6", "a4x-highgpu-4g"):
        inst = CATALOGS.instances[itype]
        assert inst.nvlink_domain_gpus == 72 and inst.gpu_count == 4 and math.isfinite(inst.network_bytes_per_s)
    assert CATALOGS.instances["p5.48xlarge"].nvlink_domain_gpus == 0  # blank: the whole HGX board, from the GPU
    nd = CATALOGS.instances["Standard_ND96isr_H100_v5"]
    assert (nd.cloud, nd.gpu_count, nd.network_bytes_per_s) == ("azure", 8, 3200e9 / 8)  # 8 x 400 Gb/s InfiniBand
    assert math.isnan(nd.spot_price_usd_per_hour)  # the catalog's "spot" equals on-demand: not a spot price
    assert CATALOGS.gpus[CATALOGS.instances["Standard_ND96isr_MI300X_v5"].gpu].full_name.startswith("AMD")


def test_a_rack_scale_domain_keeps_a_72_gpu_group_on_nvlink():
    from gpuplanner.core.links import links_for
    gb200 = CATALOGS.gpus["GB200"]
    rack = links_for(gb200, CATALOGS.instances["a4x-highgpu-4g"], 4)
    assert not rack.crosses_network(72) and rack.crosses_network(73)
    assert rack.bytes_per_s(72) == gb200.nvlink_bytes_per_s / 2


def test_blank_cells_are_gaps_not_zeros():
    a10g = CATALOGS.gpus["A10G"]
    assert math.isnan(a10g.bandwidth_bytes_per_s) and math.isnan(a10g.peak("bf16"))
    assert math.isnan(CATALOGS.gpus["T4"].peak("bf16"))  # Turing has no bf16
    assert math.isnan(CATALOGS.instances["gpu_8x_h100_sxm5"].spot_price_usd_per_hour)  # Lambda: no spot
    assert math.isnan(CATALOGS.instances["a2-ultragpu-8g"].price_usd_per_hour)  # left blank on purpose
    assert CATALOGS.gpus["H100-PCIe"].capacity_is_marketing


def test_dense_peaks_are_dense():
    """H100 SXM: 989.5 dense bf16 TFLOP/s (the datasheet's 1979 is with 2:4 sparsity)."""
    assert CATALOGS.gpus["H100"].peak("bf16") == 989.5e12
    assert CATALOGS.gpus["A100"].peak("bf16") == 312e12


def test_unknown_price_stays_unknown_in_the_plan():
    r = estimate(PlanInputs(model="llama-2-7b", instance="a2-ultragpu-8g"), CATALOGS)
    assert r.fits and math.isnan(r.cost_usd) and math.isnan(r.price_usd_per_hour)


def test_user_prices_replace_bundled_rows_and_leave_the_original_alone(tmp_path):
    path = tmp_path / "negotiated.csv"
    path.write_text("cloud,instance_type,gpu,gpu_count,price_usd_per_hour,spot_price_usd_per_hour,as_of\n"
                    "aws,p5.48xlarge,H100,8,40.0,,2026-10-01\n")
    mine = CATALOGS.with_user_file(path)
    assert mine.instances["p5.48xlarge"].price_usd_per_hour == 40.0
    assert math.isnan(mine.instances["p5.48xlarge"].spot_price_usd_per_hour)
    assert CATALOGS.instances["p5.48xlarge"].price_usd_per_hour == 55.04
    assert str(path) in mine.origins


@pytest.mark.parametrize("content,where", [
    ("instance_type,gpu,gpu_count,price_usd_per_hour\nx,H100,eight,1.0\n", "row 1, column 'gpu_count'"),
    ("instance_type,gpu,gpu_count,price_usd_per_hour\nx,H100,8,1.0\ny,H100,8,-3\n",
     "row 2, column 'price_usd_per_hour'"),
    ("instance_type,gpu,gpu_count,price_usd_per_hour\n,H100,8,1.0\n", "row 1, column 'instance_type'"),
    ("name,memory_bandwidth_gb_s,memory_gb_marketing\nX1,fast,80\n", "row 1, column 'memory_bandwidth_gb_s'"),
    ("model_id,num_hidden_layers,hidden_size\nm,32,4096\n", "row 1, column 'intermediate_size'"),
    ("just,some,columns\n1,2,3\n", "is not a GPU, instance or model catalog"),
])
def test_bad_user_catalog_names_file_row_and_column(tmp_path, content, where):
    path = tmp_path / "mine.csv"
    path.write_text(content)
    with pytest.raises(CatalogError) as info:
        CATALOGS.with_user_file(path)
    assert str(path) in str(info.value) and where in str(info.value)


def test_unreadable_user_catalog(tmp_path):
    with pytest.raises(CatalogError, match="does not exist"):
        CATALOGS.with_user_file(tmp_path / "missing.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CatalogError, match="not a readable UTF-8 CSV"):
        CATALOGS.with_user_file(binary)


def test_user_gpu_catalog_adds_a_gpu(tmp_path):
    path = tmp_path / "gpus.csv"
    path.write_text("name,memory_bandwidth_gb_s,memory_gb_marketing,memory_mib_reported,bf16_tflops_dense\n"
                    "MyAccel,2000,96,98304,500\n")
    mine = CATALOGS.with_user_file(path)
    r = estimate(PlanInputs(model="llama-2-7b", mode="infer", instance="", gpu="MyAccel"), mine)
    assert r.capacity_bytes == 98304 * 2**20 and r.fits
    assert math.isnan(r.price_usd_per_hour)  # no instance sells it


def test_instance_network_bandwidth_is_sourced_or_unknown():
    cat = load_catalogs()
    assert cat.instances["p5.48xlarge"].network_bytes_per_s == 3200e9 / 8
    assert math.isnan(cat.instances["gpu_8x_h100_sxm5"].network_bytes_per_s)  # not published: unknown


def test_a_blank_datasheet_cell_is_unknown_not_unsupported():
    a10g = load_catalogs().gpus["A10G"]
    assert math.isnan(a10g.peak("bf16")) and a10g.supports("bf16")  # Ampere has bf16 tensor cores
    assert not a10g.supports("fp8")
    assert not load_catalogs().gpus["T4"].supports("bf16")  # Turing has none
