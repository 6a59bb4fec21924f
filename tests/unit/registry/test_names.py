from __future__ import annotations

import random

import pytest

from atlas_streams.registry import Invalid, check_model_name, parse_version, precedence


@pytest.mark.parametrize("name", ["a", "churn", "Churn_v2", "x.y-z", "1model", "a" * 128])
def test_valid_model_names(name: str) -> None:
    assert check_model_name(name) == name


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../etc", "a/b", "a b", "-x", "_x", "é", "a" * 129, None, 5]
)
def test_invalid_model_names(name: object) -> None:
    with pytest.raises(Invalid, match="name must be 1-128"):
        check_model_name(name)


@pytest.mark.parametrize(
    "version", ["0.0.1", "1.2.3", "1.0.0-alpha", "1.0.0-rc.1+build.5", "1.0.0+20130313144700"]
)
def test_valid_versions(version: str) -> None:
    assert parse_version(version) == version


@pytest.mark.parametrize("version", ["1", "1.0", "v1.0.0", "01.0.0", "1.0.0-", "", None, 1.0])
def test_invalid_versions(version: object) -> None:
    with pytest.raises(Invalid, match="semantic version"):
        parse_version(version)


def test_precedence_follows_semver_spec() -> None:
    # The ordering example of semver.org section 11, plus build metadata and multi-digit parts.
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.2",
        "1.0.0-alpha.10",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2.0",
        "1.10.0",
        "2.0.0-rc.1",
        "2.0.0",
    ]
    shuffled = ordered[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=precedence) == ordered


def test_build_metadata_does_not_count() -> None:
    assert precedence("1.0.0+a") == precedence("1.0.0+b") == precedence("1.0.0")
