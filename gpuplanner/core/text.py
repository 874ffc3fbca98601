"""Sentences whose memory figures stay numbers until a face writes them.

Warnings and "Explain" texts are built in core, where the figures are known, but the unit
(GiB or GB) is the reader's choice. A `Text` is a plain string written in GiB, so core code and
JSON use it as any string; `in_unit(text, "GB")` writes the same sentence with every memory
figure in GB. A placeholder `{name}` takes a byte count and one decimal, `{name:2}` two.
"""
from __future__ import annotations

import string

from gpuplanner.core.units import MEMORY_UNITS


class _Sizes(string.Formatter):
    def __init__(self, unit: str):
        self.unit = unit

    def format_field(self, value, format_spec: str) -> str:
        decimals = int(format_spec or 1)
        return f"{value / MEMORY_UNITS[self.unit]:,.{decimals}f} {self.unit}"


class Text(str):
    """A sentence with byte counts in placeholders; as a string it reads in GiB."""

    template: str
    sizes: dict

    def __new__(cls, template: str, **sizes: float) -> Text:
        text = super().__new__(cls, _Sizes("GiB").format(template, **sizes))
        text.template, text.sizes = template, sizes
        return text

    def in_unit(self, unit: str) -> str:
        return _Sizes(unit).format(self.template, **self.sizes)


def in_unit(text: str, unit: str) -> str:
    """`text` with its memory figures in `unit` (a plain string is returned as it is)."""
    return text.in_unit(unit) if isinstance(text, Text) and hasattr(text, "template") else text
