"""Notion's file-type allow-list, and the carrier name for everything it refuses."""

from __future__ import annotations

import os
from dataclasses import dataclass

# developers.notion.com "Working with files and media" (its "Supported file types" list).
ALLOWED: dict[str, str] = {
    ".aac": "audio/aac",
    ".adts": "audio/aac",
    ".mid": "audio/midi",
    ".midi": "audio/midi",
    ".mp3": "audio/mpeg",
    ".mpga": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".m4b": "audio/mp4",
    ".oga": "audio/ogg",
    ".ogg": "audio/ogg",
    ".wav": "audio/wav",
    ".wma": "audio/x-ms-wma",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".json": "application/json",
    ".doc": "application/msword",
    ".dot": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".dotx": "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    ".xls": "application/vnd.ms-excel",
    ".xlt": "application/vnd.ms-excel",
    ".xla": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xltx": "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pot": "application/vnd.ms-powerpoint",
    ".pps": "application/vnd.ms-powerpoint",
    ".ppa": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".potx": "application/vnd.openxmlformats-officedocument.presentationml.template",
    ".gif": "image/gif",
    ".heic": "image/heic",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    ".ico": "image/vnd.microsoft.icon",
    ".amv": "video/x-amv",
    ".asf": "video/x-ms-asf",
    ".wmv": "video/x-ms-asf",
    ".avi": "video/x-msvideo",
    ".f4v": "video/x-f4v",
    ".flv": "video/x-f4v",
    ".gifv": "video/mp4",
    ".m4v": "video/mp4",
    ".mp4": "video/mp4",
    ".mkv": "video/webm",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
    ".qt": "video/quicktime",
    ".mpeg": "video/mpeg",
}

CARRIER_SUFFIX = ".txt"
CARRIER_TYPE = "text/plain"


@dataclass(frozen=True)
class UploadName:
    """The name a file has for the user, and the name and type it travels under to Notion."""

    name: str
    upload_name: str
    content_type: str

    @property
    def carrier(self) -> bool:
        """True when the file travels under a carrier name because Notion refuses its type."""
        return self.name != self.upload_name


def upload_name(name: str) -> UploadName:
    """Send a supported file as what it is; anything else as `<name>.txt`, text/plain."""
    ext = os.path.splitext(name)[1].lower()
    if ext in ALLOWED:
        return UploadName(name, name, ALLOWED[ext])
    return UploadName(name, name + CARRIER_SUFFIX, CARRIER_TYPE)
