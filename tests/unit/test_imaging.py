"""Unit tests for signage.photos.imaging; every image is generated here with Pillow."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import warnings
from datetime import UTC, datetime
from typing import Any

import pillow_heif
import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile, JpegImagePlugin, WebPImagePlugin, features
from PIL.TiffImagePlugin import IFDRational

from signage.photos import imaging
from signage.photos.imaging import ImageRejected, ProcessedImage, process_image

MB = 1024 * 1024
RED = (220, 20, 20)
BLUE = (20, 20, 220)
SHANGHAI = "Asia/Shanghai"
ACCEPTED_TYPES = "only JPEG, PNG, WebP and HEIC/HEIF photos are accepted"

CAN_ENCODE_HEIC = bool(pillow_heif.libheif_info().get("HEIF"))
needs_heic_encoder = pytest.mark.skipif(
    not CAN_ENCODE_HEIC, reason="installed pillow-heif/libheif has no HEVC encoder to build a HEIC sample"
)


# --------------------------------------------------------------------------- #
# helpers


def run(data: bytes, **overrides: Any) -> ProcessedImage:
    """Call process_image with roomy defaults."""
    kwargs: dict[str, Any] = {"max_bytes": 20 * MB, "max_pixels": 40_000_000, "local_tz": SHANGHAI}
    kwargs.update(overrides)
    return process_image(data, **kwargs)


def rejected(data: bytes, **overrides: Any) -> ImageRejected:
    """Return the ImageRejected that process_image raises for data."""
    with pytest.raises(ImageRejected) as info:
        run(data, **overrides)
    return info.value


def split_image(size: tuple[int, int] = (400, 200), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: shows where a rotation moved things."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image if mode == "RGB" else image.convert(mode)


def make_exif(
    *,
    orientation: int | None = None,
    taken: str | None = None,
    offset: str | None = None,
    gps: dict[int, Any] | None = None,
) -> Image.Exif:
    """Build an EXIF block with the tags a phone camera writes."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if taken is not None or offset is not None:
        exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
        if taken is not None:
            exif_ifd[ExifTags.Base.DateTimeOriginal] = taken
        if offset is not None:
            exif_ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps is not None:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(gps)
    return exif


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    """Save an image to bytes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    """Open and fully decode bytes produced by the module under test."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def close_to(pixel: Any, expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    """Compare an RGB pixel with slack for lossy encoding."""
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], expected, strict=True))


def gps_tags(lat_ref: Any, lat: Any, lng_ref: Any, lng: Any) -> dict[int, Any]:
    """GPS IFD entries in EXIF's degrees/minutes/seconds form."""
    return {
        ExifTags.GPS.GPSLatitudeRef: lat_ref,
        ExifTags.GPS.GPSLatitude: lat,
        ExifTags.GPS.GPSLongitudeRef: lng_ref,
        ExifTags.GPS.GPSLongitude: lng,
    }


def assert_no_metadata(data: bytes) -> None:
    """A re-encoded rendition must carry no EXIF/XMP (GPS, device ids)."""
    image = Image.open(io.BytesIO(data))
    assert len(image.getexif()) == 0
    assert "exif" not in image.info
    assert "xmp" not in image.info
    assert "comment" not in image.info


# --------------------------------------------------------------------------- #
# errors and the result type


def test_image_rejected_carries_status_reason_and_field() -> None:
    error = ImageRejected(415, "nope")
    assert (error.status, error.reason, error.field) == (415, "nope", "file")
    assert str(error) == "nope"
    assert ImageRejected(422, "bad", field="photo").field == "photo"


