"""Differences between Notion-Version shapes (the model renders 2025-09-03).

* 2026-03-11 drops `archived` (pages carry `in_trash`, `is_archived`, `is_locked`).
* Before 2025-09-03 a file upload has no `in_trash`, and `archived` comes right before `status`
  (recorded under 2022-06-28 in more-recordings/notion_ruby_mapping).
"""

from __future__ import annotations

DROPS_ARCHIVED = "2026-03-11"
FIRST_IN_TRASH = "2025-09-03"


def _older_upload(obj: dict) -> dict:
    out: dict = {}
    archived = obj.get("archived", False)
    for key, value in obj.items():
        if key in ("in_trash", "archived"):
            continue
        if key == "status":
            out["archived"] = archived
        out[key] = value
    return out


def _one(obj: dict, version: str | None) -> dict:
    if version == DROPS_ARCHIVED:
        obj.pop("archived", None)
    elif version is not None and version < FIRST_IN_TRASH and obj.get("object") == "file_upload":
        return _older_upload(obj)
    return obj


def for_version(obj: dict, version: str | None) -> dict:
    """`obj` (an answer, maybe a list of results) in the shape of Notion-Version `version`."""
    obj = _one(obj, version)
    results = obj.get("results")
    if isinstance(results, list):
        obj["results"] = [_one(r, version) if isinstance(r, dict) else r for r in results]
    return obj
