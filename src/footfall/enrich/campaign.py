"""Campaigns from the page URL: ``utm_*`` parameters and ad click ids.

``utm_source``/``utm_medium`` say where a visit came from better than the referrer does (a newsletter
link has no referrer), so when present they set ``source``/``medium``. Without them, a click id names
its ad network: ``gclid`` → Google, ``msclkid`` → Bing, ``fbclid`` → Facebook, ... Click ids of ad
networks set the medium ``paid``; ``fbclid`` (added to every outbound Facebook link) sets ``social``.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl

from footfall.model import App, Context, Hit
from footfall.schema import cap_text

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

# click id parameter → (source, medium)
CLICK_IDS: dict[str, tuple[str, str]] = {
    "gclid": ("Google", "paid"),
    "gbraid": ("Google", "paid"),
    "wbraid": ("Google", "paid"),
    "dclid": ("Google", "paid"),
    "msclkid": ("Bing", "paid"),
    "fbclid": ("Facebook", "social"),
    "ttclid": ("TikTok", "paid"),
    "twclid": ("X", "paid"),
    "li_fat_id": ("LinkedIn", "paid"),
    "yclid": ("Yandex", "paid"),
}
_MARKERS = ("utm_", *CLICK_IDS)
_CONTROL = dict.fromkeys([*range(0x20), 0x7F])


def _clean(value: str) -> str | None:
    value = value.translate(_CONTROL).strip()
    return value or None


@lru_cache(maxsize=4096)
def campaign_params(url: str) -> dict[str, str]:
    """The utm_* and click-id parameters of a URL (first value of each, names lower-cased).
    Cached: campaign links repeat (the result must not be changed by callers)."""
    query = url.partition("?")[2].partition("#")[0]
    if not query or not any(marker in query.lower() for marker in _MARKERS):
        return {}
    found: dict[str, str] = {}
    for key, value in parse_qsl(query, max_num_fields=200):
        key = key.lower()
        if (key in UTM_FIELDS or key in CLICK_IDS) and key not in found:
            cleaned = _clean(value)
            if cleaned is not None:
                found[key] = cleaned
    return found


class CampaignStep:
    """Fills utm_* and, from them or a click id, source and medium."""

    def __call__(self, hit: Hit, ctx: Context, app: App) -> str | None:
        url = hit.url or ctx.headers.get("referer")  # a pixel without url: the page that loaded it
        if not url or "?" not in url:
            return None
        params = campaign_params(url)
        if not params:
            return None
        for name in UTM_FIELDS:
            value = params.get(name)
            if value is not None:
                setattr(hit, name, cap_text(name, value))
        click = next((CLICK_IDS[k] for k in CLICK_IDS if k in params), None)
        source = params.get("utm_source")
        medium = params.get("utm_medium")
        if source is not None:
            hit.source = source[:64]
        elif click is not None:
            hit.source = click[0]
        if medium is not None:
            hit.medium = medium.lower()[:16]
        elif click is not None and source is None:
            hit.medium = click[1]
        return None
