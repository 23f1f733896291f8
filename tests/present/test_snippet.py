"""The snippet footfall prints: the tracker script tag plus an image beacon inside <noscript>."""

from __future__ import annotations

from footfall.model import App
from footfall.present.snippet import pixel_snippet, snippet

APP_ID = "3f2b8c1e-7d4a-4e8b-9c2d-1a2b3c4d5e6f"


def test_the_snippet_is_the_script_tag_and_a_noscript_pixel() -> None:
    app = App(id=APP_ID, name="Blog")
    assert snippet(app, "https://stats.example.com/") == (
        f'<script defer data-app="{APP_ID}" src="https://stats.example.com/footfall.js"></script>\n'
        f'<noscript><img src="https://stats.example.com/p.gif?app={APP_ID}"'
        ' alt="" width="1" height="1"></noscript>'
    )


def test_app_settings_that_need_the_tracker_are_in_the_tag() -> None:
    app = App(id=APP_ID, name="Shop", identity="first-party", respect_dnt=True, dnt_action="drop")
    tag = snippet(app, "https://stats.example.com").splitlines()[0]
    assert ' data-identity="first-party"' in tag
    assert " data-respect-dnt " in tag


def test_dnt_counted_anonymously_still_sends_the_hit() -> None:
    app = App(id=APP_ID, name="Blog", respect_dnt=True, dnt_action="anonymous")
    assert "data-respect-dnt" not in snippet(app, "https://stats.example.com")


def test_the_classic_pixel_snippet_is_still_available() -> None:
    text = pixel_snippet(App(id=APP_ID, name="Blog"), "https://stats.example.com")
    assert f"d={{app:'{APP_ID}',path:location.pathname" in text
    assert "new Image().src='https://stats.example.com/p.gif?'+q.join('&');" in text
