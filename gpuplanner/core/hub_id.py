"""What a Hugging Face Hub id is: `org/name` or `org/name@revision`. Apart from core.hub (which
fetches), so the form can tell a typed id from a preset's name without loading the fetcher."""
from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_HUB_ID = re.compile(rf"^(?P<repo>{_NAME}/{_NAME})(?:@(?P<revision>[^\s@]{{1,255}}))?$")


@dataclass(frozen=True)
class HubId:
    repo: str
    revision: str = "main"

    def __str__(self) -> str:
        return self.repo if self.revision == "main" else f"{self.repo}@{self.revision}"


def parse_hub_id(text: str) -> HubId | None:
    """`org/name` or `org/name@revision`, or None for text of another shape (a preset id)."""
    match = _HUB_ID.match(text.strip())
    if match is None or ".." in match["repo"]:
        return None
    return HubId(match["repo"], match["revision"] or "main")
