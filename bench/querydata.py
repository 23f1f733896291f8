"""A realistic, reproducible data set for bench/query.py, loaded in bulk.

The bulk loader: DuckDB (in memory, separate from the store) generates one app's hits as an Arrow
table — sessions of several hits, Zipf-like pages, real-looking referrers, user agents, countries,
a daily rhythm and a few bots — cast to ``footfall.hit_tables.ARROW_SCHEMA`` and written with
``store.insert_events`` in slices, exactly what a buffer flush does, without the HTTP path. All
randomness comes from ``hash(number, salt)``, so the same arguments give the same data.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from footfall.hit_tables import ARROW_SCHEMA

DAY_MS = 86_400_000


def weighted(pairs: list[tuple[str, int]]) -> list[str]:
    """A list in which each value appears ``weight`` times: picking uniformly is a weighted pick."""
    return [value for value, weight in pairs for _ in range(weight)]


SOURCES = [  # (source, referrer, medium, weight)
    ("", "", "direct", 25),
    ("Google", "https://www.google.com/", "search", 38),
    ("Bing", "https://www.bing.com/", "search", 5),
    ("DuckDuckGo", "https://duckduckgo.com/", "search", 4),
    ("Hacker News", "https://news.ycombinator.com/item?id=41234567", "social", 6),
    ("Reddit", "https://www.reddit.com/r/programming/comments/abc123/", "social", 5),
    ("Facebook", "https://m.facebook.com/", "social", 3),
    ("Twitter", "https://t.co/xYz12", "social", 3),
    ("GitHub", "https://github.com/footfall/footfall", "referral", 4),
    ("ChatGPT", "https://chatgpt.com/", "ai", 2),
    ("Newsletter", "", "email", 3),
    ("dev.to", "https://dev.to/someone/a-post-3k2j", "referral", 2),
]
CLIENTS = [  # (browser, version, os, os version, device, user agent, weight)
    (
        "Chrome",
        "131",
        "Windows",
        "10",
        "desktop",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        30,
    ),
    (
        "Safari",
        "18",
        "iOS",
        "18.1",
        "mobile",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        18,
    ),
    (
        "Chrome",
        "131",
        "Android",
        "14",
        "mobile",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        17,
    ),
    (
        "Safari",
        "18",
        "Mac OS",
        "10.15",
        "desktop",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        9,
    ),
    (
        "Firefox",
        "133",
        "Linux",
        "",
        "desktop",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        6,
    ),
    (
        "Edge",
        "131",
        "Windows",
        "10",
        "desktop",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        8,
    ),
    (
        "Samsung Internet",
        "26",
        "Android",
        "14",
        "tablet",
        "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Safari/537.36",
        4,
    ),
    (
        "Firefox",
        "133",
        "Windows",
        "11",
        "desktop",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        8,
    ),
]
BOTS = [
    ("Googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    ("bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
    ("AhrefsBot", "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"),
    ("GPTBot", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2)"),
]
COUNTRIES = weighted(
    [
        ("US", 30),
        ("DE", 12),
        ("GB", 9),
        ("FR", 6),
        ("IN", 8),
        ("NL", 4),
        ("CA", 5),
        ("BR", 4),
        ("JP", 3),
        ("ES", 3),
        ("IT", 3),
        ("PL", 3),
        ("SE", 2),
        ("AU", 3),
        ("CH", 2),
        ("AT", 1),
        ("MX", 1),
        ("KR", 1),
    ]
)
LANGUAGES = weighted([("en-US", 45), ("de-DE", 14), ("en-GB", 10), ("fr-FR", 7), ("es-ES", 5)])
SCREENS = weighted([("1920x1080", 35), ("390x844", 20), ("1440x900", 12), ("2560x1440", 10)])
SECTIONS = ["blog", "docs", "guides", "changelog", "integrations"]
HOURS = weighted(
    [(str(h), 2 + round(8 * math.sin(math.pi * max(0, h - 6) / 16))) for h in range(24)]
)


@dataclass(frozen=True)
class Shape:
    apps: int = 10
    hits: int = 10_000_000
    days: int = 30
    end_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z: the data ends here
    pages: int = 2000
    hits_per_session: float = 3.5
    bot_share: float = 0.03

    def app_hits(self) -> list[int]:
        """Zipf-like app sizes: the largest gets about a third of all hits."""
        weights = [1 / (r + 1) for r in range(self.apps)]
        total = sum(weights)
        return [round(self.hits * w / total) for w in weights]


_GENERATE = """
WITH s AS (
  SELECT i,
    (hash(i, $salt || 'a') % 1000000) / 1e6 AS u_day,
    (hash(i, $salt || 'b') % 1000000) / 1e6 AS u_hour,
    (hash(i, $salt || 'c') % 3600000) AS ms_in_hour,
    (hash(i, $salt || 'd') % 1000000) / 1e6 AS u_visitor,
    (hash(i, $salt || 'e') % 1000000) / 1e6 AS u_len,
    (hash(i, $salt || 'f') % 1000000) / 1e6 AS u_bot,
    hash(i, $salt || 'g') AS r_src,
    hash(i, $salt || 'h') AS r_client,
    hash(i, $salt || 'k') AS r_geo
  FROM range($sessions) t(i)
), sess AS (
  SELECT i AS session_no,
    CAST($start AS BIGINT) + floor(u_day * $days)::BIGINT * 86400000
      + CAST(list_element($hours, 1 + floor(u_hour * len($hours))::INT) AS BIGINT) * 3600000
      + ms_in_hour AS start_ms,
    floor(pow(u_visitor, 1.4) * $visitors)::BIGINT AS visitor_no,
    least(30, 1 + floor(-ln(1 - u_len * 0.999999) * $scale))::INT AS n_hits,
    u_bot < $bot_share AS is_bot,
    1 + (r_src % len($sources))::INT AS src,
    1 + (r_client % len($clients))::INT AS client,
    1 + (r_geo % len($countries))::INT AS geo,
    1 + ((r_geo // 7) % len($languages))::INT AS lang,
    1 + ((r_client // 11) % len($screens))::INT AS scr,
    1 + ((r_src // 13) % len($bots))::INT AS botno
  FROM s
), h AS (
  SELECT sess.*, j,
    start_ms + j * (15000 + (hash(session_no, j, $salt) % 90000))::BIGINT AS ts_ms,
    (hash(session_no, j, $salt || 'p') % 1000000) / 1e6 AS u_page,
    (hash(session_no, j, $salt || 'q') % 1000) AS r_event
  FROM sess, range(n_hits) r(j)
)
SELECT
  $salt || '-' || session_no || '-' || j AS hit_id,
  $app_id AS app_id,
  make_timestamp(CAST(ts_ms AS BIGINT) * 1000) AS ts,
  CASE WHEN j > 0 AND r_event < 40 THEN list_element(['signup', 'download', 'outbound'], 1 + (r_event % 3)::INT)
       ELSE 'pageview' END AS event,
  'js' AS channel,
  md5($salt || 'v' || visitor_no) AS visitor_id,
  md5($salt || 's' || session_no) AS session_id,
  'cookie' AS identity,
  CASE WHEN floor(exp(u_page * ln($pages)))::INT <= 1 THEN '/'
       ELSE '/' || list_element($sections, 1 + (floor(exp(u_page * ln($pages)))::INT % 5))
            || '/page-' || floor(exp(u_page * ln($pages)))::INT END AS path,
  $host AS hostname,
  CASE WHEN j = 0 THEN list_element($referrers, src) END AS referrer,
  list_element($languages, lang) AS language,
  list_element($screens, scr) AS screen,
  CASE WHEN is_bot THEN list_element($bot_agents, botno) ELSE list_element($agents, client) END AS user_agent,
  CASE WHEN is_bot THEN NULL ELSE list_element($browsers, client) END AS browser,
  CASE WHEN is_bot THEN NULL ELSE list_element($browser_versions, client) END AS browser_version,
  CASE WHEN is_bot THEN NULL ELSE list_element($oses, client) END AS os,
  CASE WHEN is_bot THEN NULL ELSE list_element($os_versions, client) END AS os_version,
  CASE WHEN is_bot THEN 'bot' ELSE list_element($devices, client) END AS device,
  CASE WHEN is_bot THEN list_element($bots, botno) ELSE '' END AS bot,
  list_element($countries, geo) AS country,
  CASE WHEN j = 0 THEN list_element($sources_l, src) END AS source,
  CASE WHEN j = 0 THEN list_element($media, src) END AS medium
FROM h
WHERE ts_ms < $end
ORDER BY ts_ms
"""


def app_tables(shape: Shape, app_ids: list[str], hosts: list[str]) -> Iterator[pa.Table]:
    """One Arrow table (in ARROW_SCHEMA) per app, biggest app first."""
    gen = duckdb.connect()
    sources = weighted([(str(i), w) for i, (_, _, _, w) in enumerate(SOURCES)])
    clients = weighted([(str(i), c[6]) for i, c in enumerate(CLIENTS)])
    for n, (app_id, host, hits) in enumerate(zip(app_ids, hosts, shape.app_hits(), strict=True)):
        sessions = max(1, round(hits / shape.hits_per_session))
        params = {
            "salt": f"app{n}",
            "app_id": app_id,
            "host": host,
            "sessions": sessions,
            "visitors": max(1, round(sessions * 0.7)),
            "start": shape.end_ms - shape.days * DAY_MS,
            "end": shape.end_ms,
            "days": shape.days,
            "hours": HOURS,
            # 1 + floor(Exp(scale)) hits has mean 1 + 1 / (e^(1/scale) - 1): solve for the mean
            "scale": 1 / math.log(1 + 1 / (shape.hits_per_session - 1)),
            "bot_share": shape.bot_share,
            "pages": shape.pages,
            "sections": SECTIONS,
            "sources": sources,
            "sources_l": [SOURCES[int(i)][0] for i in sources],
            "referrers": [SOURCES[int(i)][1] for i in sources],
            "media": [SOURCES[int(i)][2] for i in sources],
            "clients": clients,
            "agents": [CLIENTS[int(i)][5] for i in clients],
            "browsers": [CLIENTS[int(i)][0] for i in clients],
            "browser_versions": [CLIENTS[int(i)][1] for i in clients],
            "oses": [CLIENTS[int(i)][2] for i in clients],
            "os_versions": [CLIENTS[int(i)][3] for i in clients],
            "devices": [CLIENTS[int(i)][4] for i in clients],
            "countries": COUNTRIES,
            "languages": LANGUAGES,
            "screens": SCREENS,
            "bots": [b[0] for b in BOTS],
            "bot_agents": [b[1] for b in BOTS],
        }
        table = gen.sql(_GENERATE, params=params).to_arrow_table()
        columns = [
            table.column(f.name).cast(f.type)
            if f.name in table.column_names
            else pa.nulls(table.num_rows, f.type)
            for f in ARROW_SCHEMA
        ]
        yield pa.Table.from_arrays(columns, schema=ARROW_SCHEMA)
    gen.close()
