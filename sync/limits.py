"""Limits of what a device may send, in one place: the API document and the README quote them."""

MAX_ITEMS = 200  # submissions per push request
# JSON values in one request body: a batch of 200 household visits holds about 50,000; the bound keeps what a worker
# builds from 10 MB of JSON under about 30 MB.
MAX_JSON_VALUES = 250_000
MAX_VERSION = 2**31 - 1  # form_version and base_version: `integer` columns
MAX_ITEM_BYTES = 512 * 1024  # one submission as canonical JSON: 200 members of a household fill a fraction of it
MAX_BYTES = 20 * 1024 * 1024  # per attachment file
MAX_ATTACHMENTS = 50  # files declared by one submission; a household visit asks for a handful
# The images and audio the forms ask for (photo and audio fields).
CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg",
                           "audio/amr", "audio/wav", "audio/x-wav"})
