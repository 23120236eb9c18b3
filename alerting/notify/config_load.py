"""Loading the notification settings from YAML, validated like the inventory.

Every problem names the file, line, field and value, and nothing is applied
until the whole file is right: unset ``${NAME}`` secrets (pulled from the
environment, never written in the file), channel URLs apprise cannot parse,
schema errors, and routes or posts naming posts and channels that do not exist.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from alerting.notify.channel_urls import hidden_url, url_problem
from alerting.notify.config import Channel, NotifyConfig
from common.errors import ConfigError, Problem
from inventory.sources import DocumentError, Located, problems_from_validation, read_yaml

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace ``${NAME}`` from ``env``; return the text and the names that were missing."""
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in env:
            missing.append(m.group(1))
            return ""
        return env[m.group(1)]

    return ENV_REF.sub(sub, text), missing


def load_notify_config(
    path: Path | None,
    env: Mapping[str, str] | None = None,
    extra_channels: Mapping[str, Channel] | None = None,
) -> NotifyConfig:
    """Notification config from ``path`` (None: defaults); ConfigError names file/line/field/value."""
    env = os.environ if env is None else env
    data: dict = {}
    located = Located("(notify defaults)", data)
    if path is not None:
        try:
            located = read_yaml(path)
        except DocumentError as exc:
            raise ConfigError([exc.problem], "notify routes") from None
        if not isinstance(located.data, dict):
            problem = Problem(str(path), 1, "(document)", "…", "expected a mapping")
            raise ConfigError([problem], "notify routes")
        data = dict(located.data)
    problems: list[Problem] = []
    channels = dict(data.get("channels") or {})
    for name, ch in channels.items():
        if isinstance(ch, dict) and isinstance(ch.get("url"), str):
            url, missing = expand_env(ch["url"], env)
            for var in missing:
                problems.append(
                    Problem(
                        located.file,
                        located.line(("channels", name, "url")),
                        f"channels.{name}.url",
                        f"${{{var}}}",
                        "environment variable not set",
                    )
                )
            channels[name] = {**ch, "url": url}
    from_file = set(channels)
    for name, ch in (extra_channels or {}).items():
        channels.setdefault(name, ch)
    data["channels"] = channels
    unset = {p.field.split(".")[1] for p in problems}  # a URL missing its secret is reported once
    problems += _channel_urls({n: channels[n] for n in from_file if n not in unset}, located)
    config: NotifyConfig | None = None
    try:
        config = NotifyConfig.model_validate(data)
    except ValidationError as exc:
        problems += [
            p if ".url" not in p.field else Problem(p.file, p.line, p.field, "***", p.message)
            for p in problems_from_validation(exc, located)
        ]
    if config is not None:
        problems += _references(config, located)
    if problems or config is None:
        raise ConfigError(problems, "notify routes")
    return config


def _channel_urls(channels: Mapping[str, object], located: Located) -> list[Problem]:
    """Channels of the file whose URL apprise cannot parse (others' problems come from validation)."""
    out: list[Problem] = []
    for name, raw in channels.items():
        try:
            channel = Channel.model_validate(raw)
        except ValidationError:
            continue
        why = url_problem(channel)
        if why is not None:
            out.append(
                Problem(
                    located.file,
                    located.line(("channels", name, "url")),
                    f"channels.{name}.url",
                    hidden_url(channel.url.get_secret_value()),
                    why,
                )
            )
    return out


def _references(config: NotifyConfig, located: Located) -> list[Problem]:
    """Routes and posts must name posts and channels that exist."""
    out: list[Problem] = []
    posts = set(config.posts) | {"commune", "noc", "coordinators"}
    for i, route in enumerate(config.routes):
        for j, post in enumerate(route.to):
            if post not in posts:
                out.append(
                    Problem(
                        located.file,
                        located.line(("routes", i, "to", j)),
                        f"routes.{i}.to.{j}",
                        post,
                        "unknown post (define it under posts:)",
                    )
                )
        for j, ch in enumerate(route.channels or ()):
            if ch not in config.channels:
                out.append(
                    Problem(
                        located.file,
                        located.line(("routes", i, "channels", j)),
                        f"routes.{i}.channels.{j}",
                        ch,
                        "unknown channel",
                    )
                )
    for name, post_ in config.posts.items():
        for j, ch in enumerate(post_.channels or ()):
            if ch not in config.channels:
                out.append(
                    Problem(
                        located.file,
                        located.line(("posts", name, "channels", j)),
                        f"posts.{name}.channels.{j}",
                        ch,
                        "unknown channel",
                    )
                )
    for j, post in enumerate(config.escalation.levels):
        if post not in posts:
            out.append(
                Problem(
                    located.file,
                    located.line(("escalation", "levels", j)),
                    f"escalation.levels.{j}",
                    post,
                    "unknown post",
                )
            )
    return out
