"""What a model name and a version string may be, and how versions are ordered.

A model name is 1 to 128 letters, digits, ``_``, ``-`` and ``.``, starting with a letter or a
digit (so ``.`` and ``..`` are not names and a name is always a safe path segment). A version
is a semantic version 2.0.0 string, pre-release and build metadata allowed, ordered by semver
precedence: ``1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-beta < 1.0.0 < 1.0.1``. Build metadata does
not take part in precedence, so ``1.0.0+a`` and ``1.0.0+b`` rank the same.
"""

from __future__ import annotations

import re

import semver

from .errors import Invalid

__all__ = ["check_model_name", "parse_version", "precedence"]

_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")


def check_model_name(value: object, field: str = "name") -> str:
    """Return ``value`` when it is a valid model name.

    Raises:
        Invalid: naming ``field`` and the rule.
    """
    if isinstance(value, str) and _MODEL_NAME.fullmatch(value):
        return value
    raise Invalid(
        f"{field} must be 1-128 letters, digits, '_', '-' or '.', starting with a letter or "
        f"digit; got {value!r}"
    )


def parse_version(value: object, field: str = "version") -> str:
    """Return ``value`` as a canonical semantic version string.

    Raises:
        Invalid: naming ``field`` and showing the expected form.
    """
    if isinstance(value, str):
        try:
            return str(semver.Version.parse(value))
        except ValueError:
            pass
    raise Invalid(
        f"{field} must be a semantic version such as 1.2.0, 2.0.0-rc.1 or 1.0.0+build.5; "
        f"got {value!r}"
    )


def precedence(version: str) -> semver.Version:
    """Return a sort key that orders version strings by semver precedence."""
    return semver.Version.parse(version)
