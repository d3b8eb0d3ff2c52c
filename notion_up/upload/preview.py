"""--dry-run: what a push would do with each file, worked out without writing anything."""

from __future__ import annotations

import os
from dataclasses import dataclass

from notion_up.errors import NotionUpError
from notion_up.notion.filetypes import UploadName, upload_name
from notion_up.upload.existing import ExistingCheck
from notion_up.upload.inputs import FileInput
from notion_up.upload.parts import PartPlan, plan_parts


@dataclass(frozen=True)
class Preview:
    """The fate of one file: push (with its plan), skip or refuse, and why."""

    path: str
    name: str
    folder_path: str
    size: int
    action: str
    reason: str = ""
    plan: PartPlan | None = None
    upload: UploadName | None = None

    def to_json(self) -> dict:
        """The --json line for this file."""
        data: dict = {
            "dry_run": True,
            "action": self.action,
            "name": self.name,
            "path": self.path,
            "folder_path": self.folder_path,
            "size": self.size,
        }
        if self.reason:
            data["reason"] = self.reason
        if self.plan is not None and self.upload is not None:
            data.update(
                mode=self.plan.mode,
                parts=self.plan.count,
                part_size=self.plan.part_size,
                upload_name=self.upload.upload_name,
                content_type=self.upload.content_type,
                carrier=self.upload.carrier,
            )
        return data

    def line(self) -> str:
        """One plain line: `would push NAME: ...`, `would skip NAME: why`."""
        where = f"{self.folder_path.rstrip('/')}/{self.name}".lstrip("/")
        if self.action != "push":
            return f"would {self.action} {where}: {self.reason}"
        assert self.plan is not None and self.upload is not None
        travel = f"as {self.upload.upload_name} ({self.upload.content_type})"
        if self.upload.carrier:
            travel += ", a carrier for an unsupported type"
        return (
            f"would push {where}: {self.size} bytes, {self.plan.mode}, "
            f"{self.plan.count} part(s) of {self.plan.part_size} bytes, {travel}"
        )


def preview(
    item: FileInput,
    part_size: int,
    max_file_size: int | None = None,
    existing: ExistingCheck | None = None,
) -> Preview:
    """Plan one file as push would, without a single write."""
    size = os.stat(item.path).st_size
    base = {"path": item.path, "name": item.name, "folder_path": item.folder_path, "size": size}
    if existing is not None:
        reason = existing.reason_to_skip(item.path)
        if reason:
            return Preview(**base, action="skip", reason=reason)
    if max_file_size is not None and size > max_file_size:
        reason = f"over this workspace's limit of {max_file_size} bytes per file"
        return Preview(**base, action="refuse", reason=reason)
    try:
        plan = plan_parts(size, part_size)
    except NotionUpError as exc:
        return Preview(**base, action="refuse", reason=str(exc))
    return Preview(**base, action="push", plan=plan, upload=upload_name(item.name))
