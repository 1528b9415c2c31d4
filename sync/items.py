"""Checks of one pushed submission item beyond its form data: identity, subject, scope, GPS, times."""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from datetime import datetime
from typing import Any

from sync.limits import CONTENT_TYPES, MAX_ATTACHMENTS, MAX_BYTES

SUBJECT_TYPES = {"household", "village"}


def field_error(field: str, code: str, zh: str, en: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": f"{zh} · {en}"}


def content_hash(item: dict[str, Any]) -> str:
    """SHA-256 of the item's canonical JSON: the same content always gives the same hash."""
    canonical = json.dumps(item, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if type(value) is str else None
    except ValueError:
        return None


def parse_time(value: Any) -> datetime | None:
    """A device time with its offset; without one (or unreadable) it is kept only as sent, in the payload."""
    if type(value) is not str:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def envelope_errors(item: dict[str, Any]) -> list[dict[str, str]]:
    """Problems of the item's own fields (not its form data)."""
    errors = []
    subject = item.get("subject")
    if type(subject) is not dict or subject.get("type") not in SUBJECT_TYPES:
        errors.append(field_error("subject", "type", "对象应为农户或村", "subject.type must be household or village"))
    elif type(subject.get("area_code")) is not str or not subject["area_code"].isdigit() or len(subject["area_code"]) > 15:
        errors.append(field_error("subject.area_code", "type", "区划代码应为数字", "subject.area_code must be a division code"))
    elif subject.get("id") is not None and parse_uuid(subject["id"]) is None:
        errors.append(field_error("subject.id", "type", "对象编号格式不正确", "subject.id must be a UUID or null"))
    for name in ("base_version",):
        if item.get(name) is not None and (type(item[name]) is not int or item[name] < 0):
            errors.append(field_error(name, "type", "版本号应为非负整数", f"{name} must be a whole number or null"))
    if item.get("supersedes") is not None and parse_uuid(item["supersedes"]) is None:
        errors.append(field_error("supersedes", "type", "被更正的提交编号格式不正确", "supersedes must be a UUID or null"))
    if type(item.get("data")) is not dict:
        errors.append(field_error("data", "type", "表单数据应为对象", "data must be an object"))
    errors.extend(gps_errors(item.get("gps")))
    errors.extend(attachment_errors(item.get("attachments")))
    return errors


_SHA256 = re.compile(r"[0-9a-f]{64}")


def attachment_errors(attachments: Any) -> list[dict[str, str]]:
    """Problems of the declared files: the device uploads each one by name and hash after the push."""
    if attachments is None:
        return []
    if type(attachments) is not list:
        return [field_error("attachments", "type", "附件清单格式不正确", "attachments must be a list")]
    if len(attachments) > MAX_ATTACHMENTS:
        return [field_error("attachments", "out_of_range", f"附件最多{MAX_ATTACHMENTS}个",
                            f"At most {MAX_ATTACHMENTS} attachments per submission")]
    errors, names = [], set()
    for index, entry in enumerate(attachments):
        where = f"attachments[{index}]"
        if type(entry) is not dict or not _file_name(entry.get("name")) or type(entry.get("sha256")) is not str \
                or not _SHA256.fullmatch(entry["sha256"]):
            errors.append(field_error(where, "type", "附件应有文件名和SHA-256",
                                      "each attachment needs a file name and a lower-case hex SHA-256"))
        elif entry["name"] in names:
            errors.append(field_error(where, "constraint", "附件文件名重复", f"{entry['name']} is declared twice"))
        elif type(entry.get("size")) is not int or not 0 <= entry["size"] <= MAX_BYTES:
            errors.append(field_error(where, "out_of_range", "附件大小超出限制",
                                      f"size must be a whole number of bytes up to {MAX_BYTES}"))
        elif type(entry.get("content_type")) is not str or entry["content_type"].split(";")[0].strip().lower() \
                not in CONTENT_TYPES:
            errors.append(field_error(where, "type", "附件类型不支持", "content_type must be an image or audio type forms use"))
        else:
            names.add(entry["name"])
    return errors


def _file_name(name: Any) -> bool:
    return (type(name) is str and 0 < len(name) <= 255 and name.strip(".") != ""
            and not any(c in name for c in "/\\\x00"))


def gps_errors(gps: Any) -> list[dict[str, str]]:
    if gps is None:
        return []
    if type(gps) is not dict:
        return [field_error("gps", "type", "定位格式不正确", "gps must be an object {lat, lon, accuracy_m}")]
    lat, lon, accuracy = gps.get("lat"), gps.get("lon"), gps.get("accuracy_m")
    numbers = [v for v in (lat, lon, accuracy) if v is not None]
    if not all(type(v) in (int, float) and math.isfinite(v) for v in numbers) or lat is None or lon is None:
        return [field_error("gps", "type", "经纬度应为有限数值", "gps lat and lon must be finite numbers")]
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (accuracy is not None and accuracy < 0):
        return [field_error("gps", "out_of_range", "定位超出范围", "gps is out of range")]
    return []