def test_result_is_frozen_and_repr_leaves_out_the_bytes() -> None:
    result = run(encode(split_image(), "JPEG"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.width = 1  # type: ignore[misc]
    assert "thumbnail" not in repr(result)
    assert "display=" not in repr(result)


def test_sha256_and_size_describe_the_uploaded_bytes() -> None:
    data = encode(split_image(), "PNG")
    result = run(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)


def test_unknown_local_time_zone_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        run(encode(split_image(), "PNG"), local_tz="Mars/Olympus_Mons")


# --------------------------------------------------------------------------- #
# size limits and type detection


def test_empty_file_is_422() -> None:
    error = rejected(b"")
    assert (error.status, error.reason, error.field) == (422, "file is empty", "file")


def test_file_over_max_bytes_is_413() -> None:
    data = encode(split_image(), "PNG")
    error = rejected(data, max_bytes=len(data) - 1)
    assert error.status == 413
    assert str(len(data) - 1) in error.reason


def test_file_of_exactly_max_bytes_is_accepted() -> None:
    data = encode(split_image(), "PNG")
    assert run(data, max_bytes=len(data)).mime == "image/png"


def _refused_samples() -> dict[str, bytes]:
    """Non-photo uploads that must all be refused with 415."""
    small = split_image((40, 20))
    samples = {
        "text": "店招检查记录\nshop sign inspection notes\n".encode(),
        "gif": encode(small, "GIF"),
        "pdf": b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n",
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>',
        "bmp": encode(small, "BMP"),
        "tiff": encode(small, "TIFF"),
        "jpeg magic then garbage": b"\xff\xd8\xff\xe0" + b"\x00garbage" * 8,
        "png signature only": b"\x89PNG\r\n\x1a\n",
        "jpeg cut inside its header": encode(small, "JPEG")[:40],
        "webp header only": b"RIFF\x10\x00\x00\x00WEBPVP8 ",
        "mp4 container": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 32,
        "random bytes": bytes(range(256)) * 4,
    }
    if features.check("avif"):
        # Same ISO-BMFF container as HEIC, but not an accepted type.
        samples["avif"] = encode(small, "AVIF")
    return samples


@pytest.mark.parametrize(("name", "data"), sorted(_refused_samples().items()))
def test_unsupported_or_garbage_bytes_are_415(name: str, data: bytes) -> None:
    error = rejected(data)
    assert error.status == 415, name
    assert ACCEPTED_TYPES in error.reason
    assert error.field == "file"


def test_type_comes_from_the_bytes_not_a_name() -> None:
    # process_image never sees a file name: PNG bytes are PNG whatever the upload was called.
    result = run(encode(split_image(), "PNG"))
    assert result.mime == "image/png"


# --------------------------------------------------------------------------- #
# decompression bombs


@pytest.fixture(scope="module")
def png_bomb() -> bytes:
    """A 10000×5000 single-colour PNG: 50 megapixels in a few kilobytes."""
    # Mode "1" keeps the test's own memory and encoding time small; the pixel
    # count, which is what the limit is about, is the same as for RGB.
    return encode(Image.new("1", (10_000, 5_000), 1), "PNG")


def test_png_bomb_is_refused_without_decoding(png_bomb: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(png_bomb) < 200_000

    def must_not_decode(self: Any, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_decode)
    error = rejected(png_bomb, max_pixels=40_000_000)

    assert error.status == 422
    assert error.reason == "image too large: 10000×5000 pixels exceeds the limit of 40000000"


def _sample(fmt: str) -> bytes:
    image = split_image((200, 100))
    if fmt == "HEIF":
        return encode(image, "HEIF", quality=60)
    return encode(image, fmt)


@pytest.mark.parametrize(
    "fmt",
    ["JPEG", "PNG", "WEBP", pytest.param("HEIF", marks=needs_heic_encoder)],
)
def test_pixel_limit_is_checked_from_the_header_before_decoding(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _sample(fmt)

    def must_not_decode(image: Any) -> None:
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(imaging, "_load", must_not_decode)
    error = rejected(data, max_pixels=200 * 100 - 1)
    assert error.status == 422
    assert error.reason == f"image too large: 200×100 pixels exceeds the limit of {200 * 100 - 1}"


def test_webp_limit_is_checked_before_pillow_allocates_its_canvas(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pillow's WebP opener builds the decoder (and its canvas) inside _open.
    def must_not_open(self: Any) -> None:
        raise AssertionError("WebP opener ran before the pixel check")

    data = encode(split_image((200, 100)), "WEBP")
    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "_open", must_not_open)
    assert rejected(data, max_pixels=1000).status == 422


@pytest.mark.parametrize(
    ("pillow_limit", "outcome"),
    [(300, "warning"), (150, "error")],  # 20×20 = 400 pixels: over the limit, or over twice it
)
def test_pillows_own_bomb_check_never_escapes(
    pillow_limit: int, outcome: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = encode(split_image((20, 20)), "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pillow_limit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # would record a DecompressionBombWarning that leaked
        error = rejected(data, max_pixels=1_000_000)
    assert caught == [], outcome
    assert error.status == 422
    assert error.reason.startswith("image too large")


# --------------------------------------------------------------------------- #
# corrupt pixel data


def test_truncated_jpeg_is_422() -> None:
    data = encode(split_image((600, 400)), "JPEG", quality=95)
    error = rejected(data[: len(data) // 2])
    assert (error.status, error.reason) == (422, "image data is corrupt")


def test_truncated_png_is_422() -> None:
    noisy = Image.effect_noise((300, 200), 60).convert("RGB")  # noise so IDAT is large
    data = encode(noisy, "PNG")
    error = rejected(data[: len(data) * 2 // 3])
    assert (error.status, error.reason) == (422, "image data is corrupt")


def test_corrupt_exif_does_not_reject_a_good_photo() -> None:
    # A doubled "Exif\0\0" header makes Pillow warn "Corrupt EXIF data"; under
    # -W error that warning must not abort the upload.
    raw = b"Exif\x00\x00Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"
    result = run(encode(split_image(), "JPEG", exif=raw))
    assert (result.width, result.height, result.taken_at) == (400, 200, None)


# --------------------------------------------------------------------------- #
# orientation, display copy and thumbnail


def test_jpeg_orientation_6_swaps_dimensions_and_rotates_display_and_thumbnail() -> None:
    data = encode(split_image((400, 200)), "JPEG", quality=95, exif=make_exif(orientation=6))
    result = run(data)

    assert result.mime == "image/jpeg"
    assert (result.width, result.height) == (200, 400)
    # Orientation 6 means "rotate 90° clockwise to view": the stored left (red)
    # half ends up on top.
    assert result.display is not None
    assert result.display_mime == "image/jpeg"
    display = decode(result.display)
    assert display.format == "JPEG"
    assert display.size == (200, 400)
    assert close_to(display.getpixel((100, 50)), RED)
    assert close_to(display.getpixel((100, 350)), BLUE)
    assert_no_metadata(result.display)

    thumbnail = decode(result.thumbnail)
    assert thumbnail.format == "JPEG"
    assert thumbnail.size == (160, 320)
    assert close_to(thumbnail.getpixel((80, 40)), RED)
    assert close_to(thumbnail.getpixel((80, 280)), BLUE)


@pytest.mark.parametrize(
    ("orientation", "size"),
    [(1, (400, 200)), (2, (400, 200)), (3, (400, 200)), (5, (200, 400)), (8, (200, 400))],
)
def test_every_orientation_reports_displayed_dimensions(orientation: int, size: tuple[int, int]) -> None:
    result = run(encode(split_image(), "JPEG", exif=make_exif(orientation=orientation)))
    assert (result.width, result.height) == size
    assert decode(result.thumbnail).size == (size[0] * 320 // 400, size[1] * 320 // 400)
    assert (result.display is None) == (orientation == 1)


def test_upright_jpeg_is_served_as_is_and_thumbnailed_from_a_draft(monkeypatch: pytest.MonkeyPatch) -> None:
    drafts: list[Any] = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self: Any, mode: Any, size: Any) -> Any:
        outcome = real_draft(self, mode, size)
        drafts.append(outcome)
        return outcome

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)

    result = run(encode(split_image((3200, 2400)), "JPEG", exif=make_exif(orientation=1)))

    assert result.display is None
    assert result.display_mime is None
    assert (result.width, result.height) == (3200, 2400)  # the original size, not the draft's
    assert len(drafts) == 1
    assert drafts[0] is not None  # libjpeg really scaled the decode down
    thumbnail = decode(result.thumbnail)
    assert thumbnail.size == (320, 240)
    assert close_to(thumbnail.getpixel((40, 120)), RED)
    assert close_to(thumbnail.getpixel((280, 120)), BLUE)


def test_small_image_thumbnail_is_not_enlarged() -> None:
    result = run(encode(split_image((100, 50)), "PNG"))
    assert decode(result.thumbnail).size == (100, 50)


def test_tall_image_thumbnail_longest_side_is_320() -> None:
    result = run(encode(split_image((300, 1200)), "PNG"))
    assert decode(result.thumbnail).size == (80, 320)


def test_png_is_accepted_and_served_as_is() -> None:
    result = run(encode(split_image((640, 480)), "PNG"))
    assert result.mime == "image/png"
    assert (result.width, result.height) == (640, 480)
    assert result.display is None
    assert result.display_mime is None
    thumbnail = decode(result.thumbnail)
    assert (thumbnail.format, thumbnail.size) == ("JPEG", (320, 240))


def test_transparent_png_thumbnail_is_flattened_on_white() -> None:
    image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    image.paste((20, 20, 220, 255), (100, 0, 200, 100))
    thumbnail = decode(run(encode(image, "PNG")).thumbnail)
    assert thumbnail.mode == "RGB"
    assert close_to(thumbnail.getpixel((20, 50)), (255, 255, 255))
    assert close_to(thumbnail.getpixel((180, 50)), BLUE)


def test_palette_png_with_orientation_keeps_png_for_display() -> None:
    image = split_image((400, 200)).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    result = run(encode(image, "PNG", exif=make_exif(orientation=6)))
    assert (result.width, result.height) == (200, 400)
    assert result.display_mime == "image/png"
    assert result.display is not None
    display = decode(result.display)
    assert display.format == "PNG"
    assert display.size == (200, 400)
    assert close_to(display.convert("RGB").getpixel((100, 50)), RED, tolerance=5)
    assert_no_metadata(result.display)
    assert decode(result.thumbnail).size == (160, 320)


def test_webp_is_accepted_and_served_as_is() -> None:
    result = run(encode(split_image(), "WEBP", quality=90))
    assert result.mime == "image/webp"
    assert (result.width, result.height) == (400, 200)
    assert result.display is None
    assert decode(result.thumbnail).size == (320, 160)


@pytest.mark.parametrize("lossless", [False, True])
def test_rotated_webp_display_stays_webp_and_keeps_losslessness(lossless: bool) -> None:
    data = encode(split_image(), "WEBP", lossless=lossless, exif=make_exif(orientation=6))
    result = run(data)
    assert (result.width, result.height) == (200, 400)
    assert result.display_mime == "image/webp"
    assert result.display is not None
    display = decode(result.display)
    assert (display.format, display.size) == ("WEBP", (200, 400))
    assert close_to(display.getpixel((100, 50)), RED)
    assert (b"VP8L" in result.display) == lossless
    assert_no_metadata(result.display)


def test_multi_picture_jpeg_counts_as_jpeg() -> None:
    # Many phone cameras write MPO (a JPEG plus extra pictures); Pillow calls it "MPO".
    data = encode(
        split_image(),
        "MPO",
        save_all=True,
        append_images=[Image.new("RGB", (400, 200), BLUE)],
        exif=make_exif(orientation=6),
    )
    result = run(data)
    assert result.mime == "image/jpeg"
    assert (result.width, result.height) == (200, 400)
    assert result.display_mime == "image/jpeg"


def test_cmyk_jpeg_rotated_display_stays_cmyk_and_thumbnail_is_rgb() -> None:
    data = encode(split_image(mode="CMYK"), "JPEG", exif=make_exif(orientation=8))
    result = run(data)
    assert (result.width, result.height) == (200, 400)
    assert result.display is not None
    assert decode(result.display).mode == "CMYK"
    assert decode(result.thumbnail).mode == "RGB"


def test_icc_profile_survives_re_encoding() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    result = run(encode(split_image(), "JPEG", icc_profile=icc, exif=make_exif(orientation=3)))
    assert result.display is not None
    assert decode(result.display).info.get("icc_profile") == icc
    assert decode(result.thumbnail).info.get("icc_profile") == icc


def test_display_and_thumbnail_carry_no_gps_or_exif() -> None:
    exif = make_exif(
        orientation=6,
        taken="2024:05:01 10:20:30",
        gps=gps_tags("N", (31.0, 13.0, 48.0), "E", (121.0, 28.0, 12.0)),
    )
    result = run(encode(split_image(), "JPEG", exif=exif, comment=b"Model XYZ serial 123"))
    assert result.gps_lat is not None
    assert result.display is not None
    assert_no_metadata(result.display)
    assert_no_metadata(result.thumbnail)


# --------------------------------------------------------------------------- #
# taken_at


def test_taken_at_uses_offset_time_original() -> None:
    exif = make_exif(taken="2024:05:01 10:20:30", offset="+08:00")
    result = run(encode(split_image(), "JPEG", exif=exif), local_tz="America/New_York")
    assert result.taken_at == datetime(2024, 5, 1, 2, 20, 30, tzinfo=UTC)
    assert result.taken_at is not None
    assert result.taken_at.utcoffset() is not None


def test_taken_at_negative_offset() -> None:
    exif = make_exif(taken="2024:05:01 10:20:30", offset="-05:30")
    assert run(encode(split_image(), "JPEG", exif=exif)).taken_at == datetime(
        2024, 5, 1, 15, 50, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("zone", "expected_hour"),
    [("Asia/Shanghai", 2), ("America/New_York", 14), ("UTC", 10)],  # New York is on EDT in May
)
def test_taken_at_without_offset_is_read_in_the_local_zone(zone: str, expected_hour: int) -> None:
    exif = make_exif(taken="2024:05:01 10:20:30")
    result = run(encode(split_image(), "JPEG", exif=exif), local_tz=zone)
    assert result.taken_at == datetime(2024, 5, 1, expected_hour, 20, 30, tzinfo=UTC)
    assert result.taken_at is not None
    assert result.taken_at.tzinfo == UTC


def test_unparsable_offset_falls_back_to_the_local_zone() -> None:
    exif = make_exif(taken="2024:05:01 10:20:30", offset="   :  ")
    assert run(encode(split_image(), "JPEG", exif=exif)).taken_at == datetime(
        2024, 5, 1, 2, 20, 30, tzinfo=UTC
    )


def test_taken_at_absent_is_none() -> None:
    assert run(encode(split_image(), "JPEG")).taken_at is None
    assert run(encode(split_image(), "JPEG", exif=make_exif(orientation=1))).taken_at is None


@pytest.mark.parametrize("value", ["not a date", "0000:00:00 00:00:00", "2024:13:45 10:20:30", "    "])
def test_taken_at_unparsable_is_none(value: str) -> None:
    assert run(encode(split_image(), "JPEG", exif=make_exif(taken=value))).taken_at is None


def test_taken_at_from_png_exif() -> None:
    exif = make_exif(taken="2024:05:01 10:20:30", offset="+08:00")
    # Pass bytes: Pillow 13's PNG writer tests the Exif object for truth, and one
    # holding only sub-IFDs has len() 0, so it would silently write no eXIf chunk.
    result = run(encode(split_image(), "PNG", exif=exif.tobytes()))
    assert result.taken_at == datetime(2024, 5, 1, 2, 20, 30, tzinfo=UTC)


# --------------------------------------------------------------------------- #
# GPS


def test_gps_north_east_is_positive() -> None:
    exif = make_exif(gps=gps_tags("N", (31.0, 13.0, 48.0), "E", (121.0, 28.0, 12.0)))
    result = run(encode(split_image(), "JPEG", exif=exif))
    assert result.gps_lat == pytest.approx(31.23)
    assert result.gps_lng == pytest.approx(121.47)


def test_gps_south_west_is_negative() -> None:
    exif = make_exif(gps=gps_tags("S", (33.0, 52.0, 4.8), "W", (151.0, 12.0, 36.0)))
    result = run(encode(split_image(), "WEBP", exif=exif))
    assert result.gps_lat == pytest.approx(-(33 + 52 / 60 + 4.8 / 3600))
    assert result.gps_lng == pytest.approx(-(151 + 12 / 60 + 36 / 3600))


def test_gps_absent_is_none() -> None:
    result = run(encode(split_image(), "JPEG", exif=make_exif(orientation=1)))
    assert (result.gps_lat, result.gps_lng) == (None, None)


@pytest.mark.parametrize(
    "gps",
    [
        pytest.param(gps_tags("X", (31.0, 13.0, 48.0), "E", (121.0, 28.0, 12.0)), id="bad ref"),
        pytest.param(
            {ExifTags.GPS.GPSLatitude: (31.0, 13.0, 48.0), ExifTags.GPS.GPSLongitude: (121.0, 28.0, 12.0)},
            id="no refs",
        ),
        pytest.param(
            gps_tags("N", (IFDRational(31, 0), 13.0, 48.0), "E", (121.0, 28.0, 12.0)), id="zero denominator"
        ),
        pytest.param(gps_tags("N", (95.0, 0.0, 0.0), "E", (121.0, 28.0, 12.0)), id="latitude over 90"),
        pytest.param(gps_tags("N", (31.0, 75.0, 0.0), "E", (121.0, 28.0, 12.0)), id="75 minutes"),
        pytest.param(
            {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (31.0, 13.0, 48.0)},
            id="latitude only",
        ),
    ],
)
def test_gps_malformed_is_none(gps: dict[int, Any]) -> None:
    result = run(encode(split_image(), "JPEG", exif=make_exif(gps=gps)))
    assert (result.gps_lat, result.gps_lng) == (None, None)


# --------------------------------------------------------------------------- #
# HEIC


@needs_heic_encoder
def test_heic_is_accepted_with_metadata_and_a_jpeg_display_copy() -> None:
    exif = make_exif(
        orientation=6,
        taken="2024:05:01 10:20:30",
        offset="+08:00",
        gps=gps_tags("N", (31.0, 13.0, 48.0), "E", (121.0, 28.0, 12.0)),
    )
    data = encode(split_image((400, 200)), "HEIF", quality=80, exif=exif.tobytes())
    assert data[4:12] == b"ftypheic"

    result = run(data)

    assert result.mime == "image/heic"
    # pillow-heif stores the EXIF orientation as a HEIF rotation, which libheif
    # applies while decoding: the reported size is already the upright one.
    assert (result.width, result.height) == (200, 400)
    assert result.taken_at == datetime(2024, 5, 1, 2, 20, 30, tzinfo=UTC)
    assert result.gps_lat == pytest.approx(31.23)
    assert result.gps_lng == pytest.approx(121.47)
    # Browsers other than Safari cannot show HEIC, so there is always a JPEG copy.
    assert result.display_mime == "image/jpeg"
    assert result.display is not None
    display = decode(result.display)
    assert (display.format, display.size) == ("JPEG", (200, 400))
    assert close_to(display.getpixel((100, 50)), RED)
    assert close_to(display.getpixel((100, 350)), BLUE)
    assert_no_metadata(result.display)
    thumbnail = decode(result.thumbnail)
    assert (thumbnail.format, thumbnail.size) == ("JPEG", (160, 320))


@needs_heic_encoder
def test_upright_heic_still_gets_a_jpeg_display_copy() -> None:
    result = run(encode(split_image((400, 200)), "HEIF", quality=80))
    assert (result.mime, result.width, result.height) == ("image/heic", 400, 200)
    assert result.display_mime == "image/jpeg"
    assert result.display is not None


@needs_heic_encoder
def test_truncated_heic_is_rejected() -> None:
    data = encode(Image.effect_noise((256, 256), 60).convert("RGB"), "HEIF", quality=90)
    # The container header still parses; the coded picture it points to is cut off.
    error = rejected(data[: len(data) * 2 // 3])
    assert (error.status, error.reason) == (422, "image data is corrupt")
