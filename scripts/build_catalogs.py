"""Build the bundled catalogs in resources/ from the team's reference data in ../shared/data and
the sourced additions beside this script (newer GPUs, Azure and rack-scale instances).

Run from the repository root: python scripts/build_catalogs.py [--data DIR]
Keeps every source column, turns blanks into gaps (never zeros), and adds an as_of column.
Rerunning it reproduces the committed CSVs byte for byte.
"""
import argparse
import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GPU_COLUMNS = [
    "name", "full_name", "vendor", "architecture", "memory_mib_reported", "memory_gb_marketing",
    "memory_type", "memory_bandwidth_gb_s", "fp32_tflops", "tf32_tflops_dense", "bf16_tflops_dense",
    "fp16_tflops_dense", "fp8_tflops_dense", "int8_tops_dense", "fp4_tflops_dense", "fp4_source", "tdp_watts",
    "nvlink_gb_s", "pcie_gb_s", "interconnect", "sparse_halved", "source", "as_of", "notes",
]
# FP4 peaks are not in the team's datasheet table: vendors' figures with their source, in
# scripts/gpu_fp4.csv (GPUs without FP4 tensor cores are left out: blank).
FP4 = Path(__file__).resolve().parent / "gpu_fp4.csv"
INSTANCE_COLUMNS = [
    "cloud", "instance_type", "gpu", "gpu_count", "price_usd_per_hour", "spot_price_usd_per_hour",
    "region", "vcpus", "host_memory_gib", "cloud_gpu_name", "network_gbit_s", "network_source",
    "nvlink_domain_gpus", "reserved_1y_price_usd_per_hour", "source", "as_of", "notes",
]
# Instance network bandwidth is not in the price snapshot: it comes from the vendors' instance
# pages, listed with their source in scripts/instance_network.csv (blank = not published).
NETWORK = Path(__file__).resolve().parent / "instance_network.csv"
# Rows the team's tables lack, each with its own source and as-of: newer GPUs (B300, GB300, H20, L20,
# RTX PRO 6000, MI325X, MI355X) and instances (Azure, AWS P6, GCP A4X; rack-scale NVLink domains).
EXTRA_GPUS = Path(__file__).resolve().parent / "extra_gpus.csv"
EXTRA_INSTANCES = Path(__file__).resolve().parent / "extra_instances.csv"
GPU_AS_OF = "vendor datasheets as published (undated); gathered 2025-2026"
PRICE_AS_OF = "SkyPilot catalog v8 snapshot, late 2025 to 2026 (list prices)"


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _write(path, columns, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def build(data: Path, out: Path = ROOT / "resources") -> None:
    fp4 = {r["gpu_name"]: r for r in _rows(FP4)}
    gpus = [
        {**{c: r.get(c, "") for c in GPU_COLUMNS}, **{c: fp4.get(r["gpu_name"], {}).get(c, "")
                                                       for c in ("fp4_tflops_dense", "fp4_source")},
         "name": r["gpu_name"], "as_of": GPU_AS_OF}
        for r in _rows(data / "gpu_specs.csv")
    ] + _rows(EXTRA_GPUS)
    _write(out / "gpus.csv", GPU_COLUMNS, gpus)
    network = {r["instance_type"]: r for r in _rows(NETWORK)}
    instances = [
        {
            **{c: r.get(c, "") for c in INSTANCE_COLUMNS},
            "network_gbit_s": network.get(r["instance_type"], {}).get("network_gbit_s", ""),
            "network_source": " ".join(filter(None, (network.get(r["instance_type"], {}).get(k, "")
                                                     for k in ("network_note", "network_source")))),
            "gpu": r["gpu_spec_key"],
            "host_memory_gib": r["memory_gib"],
            "cloud_gpu_name": r["gpu_name"],
            "as_of": PRICE_AS_OF,
        }
        for r in _rows(data / "cloud_gpu_instances.csv")
    ] + _rows(EXTRA_INSTANCES)
    _write(out / "instances.csv", INSTANCE_COLUMNS, instances)
    models = _rows(data / "model_configs.csv")
    _write(out / "models.csv", list(models[0].keys()), models)


def check(data: Path) -> int:
    """Build into a temporary folder and say which committed catalog differs (exit status 1)."""
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        build(data, Path(folder))
        stale = [name for name in ("gpus.csv", "instances.csv", "models.csv")
                 if (Path(folder) / name).read_bytes() != (ROOT / "resources" / name).read_bytes()]
    print("differs from the build: " + ", ".join(stale) if stale else "resources/ equals the build")
    return 1 if stale else 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--check", action="store_true", help="compare with resources/ instead of writing it")
    args = p.parse_args()
    raise SystemExit(check(args.data) if args.check else build(args.data))
