"""Small generated images for the demo: signatures and evidence photos with EXIF time and GPS."""

from __future__ import annotations

import io
import random
from datetime import datetime
from zoneinfo import ZoneInfo

from PIL import ExifTags, Image, ImageDraw


def signature_png(seed: int) -> bytes:
    """A pen scribble on white, different for every seed (so each is stored once)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (360, 120), "white")
    draw = ImageDraw.Draw(image)
    points = [(20 + i * 16, 60 + rng.randint(-35, 35)) for i in range(20)]
    draw.line(points, fill=(20, 30, 90), width=3, joint="curve")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    return float(degrees), float(minutes), round((minutes_full - minutes) * 60, 4)


def evidence_jpeg(*, seed: int, taken_at: datetime, lat: float, lng: float, tz: str, night: bool) -> bytes:
    """A phone-like JPEG of a sign, with EXIF capture time (local, with offset) and GPS."""
    rng = random.Random(seed)
    background = (25, 28, 45) if night else (180, 200, 220)
    image = Image.new("RGB", (480, 360), background)
    draw = ImageDraw.Draw(image)
    colour = (rng.randint(150, 255), rng.randint(40, 200), rng.randint(20, 120))
    draw.rectangle((60, 90, 420, 200), fill=colour, outline=(240, 240, 240), width=4)
    for i in range(rng.randint(3, 6)):
        x = 80 + i * 60
        draw.rectangle(
            (x, 120, x + 40, 170), fill=(255, 250, 230) if rng.random() > 0.25 or not night else (40, 40, 40)
        )
    local = taken_at.astimezone(ZoneInfo(tz))
    offset = local.strftime("%z")
    exif = Image.Exif()
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    exif_ifd[ExifTags.Base.DateTimeOriginal] = local.strftime("%Y:%m:%d %H:%M:%S")
    exif_ifd[ExifTags.Base.OffsetTimeOriginal] = f"{offset[:3]}:{offset[3:]}"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N" if lat >= 0 else "S",
            ExifTags.GPS.GPSLatitude: _dms(abs(lat)),
            ExifTags.GPS.GPSLongitudeRef: "E" if lng >= 0 else "W",
            ExifTags.GPS.GPSLongitude: _dms(abs(lng)),
        }
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif)
    return out.getvalue()
