"""Validate uploaded evidence photos and derive their metadata, display copy and thumbnail.

Flask-free on purpose: routes turn :class:`ImageRejected` into problem responses.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import struct
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pillow_heif
from PIL import ExifTags, Image, ImageOps

__all__ = [
    "ACCEPTED_MIMES",
    "THUMBNAIL_MAX_SIDE",
    "ImageRejected",
    "ProcessedImage",
    "process_image",
]

# Registration is idempotent and only adds the HEIF opener/saver to Pillow's registry.
pillow_heif.register_heif_opener()

THUMBNAIL_MAX_SIDE = 320
_DISPLAY_QUALITY = 90
_THUMBNAIL_QUALITY = 82

# Pillow format name -> MIME type we report.  A multi-picture JPEG (what many
# Samsung/iPhone cameras write) is opened by Pillow as "MPO" but is still a JPEG.
_MIME_BY_FORMAT: dict[str, str] = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
}
ACCEPTED_MIMES: frozenset[str] = frozenset(_MIME_BY_FORMAT.values())

_UNSUPPORTED = "unsupported image type: only JPEG, PNG, WebP and HEIC/HEIF photos are accepted"
_CORRUPT = "image data is corrupt"

# ISO-BMFF brands: HEVC-coded HEIF (what phones write) and the generic HEIF
# brands; AVIF uses the same container but is not an accepted type.
_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

_ORIENTATION_SWAPS_AXES = frozenset({5, 6, 7, 8})

# Modes the PNG encoder writes as they are; anything else is converted first.
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "P", "RGB", "RGBA"})
_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"})

_EXIF_DATETIME = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")

# What Pillow's TIFF/EXIF parser has been seen to raise on malformed blocks.
_METADATA_ERRORS = (
    SyntaxError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OSError,
    EOFError,
    struct.error,
    ZeroDivisionError,
    OverflowError,
)


class ImageRejected(Exception):  # noqa: N818 - name fixed by the photos API contract
    """An upload that is not an acceptable photo, with the HTTP status to answer."""

    def __init__(self, status: int, reason: str, field: str = "file") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.field = field

    def __repr__(self) -> str:
        return f"ImageRejected({self.status}, {self.reason!r}, field={self.field!r})"


@dataclass(frozen=True)
class ProcessedImage:
    """What an accepted upload yields: identity, metadata and derived renditions."""

    sha256: str
    mime: str
    width: int
    height: int
    size: int
    taken_at: datetime | None
    gps_lat: float | None
    gps_lng: float | None
    # Bytes are left out of repr so logging a result never dumps megabytes.
    display: bytes | None = field(repr=False)
    display_mime: str | None
    thumbnail: bytes = field(repr=False)


def process_image(data: bytes, *, max_bytes: int, max_pixels: int, local_tz: str) -> ProcessedImage:
    """Validate an uploaded photo and derive its metadata, display copy and thumbnail."""
    zone = _zone(local_tz)  # a bad setting should fail loudly, not per upload
    if not data:
        raise ImageRejected(422, "file is empty")
    if len(data) > max_bytes:
        raise ImageRejected(
            413,
            f"file is too large: {len(data)} bytes exceeds the limit of {max_bytes} bytes",
        )

    # Trust the bytes, never a file name or a client-supplied Content-Type.
    fmt = _sniff(data)
    if fmt is None:
        raise ImageRejected(415, _UNSUPPORTED)
    if fmt == "WEBP":
        # Pillow's WebP opener allocates the whole canvas while *opening*, so
        # the pixel limit must be enforced from the raw header first.
        webp_size = _webp_size(data)
        if webp_size is None:
            raise ImageRejected(415, _UNSUPPORTED)
        _check_pixels(webp_size, max_pixels)

    with _pillow_guard():
        image = _open(data, fmt)
        try:
            return _process(data, image, max_pixels=max_pixels, zone=zone)
        finally:
            image.close()


def _process(data: bytes, image: Image.Image, *, max_pixels: int, zone: tzinfo) -> ProcessedImage:
    """Do the work once the header has been parsed and the type is known."""
    pillow_format = image.format or ""
    mime = _MIME_BY_FORMAT.get(pillow_format)
    if mime is None:
        raise ImageRejected(415, _UNSUPPORTED)

    # Header dimensions, checked before a single pixel is decoded.
    header_size = image.size
    _check_pixels(header_size, max_pixels)

    is_jpeg = mime == "image/jpeg"
    if is_jpeg:
        # JPEG EXIF lives in APP1, parsed at open; knowing the orientation now
        # decides whether the full-resolution pixels are needed at all.
        exif = _read_exif(image)
        if _orientation(exif) == 1:
            draft_size = _draft_size(header_size)
            if draft_size is not None:
                # Only the thumbnail needs pixels: libjpeg's DCT scaling
                # decodes at 1/2..1/8 size, which is several times faster.
                image.draft(image.mode, draft_size)
        _load(image)
    else:
        _load(image)
        # PNG may keep eXIf after the pixel data, so read EXIF once loaded.
        exif = _read_exif(image)

    orientation = _orientation(exif)
    taken_at = _taken_at(exif, zone)
    gps_lat, gps_lng = _gps(exif)

    width, height = header_size
    if orientation in _ORIENTATION_SWAPS_AXES:
        width, height = height, width

    icc_profile = image.info.get("icc_profile")
    _strip_metadata(image)
    # exif_transpose reads the orientation cached by _read_exif; with the
    # metadata already stripped it skips rewriting the EXIF block, the step
    # that has historically crashed on malformed EXIF.
    oriented = ImageOps.exif_transpose(image) if orientation != 1 else image

    display: bytes | None = None
    display_mime: str | None = None
    if pillow_format == "HEIF":
        # Only Safari shows HEIC, so it always gets a JPEG copy (libheif has
        # already applied the container's rotation while decoding).
        display, display_mime = _encode_display(oriented, "JPEG", icc_profile)
    elif orientation != 1:
        target = "JPEG" if is_jpeg else pillow_format
        lossless = target == "WEBP" and _webp_is_lossless(data)
        display, display_mime = _encode_display(oriented, target, icc_profile, lossless=lossless)

    return ProcessedImage(
        sha256=hashlib.sha256(data).hexdigest(),
        mime=mime,
        width=width,
        height=height,
        size=len(data),
        taken_at=taken_at,
        gps_lat=gps_lat,
        gps_lng=gps_lng,
        display=display,
        display_mime=display_mime,
        thumbnail=_make_thumbnail(oriented, icc_profile),
    )


# --------------------------------------------------------------------------- #
# Type detection and safety limits


def _sniff(data: bytes) -> str | None:
    """Return the Pillow format name the magic number announces, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and _is_heif_brand(data):
        return "HEIF"
    return None


