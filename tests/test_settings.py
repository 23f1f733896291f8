"""One table of settings: Config has exactly its rows, in its order, with their types and defaults."""

from __future__ import annotations

import dataclasses
import typing

from footfall.settings import SETTINGS, Config


def test_config_has_one_field_per_setting_in_the_same_order() -> None:
    assert [f.name for f in dataclasses.fields(Config)] == [s.name for s in SETTINGS]


def test_each_field_has_its_settings_type_and_default() -> None:
    hints = typing.get_type_hints(Config)
    defaults = Config()
    for setting in SETTINGS:
        expected = tuple[setting.type, ...] if setting.multiple else setting.type
        assert hints[setting.name] == expected, setting.name
        assert getattr(defaults, setting.name) == setting.default, setting.name
        assert isinstance(setting.default, tuple if setting.multiple else setting.type)
