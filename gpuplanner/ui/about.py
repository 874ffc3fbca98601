"""The About box text: versions (app, Qt, PySide6, pandas) and where the data comes from."""
from __future__ import annotations

import html
from importlib import metadata

import PySide6
from PySide6 import QtCore

import gpuplanner
from gpuplanner.core.catalogs import Catalogs
from gpuplanner.core.price_age import price_as_of


def about_html(catalogs: Catalogs) -> str:
    sources = sorted({g.source for g in catalogs.gpus.values() if g.source.startswith("http")})
    return (
        f"<h3>gpuplanner {html.escape(gpuplanner.__version__)}</h3>"
        "<p>GPU capacity and cost planner for training and serving large language models.</p>"
        f"<p>Qt {QtCore.qVersion()} · PySide6 {PySide6.__version__} · pandas {metadata.version('pandas')}</p>"
        f"<p><b>Catalogs</b>: {len(catalogs.gpus)} GPUs, {len(catalogs.instances)} instance types, "
        f"{len(catalogs.models)} models.<br>Prices as of: {html.escape(price_as_of(catalogs))}<br>"
        f"Files: {html.escape(', '.join(catalogs.origins))}</p>"
        f"<p><b>GPU datasheets</b>: {len(sources)} vendor documents (see Tools → Catalogs for each row's "
        "source and as-of).</p>"
        "<p>Method: ZeRO (Rajbhandari et al. 2020), activation memory (Korthikanti et al. 2022), "
        "Chinchilla C ≈ 6ND (Hoffmann et al. 2022), KV cache (Pope et al. 2022).</p>"
    )
