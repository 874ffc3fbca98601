"""Render page 1 of a sample plan report to docs/report-sample.png (for the README).

The PDF is written first and its first page rasterised with pdftoppm (poppler-utils) so the
picture is the real PDF; without pdftoppm the same page is drawn straight into an image.
Usage: python scripts/render_report_sample.py [output.png]
"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from gpuplanner.core import PlanInputs, estimate, load_catalogs
from gpuplanner.core.sweep import sweep
from gpuplanner.report import render_page_image, write_pdf

DPI = 80
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "report-sample.png"
SAMPLE = PlanInputs(model="llama-3.1-70b", mode="train", precision="bf16", instance="p5.48xlarge",
                    training_tokens=2e12, max_training_days=30)


def main(output: Path) -> None:
    catalogs = load_catalogs()
    result, table = estimate(SAMPLE, catalogs), sweep(SAMPLE, catalogs)
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm:
        with tempfile.TemporaryDirectory() as folder:
            pdf = write_pdf(result, table, Path(folder) / "sample.pdf")
            stem = Path(folder) / "page"
            subprocess.run([pdftoppm, "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile", "-png", "-gray",
                            str(pdf), str(stem)], check=True, timeout=60)
            shutil.copyfile(stem.with_suffix(".png"), output)
    elif not render_page_image(result, table, dpi=DPI).save(str(output)):
        raise SystemExit(f"could not write {output}")
    print(f"{output} ({'pdftoppm' if pdftoppm else 'drawn directly'}, {output.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT)
