"""``PluginConfig``: the ``plugins:`` section of the server configuration."""

from __future__ import annotations

import dataclasses
from typing import Any

from waav.plugin._typed import FieldError, config_class
from waav.plugin.isolation import IsolationPolicy

__all__ = ["PluginConfig"]


@config_class
class PluginConfig:
    """Plugin loading and per-provider settings.

    ``enabled`` gates third-party plugins (entry points of other distributions and
    ``plugin_dir``); waav's own built-ins are always there. ``provider_config`` maps a
    provider id (or alias) to settings merged into that provider's config when the registry
    creates it (YAML: ``plugins.providers``, or ``plugins.provider_config`` as the upstream
    docs spell it).
    """

    enabled: bool = True
    plugin_dir: str | None = None
    provider_config: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    #: Seconds an async plugin call may take (processors, WS handlers, auth); None = no limit.
    call_timeout: float | None = 5.0
    #: Seconds for a lifecycle hook (init, start, shutdown).
    lifecycle_timeout: float = 10.0
    #: Consecutive crashes/timeouts before a plugin is marked degraded / failed.
    degrade_after: int = 3
    fail_after: int = 10

    def _check(self) -> None:
        if self.call_timeout is not None and self.call_timeout <= 0:
            raise FieldError(("call_timeout",), "must be > 0 (or null for no limit)", owner="PluginConfig")
        if self.lifecycle_timeout <= 0:
            raise FieldError(("lifecycle_timeout",), "must be > 0", owner="PluginConfig")
        if not 1 <= self.degrade_after <= self.fail_after:
            raise FieldError(
                ("degrade_after",), "must satisfy 1 <= degrade_after <= fail_after", owner="PluginConfig"
            )

    def isolation_policy(self) -> IsolationPolicy:
        return IsolationPolicy(
            call_timeout=self.call_timeout,
            lifecycle_timeout=self.lifecycle_timeout,
            degrade_after=self.degrade_after,
            fail_after=self.fail_after,
        )
