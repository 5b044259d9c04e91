"""Shared fixtures: the repository's paths and a small shop audience."""

from __future__ import annotations

import pathlib

import pytest

import segcore

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOW = "2024-06-02T12:00:00Z"


@pytest.fixture
def shop() -> segcore.Audience:
    a = segcore.Audience("Europe/Stockholm")
    a.upsert("ada", {"country": "SE", "age": 36, "newsletter": True, "interests": ["yoga"]})
    a.upsert("bob", {"country": "DK", "age": 52})
    a.upsert("cy", {"country": "SE", "age": 19})
    a.tag("ada", "vip", "2024-05-01T00:00:00Z")
    a.tag("cy", "interest:running", "2024-05-20T00:00:00Z")
    a.track("ada", "purchase", "2024-05-30T10:00:00Z", values={"amount": 120.0},
            properties={"category": "shoes"})
    a.track("ada", "purchase", "2024-06-01T10:00:00Z", values={"amount": 80.0},
            properties={"category": "gear"})
    a.track("bob", "purchase", "2024-01-10T10:00:00Z", values={"amount": 700.0})
    a.set_consent("ada", "email", True, "2024-01-01T00:00:00Z")
    a.set_consent("bob", "email", False, "2024-01-01T00:00:00Z")
    a.define("swedes", 'country == "SE"')
    a.define("recent_buyers", "did purchase in last 30d")
    return a
