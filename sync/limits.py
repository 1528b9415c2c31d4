"""Limits of what a device may send, in one place: the API document and the README quote them."""

MAX_ITEMS = 200  # submissions per push request
MAX_BYTES = 20 * 1024 * 1024  # per attachment file
MAX_ATTACHMENTS = 50  # files declared by one submission; a household visit asks for a handful
# The images and audio the forms ask for (photo and audio fields).
CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg",
                           "audio/amr", "audio/wav", "audio/x-wav"})
