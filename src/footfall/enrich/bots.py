"""Bots: crawlers, AI crawlers, monitoring, HTTP libraries and headless browsers get a name.

Bot hits are stored, flagged (``bot`` = the bot's name, ``device`` = ``bot``), never dropped: visitor
metrics leave them out and a bots report can show them. Detection, first match wins:

1. our table below (``KNOWN_BOTS``): names for the bots site owners ask about;
2. ua-parser's own crawler rules (device family ``Spider``): named after the parsed family;
3. the isbot pattern list (PyPI ``is-bot``): named after the bot-like word in the user agent.

An empty user agent is a bot, except on a server-side request (``Context.server_side``: /collect,
/mp/collect, /api/send, the Python client and middleware): there an empty or HTTP-library user agent
(``useragent.HTTP_LIBRARY``) is the sending server's, not the visitor's, and the hit is no bot. A
false positive on a real browser is worse than a missed bot, so known browser tokens that trip the
isbot patterns are removed before matching (``_NOT_BOT``). isbot is slow per call; results are
cached per user-agent string.
"""

from __future__ import annotations

import functools
import re

import is_bot

from footfall.enrich.useragent import UserAgentParser, senders_agent
from footfall.model import App, Context, Hit

EMPTY_UA_BOT = "Empty user agent"
UNKNOWN_BOT = "Unknown bot"

# (name, case-insensitive pattern). Extend freely; tests/enrich/test_bots.py checks real examples.
KNOWN_BOTS: tuple[tuple[str, str], ...] = (
    # AI crawlers and assistants fetching pages
    ("GPTBot", r"gptbot"),
    ("ChatGPT-User", r"chatgpt-user"),
    ("OAI-SearchBot", r"oai-searchbot"),
    ("ClaudeBot", r"claudebot"),
    ("Claude-User", r"claude-user"),
    ("Claude-SearchBot", r"claude-searchbot"),
    ("anthropic-ai", r"anthropic-ai"),
    ("PerplexityBot", r"perplexitybot"),
    ("Perplexity-User", r"perplexity-user"),
    ("Bytespider", r"bytespider"),
    ("CCBot", r"ccbot"),
    ("Google-Extended", r"google-extended"),
    ("Amazonbot", r"amazonbot"),
    ("Applebot", r"applebot"),
    ("Meta-ExternalAgent", r"meta-externalagent"),
    ("Meta-ExternalFetcher", r"meta-externalfetcher"),
    ("cohere-ai", r"cohere-ai"),
    ("Diffbot", r"diffbot"),
    ("MistralAI-User", r"mistralai-user"),
    ("DuckAssistBot", r"duckassistbot"),
    ("YouBot", r"youbot"),
    ("Timpibot", r"timpibot"),
    ("ImagesiftBot", r"imagesiftbot"),
    # search engines
    ("Googlebot", r"googlebot"),
    ("Google-InspectionTool", r"google-inspectiontool"),
    ("AdsBot-Google", r"adsbot-google"),
    ("Mediapartners-Google", r"mediapartners-google"),
    ("GoogleOther", r"googleother"),
    ("Storebot-Google", r"storebot-google"),
    ("Bingbot", r"bingbot"),
    ("BingPreview", r"bingpreview"),
    ("DuckDuckBot", r"duckduckbot"),
    ("YandexBot", r"yandex\w*bot|yandeximages|yandexmetrika"),
    ("Baiduspider", r"baiduspider"),
    ("Yahoo Slurp", r"yahoo! slurp"),
    ("SeznamBot", r"seznambot"),
    ("Qwantbot", r"qwantbot|qwantify"),
    ("Sogou", r"sogou \w+ spider"),
    ("PetalBot", r"petalbot"),
    ("MojeekBot", r"mojeekbot"),
    # SEO tools
    ("AhrefsBot", r"ahrefs(?:bot|siteaudit)"),
    ("SemrushBot", r"semrushbot|siteauditbot"),
    ("MJ12bot", r"mj12bot"),
    ("DotBot", r"dotbot"),
    ("BLEXBot", r"blexbot"),
    ("DataForSeoBot", r"dataforseobot"),
    ("Screaming Frog", r"screaming frog"),
    # link previews
    ("facebookexternalhit", r"facebookexternalhit|facebookcatalog"),
    ("FacebookBot", r"facebookbot"),
    ("Twitterbot", r"twitterbot"),
    ("LinkedInBot", r"linkedinbot"),
    ("Slackbot", r"slackbot|slack-imgproxy"),
    ("Discordbot", r"discordbot"),
    ("TelegramBot", r"telegrambot"),
    ("WhatsApp", r"^whatsapp/"),
    ("Pinterestbot", r"pinterestbot|^pinterest/0\."),
    ("redditbot", r"redditbot"),
    ("Embedly", r"embedly"),
    ("Iframely", r"iframely"),
    ("SkypeUriPreview", r"skypeuripreview"),
    # monitoring
    ("UptimeRobot", r"uptimerobot"),
    ("Pingdom", r"pingdom"),
    ("StatusCake", r"statuscake"),
    ("Site24x7", r"site24x7"),
    ("Better Stack", r"betteruptime|better ?stack"),
    ("Uptime Kuma", r"uptime-kuma"),
    ("Datadog Synthetics", r"datadogsynthetics"),
    ("New Relic Synthetics", r"newrelicpinger|new relic synthetics"),
    ("Checkly", r"checkly"),
    ("Freshping", r"freshping"),
    ("HetrixTools", r"hetrixtools"),
    ("Nagios", r"check_http|nagios"),
    ("Zabbix", r"zabbix"),
    ("GTmetrix", r"gtmetrix"),
    ("Lighthouse", r"chrome-lighthouse"),
    ("Blackbox Exporter", r"blackbox exporter"),
    ("Prometheus", r"^prometheus/"),
    ("kube-probe", r"kube-probe"),
    ("ELB-HealthChecker", r"elb-healthchecker"),
    ("GoogleHC", r"googlehc"),
    # headless browsers and automation
    ("HeadlessChrome", r"headlesschrome"),
    ("PhantomJS", r"phantomjs"),
    ("Selenium", r"selenium"),
    ("Cypress", r"cypress/"),
    ("jsdom", r"jsdom"),
    ("HtmlUnit", r"htmlunit"),
    # HTTP libraries and command-line clients
    ("curl", r"^curl/|\bcurl/\d"),
    ("Wget", r"^wget/|\bwget/\d"),
    ("python-requests", r"python-requests"),
    ("python-httpx", r"python-httpx"),
    ("aiohttp", r"aiohttp"),
    ("Python-urllib", r"python-urllib"),
    ("Scrapy", r"scrapy"),
    ("Go-http-client", r"go-http-client"),
    ("okhttp", r"^okhttp/"),
    ("axios", r"^axios/"),
    ("node-fetch", r"node-fetch"),
    ("undici", r"^undici"),
    ("Java", r"^java/|apache-httpclient|^jakarta"),
    ("libwww-perl", r"libwww-perl"),
    ("Ruby", r"^ruby\b|^faraday|httparty"),
    ("Guzzle", r"guzzlehttp"),
    ("HTTPie", r"^httpie/"),
    ("PostmanRuntime", r"postmanruntime"),
    ("Insomnia", r"^insomnia/"),
    ("Deno", r"^deno/"),
    ("Bun", r"^bun/"),
    ("reqwest", r"^reqwest"),
    ("WordPress", r"^wordpress/"),
)

