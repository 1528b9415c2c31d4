"""Schemas of the sync protocol (push now; pull and attachments follow)."""

from marshmallow import Schema, fields


class ItemResultSchema(Schema):
    uuid = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "accepted, duplicate, invalid or conflict"})
    errors = fields.List(fields.Dict(), metadata={"description": "{field, code, message} for invalid and conflict"})
    missing_attachments = fields.List(fields.String(), metadata={"description": "declared files still to upload"})


class PushResultSchema(Schema):
    server_time = fields.DateTime(metadata={"description": "the server's clock, for the device to learn its skew"})
    results = fields.List(fields.Nested(ItemResultSchema))


class PushRequestSchema(Schema):
    """Documents the body; the engine checks it item by item, so one bad item never blocks the others."""

    device_id = fields.String(required=True)
    sent_at = fields.String(metadata={"description": "device time with offset"})
    submissions = fields.List(fields.Dict(), required=True, metadata={"description": "at most 200"})
