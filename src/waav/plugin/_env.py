"""Environment-variable parsing shared by the plugin layer and :mod:`waav.config`."""

from __future__ import annotations

import os
from collections.abc import Mapping

from waav._exceptions import ConfigError
from waav.plugin.config import PluginConfig

__all__ = ["parse_bool", "plugin_config_from_env"]

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_bool(value: str, name: str) -> bool:
    """Upstream boolean syntax: true/1/yes and false/0/no, any case (on/off too)."""
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ConfigError(f"environment variable {name}={value!r} is not a boolean (use true/false, 1/0, yes/no)")


def plugin_config_from_env(
    env: Mapping[str, str] | None = None, base: PluginConfig | None = None
) -> PluginConfig:
    """``PLUGINS_ENABLED`` (default true) and ``PLUGINS_DIR`` applied over ``base``."""
    env = os.environ if env is None else env
    kwargs = {}
    if base is not None:
        from waav.plugin._typed import fields_set

        kwargs = {k: getattr(base, k) for k in fields_set(base)}
    if env.get("PLUGINS_ENABLED", "").strip():
        kwargs["enabled"] = parse_bool(env["PLUGINS_ENABLED"], "PLUGINS_ENABLED")
    if env.get("PLUGINS_DIR", "").strip():
        kwargs["plugin_dir"] = env["PLUGINS_DIR"].strip()
    return PluginConfig(**kwargs)