def _is_heif_brand(data: bytes) -> bool:
    """Tell HEIC/HEIF from other ISO-BMFF files (AVIF, MP4, MOV) by the ftyp brands."""
    box_size = int.from_bytes(data[0:4], "big")
    if box_size < 16:
        return False
    compatible = data[16 : min(box_size, len(data))]
    brands = {data[8:12]} | {compatible[i : i + 4] for i in range(0, len(compatible) - 3, 4)}
    if brands & _HEVC_BRANDS:
        return True
    return bool(brands & _GENERIC_HEIF_BRANDS) and not brands & _AVIF_BRANDS


def _webp_size(data: bytes) -> tuple[int, int] | None:
    """Read a WebP canvas size from the RIFF header without decoding anything."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        return (
            int.from_bytes(data[26:28], "little") & 0x3FFF,
            int.from_bytes(data[28:30], "little") & 0x3FFF,
        )
    if chunk == b"VP8X" and len(data) >= 30:
        return (
            int.from_bytes(data[24:27], "little") + 1,
            int.from_bytes(data[27:30], "little") + 1,
        )
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _webp_is_lossless(data: bytes) -> bool:
    """Tell whether a WebP stores its (first) image losslessly, to keep it so."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    pos = 12
    while pos + 8 <= len(data):
        fourcc = data[pos : pos + 4]
        if fourcc in (b"VP8L", b"VP8 "):
            return fourcc == b"VP8L"
        chunk_size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8 + chunk_size + (chunk_size & 1)  # RIFF chunks are padded to even
    return False


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse images whose pixel count would make decoding a memory bomb."""
    width, height = size
    if width * height > max_pixels:
        raise ImageRejected(
            422,
            f"image too large: {width}×{height} pixels exceeds the limit of {max_pixels}",
        )


@contextmanager
def _pillow_guard() -> Iterator[None]:
    """Make Pillow's bomb check an ImageRejected and silence its metadata chatter."""
    # catch_warnings swaps the process-wide filter list (not thread-local before
    # Python 3.14); the worst a race can do is leave the bomb warning as an error,
    # which this module turns into a 422 anyway.
    with warnings.catch_warnings():
        # Hostile or sloppy metadata makes Pillow warn (e.g. "Corrupt EXIF data");
        # metadata is best effort, and under -W error those warnings would abort.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"(PIL|pillow_heif)\b")
        warnings.filterwarnings("ignore", category=UserWarning, module=re.escape(__name__))
        # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; make it raise.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise ImageRejected(
                422,
                f"image too large: it exceeds the decoder's safety limit of {Image.MAX_IMAGE_PIXELS} pixels",
            ) from exc


