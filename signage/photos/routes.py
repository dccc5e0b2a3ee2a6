"""Photos: uploaded once (by content hash), then referred to by id and served to those allowed."""

from __future__ import annotations

import logging

from flask import current_app, g, request
from flask.views import MethodView

from signage.core.access import signed_in
from signage.core.api import Blueprint
from signage.core.errors import Problem
from signage.core.web import accepts
from signage.photos import service
from signage.photos.models import Photo
from signage.photos.schemas import PhotoSchema, PhotoUploadSchema

log = logging.getLogger("signage.photos")

blp = Blueprint("photos", __name__, url_prefix="/api/v1/photos", description="Photos")

BINARY = {"type": "string", "format": "binary"}
UPRIGHT = "The upright image, in the type it was uploaded as (HEIC is served as JPEG)"
# A photo's bytes never change under its id; the cache is the user's own (the image is not public).
CACHE_SECONDS = 24 * 3600
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def _photo_headers(photo: Photo) -> dict:
    return {"ETag": f'"{photo.sha256}"'}


@blp.route("")
class Photos(MethodView):
    @signed_in
    @accepts("multipart/form-data")
    @blp.doc(
        description="Send the image as the `file` part of a multipart/form-data body. Each image is "
        "stored once: sending the same bytes again answers 200 with the stored photo (and its id, "
        "whatever `id` was sent) and stores nothing. Owners send photos of their repairs."
    )
    @blp.arguments(PhotoUploadSchema, location="multipart")
    @blp.response(201, PhotoSchema, description="Stored")
    @blp.alt_response(200, schema=PhotoSchema, description="The same bytes were stored before")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    @blp.alt_response(507, response="INSUFFICIENT_STORAGE")
    def post(self, body):
        """Upload a photo."""
        photo, created = service.upload(
            user=g.current_user,
            file=body["file"],
            client_id=body.get("id"),
            recorded_at=body.get("recorded_at"),
        )
        if created:
            return photo, 201, {**_photo_headers(photo), "Location": f"/api/v1/photos/{photo.id}"}
        return photo, 200, _photo_headers(photo)


@blp.route("/<uuid:photo_id>")
class PhotoById(MethodView):
    @signed_in
    @blp.response(200, PhotoSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, photo_id):
        """Get a photo's details: type, size, EXIF time and place, and links to the image."""
        photo = service.visible_photo(g.current_user, photo_id)
        return photo, 200, _photo_headers(photo)


@blp.route("/<uuid:photo_id>/content")
class PhotoContent(MethodView):
    @signed_in
    @blp.response(200, BINARY, content_type="image/jpeg", description=UPRIGHT)
    @blp.alt_response(200, schema=BINARY, content_type="image/png", description=UPRIGHT)
    @blp.alt_response(200, schema=BINARY, content_type="image/webp", description=UPRIGHT)
    @blp.alt_response(304, response="NOT_MODIFIED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, photo_id):
        """Get the image, upright (a display copy when the camera stored it turned)."""
        photo = service.visible_photo(g.current_user, photo_id)
        if photo.display_key:
            return _image(photo, photo.display_key, photo.display_mime)
        return _image(photo, photo.original_key, photo.mime)


@blp.route("/<uuid:photo_id>/thumbnail")
class PhotoThumbnail(MethodView):
    @signed_in
    @blp.response(200, BINARY, content_type="image/jpeg", description="A small JPEG")
    @blp.alt_response(304, response="NOT_MODIFIED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, photo_id):
        """Get the image's thumbnail (JPEG, at most 320 pixels on its longer side)."""
        photo = service.visible_photo(g.current_user, photo_id)
        return _image(photo, photo.thumbnail_key, "image/jpeg", variant="-thumbnail")


def _image(photo: Photo, key: str, mimetype: str, variant: str = ""):
    """Answer with stored bytes, privately cacheable, and 304 when the client has them already."""
    try:
        data = service.photo_storage().get(key)
    except KeyError:
        log.error("photo %s has no file under %s", photo.id, key, extra={"request_id": g.get("request_id")})
        raise Problem(404, "The image file of this photo is missing.", slug="photo-file-missing") from None
    response = current_app.response_class(data, mimetype=mimetype)
    response.set_etag(photo.sha256 + variant)
    response.cache_control.private = True
    response.cache_control.max_age = CACHE_SECONDS
    extension = _EXTENSIONS.get(mimetype, "bin")
    response.headers["Content-Disposition"] = f'inline; filename="{photo.id}{variant}.{extension}"'
    return response.make_conditional(request)
