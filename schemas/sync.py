"""Schemas of the sync protocol: push and pull."""

from marshmallow import INCLUDE, Schema, fields, validate

from schemas.common import Text

CHANGE_KINDS = ["area", "household", "village", "assignment", "review", "form"]


class ItemResultSchema(Schema):
    uuid = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "accepted, duplicate, invalid or conflict"})
    errors = fields.List(fields.Dict(), metadata={"description": (
        "{field, code, message} for invalid and conflict. `out_of_scope` (nothing of the item is stored): its area, "
        "its subject.id (an existing household outside your areas) or its supersedes (a submission you may not see); "
        "`supersedes_other_subject`: supersedes names a submission about another household or village")})
    missing_attachments = fields.List(fields.String(), metadata={"description": "declared files still to upload"})


class PushResultSchema(Schema):
    server_time = fields.DateTime(metadata={"description": "the server's clock, for the device to learn its skew"})
    results = fields.List(fields.Nested(ItemResultSchema))


class PushRequestSchema(Schema):
    """Documents the body; the engine checks it item by item, so one bad item never blocks the others.

    Only the envelope is firm (device_id, a submissions list); each item, even one that is not an object, gets its
    own result, and a sent_at the engine cannot read is taken as absent (no skew is derived).
    """

    class Meta:
        unknown = INCLUDE

    device_id = fields.String(required=True, validate=validate.Length(1, 200), metadata={
        "description": "the device_id the token was issued for; another one is refused with 403 device_mismatch"})
    sent_at = fields.Raw(metadata={"description": "device time with offset, e.g. 2026-11-22T09:30:00+08:00"})
    submissions = fields.List(fields.Raw(), required=True, metadata={
        "description": "at most 200 submission objects (protocol.md); anything else is answered `invalid` in place"})


class PullArgsSchema(Schema):
    cursor = Text(load_default=None, validate=validate.Length(max=200), metadata={"description": (
        "Opaque cursor from the previous pull; omit it to start from the beginning. A cursor given out before the "
        "server's feed was restored, recovered to a point in time or failed over (another feed epoch), or before "
        "cursors carried an epoch, starts from the beginning too: the device gets its whole scope again, each object "
        "in its latest state, and applies each by its version. A cursor this server never gave out is 422 "
        "bad_cursor")})
    limit = fields.Integer(load_default=500, validate=validate.Range(1, 2000))


class ChangeSchema(Schema):
    kind = fields.String(validate=validate.OneOf(CHANGE_KINDS))
    id = fields.String(metadata={
        "description": "area code, household id, village area code, assignment id, submission uuid, form_id/version"})
    version = fields.Integer(metadata={
        "description": "the entity version of a household or village; otherwise rises with each change"})
    data = fields.Dict(allow_none=True, metadata={"description": (
        "the object's latest state (protocol.md); null once gone. A household carries `prefill` (the properties the "
        "forms of your role pre-fill) and `members` ({person_key: an opaque key of the person, the person properties "
        "those forms pre-fill}); never an ID-card number, and no personal value to a planner (docs/personal-data.md). "
        "A village carries area_code, `prefill` (the village forms' pre-filled properties) and version. An area "
        "carries code, level, parent_code, name, centroid, bbox and `retired`: true once an official file no longer "
        "has it (keep it for the households in it; offer it for no new household or village), false again if one "
        "has it back")})


class PullResultSchema(Schema):
    changes = fields.List(fields.Nested(ChangeSchema))
    cursor = fields.String(metadata={"description": (
        "pass back on the next pull; a retry with the same cursor is safe. It carries the feed's epoch: after a "
        "restore, a point-in-time recovery or a failover the server starts a new one, and the next pull with an "
        "older cursor starts from the beginning (every object in scope again, in its latest state, to apply by "
        "version) instead of skipping changes")})
    has_more = fields.Boolean()
    held_back = fields.Boolean(metadata={"description": (
        "true when changes for you are already committed but wait behind a transaction still open on the server; "
        "they come on a later pull (at most DB_IDLE_IN_TRANSACTION_TIMEOUT_MS later, when it is left idle)")})