def _open(data: bytes, fmt: str) -> Image.Image:
    """Parse the header with the one Pillow plugin the magic number allows."""
    try:
        # Restricting formats means a PNG with a JPEG prefix, say, can never be
        # handed to some other (less hardened) plugin.
        return Image.open(io.BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError):
        raise
    except Exception as exc:  # any plugin failure here means "not a valid header"
        raise ImageRejected(415, _UNSUPPORTED) from exc


def _load(image: Image.Image) -> None:
    """Decode the pixels, mapping any decoder failure to a 422."""
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError):
        raise
    except Exception as exc:  # truncated or corrupt streams raise assorted types
        raise ImageRejected(422, _CORRUPT) from exc


def _zone(name: str) -> ZoneInfo:
    """Resolve the configured zone name, as a ValueError when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone: {name!r}") from exc


def _draft_size(size: tuple[int, int]) -> tuple[int, int] | None:
    """Size to request from JPEG draft mode: twice the thumbnail, like Image.thumbnail."""
    longest = max(size)
    if longest <= THUMBNAIL_MAX_SIDE:
        return None
    scale = 2 * THUMBNAIL_MAX_SIDE / longest
    return max(1, math.ceil(size[0] * scale)), max(1, math.ceil(size[1] * scale))


# --------------------------------------------------------------------------- #
# Metadata


def _read_exif(image: Image.Image) -> Image.Exif | None:
    """Return the image's EXIF, or None when it is missing or unreadable."""
    try:
        exif = image.getexif()
    except _METADATA_ERRORS:  # malformed EXIF must not reject an otherwise good photo
        return None
    return exif if len(exif) else None


def _sub_ifd(exif: Image.Exif, ifd: int) -> Mapping[int, Any]:
    """Return one EXIF sub-IFD, empty when it is missing or malformed."""
    try:
        return exif.get_ifd(ifd)
    except _METADATA_ERRORS:
        return {}


def _orientation(exif: Image.Exif | None) -> int:
    """Return the EXIF orientation 1..8, treating absent or bogus values as 1."""
    if exif is None:
        return 1
    value = exif.get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _text(value: object) -> str | None:
    """Return an EXIF ASCII value without its NUL/space padding, or None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 \t\r\n") or None


def _taken_at(exif: Image.Exif | None, zone: tzinfo) -> datetime | None:
    """Return DateTimeOriginal as an aware UTC datetime, or None."""
    if exif is None:
        return None
    exif_ifd = _sub_ifd(exif, ExifTags.IFD.Exif)
    # Some writers misplace the tag in IFD0; accept it there as a fallback.
    raw = exif_ifd.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTimeOriginal)
    text = _text(raw)
    match = _EXIF_DATETIME.fullmatch(text) if text else None
    if match is None:
        return None
    try:
        # Cameras without a set clock write "0000:00:00 00:00:00": ValueError here.
        naive = datetime(*(int(part) for part in match.groups()))
        offset = _offset(exif_ifd.get(ExifTags.Base.OffsetTimeOriginal))
        # EXIF times are wall-clock times; without an offset the phone was
        # presumably set to the campaign's local zone.
        return naive.replace(tzinfo=offset or zone).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _offset(value: object) -> timezone | None:
    """Parse an EXIF OffsetTime value such as "+08:00", or None."""
    text = _text(value)
    if text is None:
        return None
    if text.upper() == "Z":
        return UTC
    match = _EXIF_OFFSET.fullmatch(text)
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if int(minutes) >= 60 or delta > timedelta(hours=14):  # real offsets span -12..+14
        return None
    return timezone(-delta if sign == "-" else delta)


def _gps(exif: Image.Exif | None) -> tuple[float | None, float | None]:
    """Return signed decimal (lat, lng), or (None, None) unless both are valid."""
    if exif is None:
        return None, None
    gps = _sub_ifd(exif, ExifTags.IFD.GPSInfo)
    if not gps:
        return None, None
    lat = _coordinate(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "N", "S", 90)
    lng = _coordinate(
        gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "E", "W", 180
    )
    if lat is None or lng is None:
        return None, None  # half a position is no position
    return lat, lng


def _coordinate(value: object, ref: object, positive: str, negative: str, limit: float) -> float | None:
    """Convert EXIF degrees/minutes/seconds plus a hemisphere ref to signed degrees."""
    hemisphere = _text(ref)
    if hemisphere is None or hemisphere.upper() not in (positive, negative):
        return None  # without the ref the sign is a guess
    if not isinstance(value, tuple | list) or not 1 <= len(value) <= 3:
        return None
    try:
        parts = [float(part) for part in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    # A zero denominator reads as NaN in Pillow's IFDRational.
    if not all(math.isfinite(part) and part >= 0 for part in parts):
        return None
    degrees, minutes, seconds = parts + [0.0] * (3 - len(parts))
    if minutes >= 60 or seconds >= 60:
        return None
    decimal = degrees + minutes / 60 + seconds / 3600
    if decimal > limit:
        return None
    decimal = round(decimal, 7)  # ~1 cm; more digits are float noise
    return -decimal if hemisphere.upper() == negative else decimal


def _strip_metadata(image: Image.Image) -> None:
    """Drop EXIF/XMP/comments (GPS, device ids) so re-encoded copies carry none."""
    # The colour profile and palette transparency are rendering data, not metadata.
    image.info = {key: value for key, value in image.info.items() if key in ("icc_profile", "transparency")}


# --------------------------------------------------------------------------- #
# Encoding


def _colour_space(mode: str) -> str:
    """Group Pillow modes by the colour space an ICC profile would describe."""
    if mode == "CMYK":
        return "CMYK"
    return "GRAY" if mode in _GRAY_MODES else "RGB"


def _profile_for(source: Image.Image, out: Image.Image, icc_profile: bytes | None) -> bytes | None:
    """Keep the ICC profile only if the output is still in the profile's colour space."""
    if icc_profile and _colour_space(source.mode) == _colour_space(out.mode):
        return icc_profile
    return None


