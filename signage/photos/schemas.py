"""Photo schemas: the multipart upload and the metadata answer."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from werkzeug.datastructures import FileStorage

from signage.core.fields import AwareDateTime


class ImageFile(Upload):
    """A file part of a multipart body; a plain text field of the same name is refused."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("must be a file part of the multipart/form-data body")
        return value


class PhotoUploadSchema(ma.Schema):
    """A photo sent as multipart/form-data, with the optional fields a phone adds offline."""

    file = ImageFile(
        required=True,
        metadata={
            "description": "JPEG, PNG, WebP or HEIC. The type is read from the bytes, not the file name."
        },
    )
    id = ma.fields.UUID(
        metadata={
            "description": "Id made by the phone. If the same bytes are already stored, the answer "
            "carries the stored photo's id instead."
        }
    )
    recorded_at = AwareDateTime(metadata={"description": "When the phone recorded the photo"})


class PhotoUrlsSchema(ma.Schema):
    """Where to fetch the image itself."""

    content = ma.fields.String(metadata={"description": "The upright image (original or display copy)"})
    thumbnail = ma.fields.String(metadata={"description": "A JPEG at most 320 pixels on its longer side"})


class PhotoSchema(ma.Schema):
    """A stored photo: what it is, when and where the camera says it was taken, and its links."""

    id = ma.fields.UUID(dump_only=True)
    sha256 = ma.fields.String(dump_only=True, metadata={"description": "SHA-256 of the uploaded bytes"})
    mime = ma.fields.String(dump_only=True, metadata={"description": "Type read from the bytes"})
    size = ma.fields.Integer(dump_only=True, metadata={"description": "Bytes uploaded"})
    width = ma.fields.Integer(dump_only=True, metadata={"description": "Pixels, upright"})
    height = ma.fields.Integer(dump_only=True, metadata={"description": "Pixels, upright"})
    taken_at = AwareDateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "EXIF capture time (evidence), when present"},
    )
    gps_lat = ma.fields.Float(
        dump_only=True, allow_none=True, metadata={"description": "EXIF GPS latitude, WGS-84"}
    )
    gps_lng = ma.fields.Float(
        dump_only=True, allow_none=True, metadata={"description": "EXIF GPS longitude, WGS-84"}
    )
    uploaded_by_id = ma.fields.UUID(dump_only=True, metadata={"description": "Who first uploaded it"})
    created_at = AwareDateTime(dump_only=True)
    recorded_at = AwareDateTime(dump_only=True, allow_none=True)
    urls = ma.fields.Nested(PhotoUrlsSchema, dump_only=True)

    @ma.post_dump
    def add_urls(self, data: dict, **kwargs) -> dict:
        """Link the image and its thumbnail."""
        base = f"/api/v1/photos/{data['id']}"
        data["urls"] = {"content": f"{base}/content", "thumbnail": f"{base}/thumbnail"}
        return data
