"""Numeric settings in ``lakeloop.config``: one parsing rule for all of them. An empty, unreadable,
non-finite (``nan``, ``inf``, ``1e400``) or negative value means the setting's default; a finite
number outside the setting's range is clamped into it."""

from __future__ import annotations

import pytest

from lakeloop import config

DEFAULT_BACKOFF = (60.0, 300.0, 1800.0, 7200.0)


@pytest.mark.parametrize(
    ("variable", "value", "read", "expected"),
    [
        ("LAKELOOP_JOBS_BACKOFF_S", "inf", config.jobs_backoff_s, DEFAULT_BACKOFF),
        ("LAKELOOP_JOBS_BACKOFF_S", "1e400", config.jobs_backoff_s, DEFAULT_BACKOFF),
        ("LAKELOOP_JOBS_BACKOFF_S", "60,nan", config.jobs_backoff_s, DEFAULT_BACKOFF),
        ("LAKELOOP_JOBS_BACKOFF_S", "60,-5", config.jobs_backoff_s, DEFAULT_BACKOFF),
        ("LAKELOOP_JOBS_BACKOFF_S", "60,,300", config.jobs_backoff_s, DEFAULT_BACKOFF),
        ("LAKELOOP_JOBS_LINGER_S", "inf", config.jobs_linger_s, 5.0),
        ("LAKELOOP_JOBS_LINGER_S", "-1", config.jobs_linger_s, 5.0),
        ("LAKELOOP_JOBS_LEASE_S", "nan", config.jobs_lease_s, 45.0),
        ("LAKELOOP_SUMMARY_EVERY_HOURS", "nan", config.summary_every_hours, 2.0),
        ("LAKELOOP_SUMMARY_EVERY_HOURS", "-inf", config.summary_every_hours, 2.0),
        ("LAKELOOP_SUMMARY_MAX_PER_DAY", "-5", config.summary_max_per_day, 50),
        ("LAKELOOP_SUMMARY_MAX_PER_DAY", "five", config.summary_max_per_day, 50),
        ("LAKELOOP_SUMMARY_EVERY_N", "-1", config.summary_every_n, 50),
        ("LAKELOOP_OUTBOX_MAX_MB", "1e3", config.outbox_max_mb, 256),
    ],
)
def test_a_non_finite_negative_or_unreadable_number_means_the_default(monkeypatch, variable, value, read, expected):
    monkeypatch.setenv(variable, value)
    assert read() == expected


@pytest.mark.parametrize(
    ("variable", "value", "read", "expected"),
    [
        ("LAKELOOP_JOBS_LINGER_S", "1e20", config.jobs_linger_s, config.MAX_JOBS_LINGER_S),
        ("LAKELOOP_JOBS_BACKOFF_S", "0.1, 1e9", config.jobs_backoff_s, (1.0, config.MAX_JOBS_BACKOFF_S)),
        ("LAKELOOP_JOBS_LEASE_S", "1", config.jobs_lease_s, 3.0),
        ("LAKELOOP_JOBS_LEASE_S", "1e9", config.jobs_lease_s, 60.0),
        ("LAKELOOP_JUDGE_MIN_CONFIDENCE", "7", config.judge_min_confidence, 1.0),
        ("LAKELOOP_SUMMARY_INPUT_CHARS", "10", config.summary_input_chars, 2_000),
        ("LAKELOOP_SUMMARY_MAX_PER_DAY", "0", config.summary_max_per_day, 0),
        ("LAKELOOP_JOBS_LINGER_S", " 2.5 ", config.jobs_linger_s, 2.5),
    ],
)
def test_a_finite_number_is_clamped_into_the_settings_range(monkeypatch, variable, value, read, expected):
    monkeypatch.setenv(variable, value)
    assert read() == expected


def test_the_captured_sessions_recorded_settings_follow_the_same_rule():
    """The summary triggers read the capturing session's recorded environment the same way."""
    assert config.summary_every_hours({"LAKELOOP_SUMMARY_EVERY_HOURS": "nan"}) == 2.0
    assert config.summary_every_n({"LAKELOOP_SUMMARY_EVERY_N": "inf"}) == 50
