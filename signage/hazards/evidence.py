"""Evidence integrity: does a photo's EXIF say it was taken at the sign, and recently?

A photo that fails a check is still accepted (a phone may strip EXIF, a GPS fix may be
poor) but the hazard is flagged and each reason is kept on the photo's link, so a
supervisor can look. Flags are shown to supervisors and admins only: owners and field
staff do not learn which checks a photo must pass.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from signage.core.recorded import skew
from signage.patrols.geo import LatLng, distance_m
from signage.photos.models import Photo

MAX_DISTANCE_M = 100.0
MAX_AGE = timedelta(days=1)


def flags_for(
    photo: Photo, *, stage: str, place: LatLng, received_at: datetime, found_at: datetime
) -> list[dict]:
    """The integrity flags of one photo attached at a stage, as [{code, detail, ...}]."""
    flags: list[dict] = []
    if photo.gps_lat is None or photo.gps_lng is None:
        flags.append({"code": "no_gps", "detail": "照片无GPS位置 / the photo has no GPS position"})
    else:
        metres = distance_m((photo.gps_lat, photo.gps_lng), place)
        if metres > MAX_DISTANCE_M:
            flags.append(
                {
                    "code": "far_from_sign",
                    "detail": f"拍摄位置距招牌{metres:.0f}米 / taken {metres:.0f} m from the sign",
                    "distance_m": round(metres, 1),
                }
            )
    if photo.taken_at is None:
        flags.append({"code": "no_time", "detail": "照片无拍摄时间 / the photo has no capture time"})
    else:
        age = received_at - photo.taken_at
        if age > MAX_AGE:
            flags.append(
                {
                    "code": "taken_long_before",
                    "detail": f"拍摄于{age.total_seconds() / 3600:.0f}小时前 / taken "
                    f"{age.total_seconds() / 3600:.0f} h before it was received",
                    "age_hours": round(age.total_seconds() / 3600, 1),
                }
            )
        elif photo.taken_at > received_at + skew():
            flags.append(
                {"code": "taken_in_future", "detail": "拍摄时间晚于服务器时间 / capture time is ahead"}
            )
        if stage != "finding" and photo.taken_at < found_at:
            flags.append(
                {
                    "code": "taken_before_finding",
                    "detail": "整改照片早于发现时间 / after-photo predates the finding",
                }
            )
    return flags
