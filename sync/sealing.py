"""Submission payloads at rest: ID and phone answers sealed one by one, an item no published form reads sealed whole."""

from __future__ import annotations

import json
import uuid
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from core.pii import SEALED, Protector
from sync.compiled_forms import CompiledForms
from sync.evidence import SaveMap, sealed_answers, with_sealed_answers

WHOLE = "sealed"  # the key that holds an item sealed whole: the item as JSON, in one randomised seal
# What the server still reads of an item sealed whole: who it is, which form it claims, its attachments manifest.
READABLE = ("uuid", "form_id", "form_version", "subject", "attachments")


def save_map_of(session: Session, forms: CompiledForms, item: dict[str, Any]) -> SaveMap | None:
    """Where the item's form saves its answers, or None when no published form version is named."""
    form_id, version = item.get("form_id"), item.get("form_version")
    if type(form_id) is not str or type(version) is not int or len(form_id) > 64:
        return None
    return forms.save_map(session, form_id, version)


def seal_payload(protector: Protector, save_map: SaveMap | None, submission_uuid: uuid.UUID,
                 item: dict[str, Any]) -> dict[str, Any]:
    """The item as stored (reliability P2): as sent but with its ID-card and phone answers sealed, bound to the
    submission; when no published form says which answers are personal, or one of them is not text (a number
    sent for a phone: quarantined, but not to be kept in clear), everything but READABLE in one seal."""
    context = submission_uuid.bytes
    data = item.get("data")
    if save_map is None or type(data) is not dict or any(
            value is not None and type(value) is not str for value in sealed_answers(save_map, data)):
        whole = json.dumps(item, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return {**{name: item[name] for name in READABLE if name in item}, WHOLE: protector.seal(whole, context)}
    return {**item, "data": with_sealed_answers(save_map, item["data"], partial(protector.seal, context=context))}


def open_payload(protector: Protector, save_map: SaveMap | None, submission_uuid: uuid.UUID,
                 payload: dict[str, Any]) -> dict[str, Any]:
    """The item as it was sent, from what seal_payload stored (or from a payload stored before it sealed as much).

    Raises:
        core.pii.UnreadableSeal: no configured key opens a sealed value of it.
    """
    context = submission_uuid.bytes
    if sealed_whole(payload):
        return json.loads(protector.open(payload[WHOLE], context))
    if save_map is None or type(payload.get("data")) is not dict:
        return payload  # kept as sent, before items of unknown forms were sealed whole
    return {**payload, "data": with_sealed_answers(save_map, payload["data"], partial(protector.open, context=context))}


def sealed_whole(payload: dict[str, Any]) -> bool:
    return "data" not in payload and type(payload.get(WHOLE)) is str and payload[WHOLE].startswith(SEALED)
