"""Notion's documented limits and the sandbox's fixed identity (ids, names, API versions)."""

from __future__ import annotations

MIB = 1024 * 1024
SINGLE_PART_LIMIT = 20 * MIB  # the docs say "20MB"; binary megabytes chosen here
PART_MIN = 5 * MIB
PART_MAX = 20 * MIB
MAX_PARTS = 1000
FREE_PLAN_LIMIT = 5 * MIB
MAX_FILENAME_BYTES = 900
MAX_TEXT = 2000
MAX_ARRAY = 100
MAX_JSON_BODY = 10 * MIB
CHUNK = MIB

NOTION_VERSIONS = (
    "2021-05-11",
    "2021-05-13",
    "2021-08-16",
    "2022-02-22",
    "2022-06-28",
    "2025-09-03",
    "2026-03-11",
)
BOT_ID = "5b0c7c1e-3f3c-4a57-9d7e-6c1a0f0e2b11"
WORKSPACE_ID = "0d6b8a52-1f7e-4c1e-8a3b-7c2d9e4f5a60"
WORKSPACE_NAME = "notion-up sandbox"
INTEGRATION_ID = "7c1f4a2e-9b3d-4e8a-b5c6-2d1e0f3a4b59"
INTEGRATION_NAME = "notion-up local"