# Real-browser tokens that trip an isbot pattern (e.g. LG webOS TVs say "WebAppManager").
_NOT_BOT = re.compile(r"WebAppManager", re.IGNORECASE)
_BOTLIKE_WORD = re.compile(
    r"([a-z][\w.\-]*?(?:bot|spider|crawler|crawl|scraper|fetcher|checker|monitor|scanner|preview))\b",
    re.IGNORECASE,
)
_PRODUCT = re.compile(r"^([^/\s;()]+)")


def _known_bots_pattern() -> re.Pattern[str]:
    alternatives = "|".join(f"(?P<b{i}>{pattern})" for i, (_, pattern) in enumerate(KNOWN_BOTS))
    return re.compile(alternatives, re.IGNORECASE)


def _generic_name(ua: str) -> str:
    word = _BOTLIKE_WORD.search(ua)
    if word:
        return word.group(1)[:64]
    if not ua.lower().startswith("mozilla/"):
        product = _PRODUCT.match(ua)
        if product:
            return product.group(1)[:64]
    return UNKNOWN_BOT


class BotDetector:
    """``name(user_agent)`` → the bot's name, or None for a browser. Cached per user agent."""

    def __init__(self, parser: UserAgentParser, cache_size: int = 65_536) -> None:
        self.parser = parser
        self._known = _known_bots_pattern()
        self._isbot = is_bot.Bots()
        self.name = (
            functools.lru_cache(maxsize=cache_size)(self._name) if cache_size else self._name
        )

    def _name(self, ua: str) -> str | None:
        if not ua.strip():
            return EMPTY_UA_BOT
        known = self._known.search(ua)
        if known and known.lastgroup:
            return KNOWN_BOTS[int(known.lastgroup[1:])][0]
        info = self.parser.parse(ua)
        if info.spider:
            return (info.browser or _generic_name(ua))[:64]
        if self._isbot.is_bot(_NOT_BOT.sub("", ua)):
            return _generic_name(ua)
        return None


class BotStep:
    """Sets ``bot`` to the bot's name and ``device`` to ``bot``; keeps the hit."""

    def __init__(self, detector: BotDetector) -> None:
        self.detector = detector

    def __call__(self, hit: Hit, ctx: Context, app: App) -> str | None:
        ua = hit.user_agent if hit.user_agent is not None else ctx.user_agent
        if senders_agent(ua, ctx):
            return None
        name = self.detector.name(ua)
        if name is not None:
            hit.bot = name
            hit.device = "bot"
        return None
