"""The sandbox's copy of Notion's file-type allow-list, and the checks made against it.

A copy, not an import of `notion_up.filetypes`: the sandbox runs on the standard library alone.
tests/test_sandbox.py fails when the two lists drift apart.
"""

from __future__ import annotations

from .errors import bad, invalid
from .limits import MAX_FILENAME_BYTES

UNSUPPORTED_EXTENSION = (
    "Provided `filename` has an extension that is not supported for the File Upload API."
)

# Notion's allow-list (README §3.4): extension -> accepted MIME types.
MS_DOC = "application/vnd.openxmlformats-officedocument"
ALLOWED: dict[str, tuple[str, ...]] = {
    ".aac": ("audio/aac",),
    ".adts": ("audio/aac",),
    ".mid": ("audio/midi",),
    ".midi": ("audio/midi",),
    ".mp3": ("audio/mpeg",),
    ".mpga": ("audio/mpeg",),
    ".m4a": ("audio/mp4",),
    ".m4b": ("audio/mp4",),
    ".mp4": ("application/mp4", "video/mp4", "audio/mp4"),  # inferred: application/mp4 (recorded)
    ".oga": ("audio/ogg",),
    ".ogg": ("audio/ogg",),
    ".wav": ("audio/wav",),
    ".wma": ("audio/x-ms-wma",),
    ".pdf": ("application/pdf",),
    ".txt": ("text/plain",),
    ".json": ("application/json",),
    ".doc": ("application/msword",),
    ".dot": ("application/msword",),
    ".docx": (f"{MS_DOC}.wordprocessingml.document",),
    ".dotx": (f"{MS_DOC}.wordprocessingml.template",),
    ".xls": ("application/vnd.ms-excel",),
    ".xlt": ("application/vnd.ms-excel",),
    ".xla": ("application/vnd.ms-excel",),
    ".xlsx": (f"{MS_DOC}.spreadsheetml.sheet",),
    ".xltx": (f"{MS_DOC}.spreadsheetml.template",),
    ".ppt": ("application/vnd.ms-powerpoint",),
    ".pot": ("application/vnd.ms-powerpoint",),
    ".pps": ("application/vnd.ms-powerpoint",),
    ".ppa": ("application/vnd.ms-powerpoint",),
    ".pptx": (f"{MS_DOC}.presentationml.presentation",),
    ".potx": (f"{MS_DOC}.presentationml.template",),
    ".gif": ("image/gif",),
    ".heic": ("image/heic",),
    ".jpeg": ("image/jpeg",),
    ".jpg": ("image/jpeg",),
    ".png": ("image/png",),
    ".svg": ("image/svg+xml",),
    ".tif": ("image/tiff",),
    ".tiff": ("image/tiff",),
    ".webp": ("image/webp",),
    ".ico": ("image/vnd.microsoft.icon",),
    ".amv": ("video/x-amv",),
    ".asf": ("video/x-ms-asf",),
    ".wmv": ("video/x-ms-asf",),
    ".avi": ("video/x-msvideo",),
    ".f4v": ("video/x-f4v",),
    ".flv": ("video/x-f4v",),
    ".gifv": ("video/mp4",),
    ".m4v": ("video/mp4",),
    ".mkv": ("video/webm",),
    ".webm": ("video/webm",),
    ".mov": ("video/quicktime",),
    ".qt": ("video/quicktime",),
    ".mpeg": ("video/mpeg",),
}
ALLOWED_TYPES = frozenset(t for types in ALLOWED.values() for t in types)
EXT_FOR_TYPE: dict[str, str] = {}
for _extension, _types in ALLOWED.items():
    for _type in _types:
        EXT_FOR_TYPE.setdefault(_type, _extension)


def mime_essence(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def extension_of(filename: str) -> str:
    base = filename.rsplit("/", 1)[-1]
    if "." not in base.strip("."):
        return ""
    return "." + base.rsplit(".", 1)[-1].lower()


def check_file_type(
    filename: str | None, content_type: str | None
) -> tuple[str | None, str | None]:
    """Validate a filename and content type against the allow-list; fill in what can be inferred."""
    if filename is not None:
        if len(filename.encode("utf-8")) > MAX_FILENAME_BYTES:
            raise bad(
                "body.filename.length",
                f"should be ≤ `{MAX_FILENAME_BYTES}`",
                len(filename.encode("utf-8")),
            )
    if content_type is not None and content_type not in ALLOWED_TYPES:
        raise invalid(f"The content type {content_type} is not supported for the File Upload API.")
    if filename is not None:
        ext = extension_of(filename)
        if not ext and content_type is not None:
            filename = filename + EXT_FOR_TYPE[content_type]
            ext = extension_of(filename)
        if ext not in ALLOWED:
            raise invalid(UNSUPPORTED_EXTENSION)
        if content_type is None:
            content_type = ALLOWED[ext][0]
        elif content_type not in ALLOWED[ext]:
            raise invalid(  # UNCONFIRMED wording
                f"The content type {content_type} does not match the extension of the "
                f"provided `filename` ({ext})."
            )
    return filename, content_type


def check_sent_type(sent: str | None, declared: str | None, lenient: bool = False) -> None:
    """The part's own Content-Type must be supported and agree with the upload's."""
    if sent is None or sent == "application/octet-stream":
        return
    if sent not in ALLOWED_TYPES:
        raise invalid(f"The content type {sent} is not supported for the File Upload API.")
    if declared is not None and sent != declared and not lenient:
        raise invalid(  # UNCONFIRMED wording
            f"The content type {sent} of the sent file does not match the content type "
            f"{declared} of the file upload."
        )
