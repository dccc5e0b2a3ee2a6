"""Photo workflows: the store behind the app, uploads stored once by hash, who may see what."""

from __future__ import annotations

from flask import Flask, current_app

from signage.config import ConfigError
from signage.photos.storage import PhotoStorage, storage_from_config

# Room in a request for the multipart envelope and the form fields around the photo itself.
MULTIPART_ROOM = 64 * 1024


def init_app(app: Flask) -> None:
    """Check the upload limits and put the configured photo store on app.extensions."""
    max_bytes = app.config["PHOTO_MAX_BYTES"]
    request_limit = app.config.get("MAX_CONTENT_LENGTH")
    if max_bytes <= 0 or app.config["PHOTO_MAX_PIXELS"] <= 0:
        raise ConfigError("PHOTO_MAX_BYTES and PHOTO_MAX_PIXELS must be positive")
    if request_limit and max_bytes + MULTIPART_ROOM > request_limit:
        # Otherwise werkzeug refuses a large photo before the API can say which limit it broke.
        raise ConfigError(
            f"PHOTO_MAX_BYTES ({max_bytes}) must be at least {MULTIPART_ROOM} bytes below "
            f"MAX_CONTENT_LENGTH ({request_limit})"
        )
    app.extensions["photo_storage"] = storage_from_config(app.config)


def photo_storage() -> PhotoStorage:
    """The app's photo store."""
    return current_app.extensions["photo_storage"]
