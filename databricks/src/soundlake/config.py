"""Lakehouse settings (conf/lakehouse.yml), loaded once and typed."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class DurationThresholds:
    short_below_sec: int
    long_from_sec: int

    def __post_init__(self) -> None:
        if not 0 < self.short_below_sec <= self.long_from_sec:
            raise ValueError(
                "duration_flag thresholds need 0 < short_below_sec <= long_from_sec, got "
                f"{self.short_below_sec} and {self.long_from_sec}"
            )


@dataclass(frozen=True)
class Settings:
    duration: DurationThresholds
    dim_date_start: dt.date
    dim_date_end: dt.date
    plausible_track_sec: tuple[int, int]
    plausible_ms_played: tuple[int, int]
    max_broken_reference_ratio: float


def parse_settings(doc: dict) -> Settings:
    s, g = doc["silver"], doc["gold"]
    e = g["expectations"]
    return Settings(
        duration=DurationThresholds(**s["duration_flag"]),
        dim_date_start=dt.date.fromisoformat(str(g["dim_date"]["start"])),
        dim_date_end=dt.date.fromisoformat(str(g["dim_date"]["end"])),
        plausible_track_sec=tuple(e["plausible_track_sec"]),  # type: ignore[arg-type]
        plausible_ms_played=tuple(e["plausible_ms_played"]),  # type: ignore[arg-type]
        max_broken_reference_ratio=float(e["max_broken_reference_ratio"]),
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    text = resources.files("soundlake").joinpath("conf/lakehouse.yml").read_text()
    return parse_settings(yaml.safe_load(text))
