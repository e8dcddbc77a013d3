"""multipart/form-data bodies: the fields the spec declares binary go as files.

A property is a file when its schema says `format: binary` (OpenAPI 3.0) or
carries `contentMediaType` without `contentEncoding` (OpenAPI 3.1); an array
of such items is several files under one name. The caller passes each file
in the invoke body (JSON) as

    {"base64": "<the bytes, base64>", "filename": "a.png"?, "content_type": "image/png"?}

or as a bare base64 string. The part is sent with `filename` (default: the
field's name) and `content_type` (default: the spec's `encoding.<field>.
contentType` when it names one type, else the schema's `contentMediaType`,
else application/octet-stream). A malformed file is a 400 naming the field
(`["body", field]`, `["body", field, i]` in an array). Other fields are sent
as text parts, as before.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any, Callable

from chalicelib.errors import field_error

_MEDIA = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(\s*;.*)?$")
FILE_KEYS = frozenset({"base64", "filename", "content_type"})
DEFAULT_FILE_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class FilePart:
    filename: str
    data: bytes
    content_type: str


def _is_binary(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("format") == "binary":
        return True
    return "contentMediaType" in schema and "contentEncoding" not in schema


def file_fields(schema: Any, resolve: Callable[[Any], Any] | None = None) -> dict[str, tuple[bool, str | None]]:
    """{field: (is an array of files, the schema's contentMediaType)} of a multipart body schema."""
    resolve = resolve or (lambda s: s)
    schema = resolve(schema)
    props = schema.get("properties") if isinstance(schema, dict) else None
    out: dict[str, tuple[bool, str | None]] = {}
    for name, prop in (props or {}).items() if isinstance(props, dict) else ():
        prop = resolve(prop)
        if _is_binary(prop):
            out[name] = (False, prop.get("contentMediaType"))
        elif isinstance(prop, dict) and _is_binary(resolve(prop.get("items"))):
            out[name] = (True, resolve(prop["items"]).get("contentMediaType"))
    return out


def declared_types(request_body: Any, media: str | None) -> dict[str, str]:
    """{field: content type} from the spec's `encoding` of the chosen media type (single types only)."""
    content = request_body.get("content") if isinstance(request_body, dict) else None
    if not isinstance(content, dict) or not media:
        return {}
    base = media.split(";")[0].strip().lower()
    for key, obj in content.items():
        if key.split(";")[0].strip().lower() == base and isinstance(obj, dict):
            enc = obj.get("encoding")
            return {name: e["contentType"] for name, e in (enc or {}).items()
                    if isinstance(e, dict) and isinstance(e.get("contentType"), str)
                    and "," not in e["contentType"] and "*" not in e["contentType"]} if isinstance(enc, dict) else {}
    return {}


def _problem(loc: list, msg: str) -> dict:
    return field_error(loc, msg, "file")


def _file(value: Any, name: str, default_type: str, loc: list) -> tuple[FilePart | None, Any, list[dict]]:
    """(the part, what the schema check sees, problems) of one file value."""
    if isinstance(value, str):
        value = {"base64": value}
    if not isinstance(value, dict):
        return None, value, [_problem(loc, 'a file is {"base64", "filename"?, "content_type"?} or a base64 string')]
    problems = [_problem(loc + [k], "unknown file field; use base64, filename, content_type")
                for k in value if k not in FILE_KEYS]
    data_text, filename, ctype = value.get("base64"), value.get("filename", name), value.get("content_type")
    if not isinstance(data_text, str):
        problems.append(_problem(loc + ["base64"], "required: the file's bytes, base64-encoded"))
    if not isinstance(filename, str) or not filename or len(filename) > 255 or any(c in filename for c in "\r\n\0"):
        problems.append(_problem(loc + ["filename"], "a file name of 1-255 characters without line breaks"))
    if ctype is not None and (not isinstance(ctype, str) or not _MEDIA.match(ctype) or "\n" in ctype
                              or "\r" in ctype):
        problems.append(_problem(loc + ["content_type"], "a media type such as image/png"))
    data = b""
    if isinstance(data_text, str):
        try:
            data = base64.b64decode(data_text, validate=True)
        except (binascii.Error, ValueError):
            problems.append(_problem(loc + ["base64"], "not valid base64"))
    if problems:
        return None, data_text, problems
    return FilePart(str(filename), data, ctype or default_type), data_text, []


def prepare(body: dict, schema: Any, request_body: Any, media: str | None,
            resolve: Callable[[Any], Any] | None = None) -> tuple[dict, dict[str, list[FilePart]], list[dict]]:
    """(the body as the schema check sees it - each file as its base64 text -,
    {field: files}, problems) for a multipart body."""
    fields = file_fields(schema, resolve)
    if not fields:
        return body, {}, []
    types = declared_types(request_body, media)
    checked = dict(body)
    files: dict[str, list[FilePart]] = {}
    problems: list[dict] = []
    for name, (many, media_type) in fields.items():
        if name not in body or body[name] is None:
            continue
        default_type = types.get(name) or media_type or DEFAULT_FILE_TYPE
        value = body[name]
        if many and not isinstance(value, list):
            problems.append(_problem(["body", name], "a list of files"))
            continue
        parts, seen = [], []
        for i, item in enumerate(value if many else [value]):
            part, shown, found = _file(item, name, default_type, ["body", name] + ([i] if many else []))
            problems.extend(found)
            seen.append(shown)
            if part is not None:
                parts.append(part)
        files[name] = parts
        checked[name] = seen if many else seen[0]
    return checked, files, problems


def encode(body: dict, files: dict[str, list[FilePart]], text: Callable[[Any], str]) -> tuple[bytes, str]:
    """The multipart body (bytes, content type with boundary): files as file parts, the rest as text."""
    from urllib3 import encode_multipart_formdata

    parts: list[Any] = []
    for name, value in body.items():
        if name in files:
            parts.extend((name, (f.filename, f.data, f.content_type)) for f in files[name])
        else:
            parts.append((name, value if isinstance(value, str) else text(value)))
    return encode_multipart_formdata(parts)