def _flatten(image: Image.Image) -> Image.Image:
    """Composite a transparent image onto white, since JPEG has no alpha."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _jpeg_ready(image: Image.Image) -> Image.Image:
    """Convert to a mode the JPEG encoder writes faithfully."""
    if image.mode in ("RGB", "L"):
        return image
    if image.has_transparency_data:
        return _flatten(image)
    return image.convert("RGB")


def _encode_display(
    image: Image.Image,
    target: str,
    icc_profile: bytes | None,
    *,
    lossless: bool = False,
) -> tuple[bytes, str]:
    """Re-encode the oriented image without metadata; return bytes and MIME type."""
    buffer = io.BytesIO()
    if target == "PNG":
        out = image
        if out.mode not in _PNG_MODES:
            out = out.convert("RGBA" if out.has_transparency_data else "RGB")
        out.save(buffer, "PNG", icc_profile=_profile_for(image, out, icc_profile))
        return buffer.getvalue(), "image/png"
    if target == "WEBP":
        out = image
        if out.mode not in ("RGB", "RGBA"):
            out = out.convert("RGBA" if out.has_transparency_data else "RGB")
        out.save(
            buffer,
            "WEBP",
            quality=_DISPLAY_QUALITY,
            lossless=lossless,
            icc_profile=_profile_for(image, out, icc_profile) or b"",
        )
        return buffer.getvalue(), "image/webp"
    # CMYK is valid JPEG too, so keep it rather than guess a conversion.
    out = image if image.mode == "CMYK" else _jpeg_ready(image)
    out.save(
        buffer,
        "JPEG",
        quality=_DISPLAY_QUALITY,
        icc_profile=_profile_for(image, out, icc_profile),
    )
    return buffer.getvalue(), "image/jpeg"


def _make_thumbnail(image: Image.Image, icc_profile: bytes | None) -> bytes:
    """Return a JPEG whose longest side is at most THUMBNAIL_MAX_SIDE pixels."""
    width, height = image.size
    source = image
    if source.mode not in ("RGB", "L", "RGBA", "LA"):
        # Palette/bilevel images only resize with NEAREST; CMYK/16-bit are
        # converted here so the small result is plain sRGB-ish 8-bit.
        source = source.convert("RGBA" if source.has_transparency_data else "RGB")
    scale = THUMBNAIL_MAX_SIDE / max(width, height)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # reducing_gap lets Pillow box-reduce first, then finish with Lanczos.
        source = source.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = _jpeg_ready(source)
    buffer = io.BytesIO()
    out.save(
        buffer,
        "JPEG",
        quality=_THUMBNAIL_QUALITY,
        optimize=True,
        icc_profile=_profile_for(image, out, icc_profile),
    )
    return buffer.getvalue()
