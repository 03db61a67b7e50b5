"""Settings of the hit model (conf/hit_model.yml), typed and checked once."""
from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import resources

import yaml

PERIODS = ("week", "month", "quarter")
CANDIDATES = ("random_forest", "hist_gradient_boosting")
METRICS = ("roc_auc", "accuracy")


@dataclass(frozen=True)
class HitSettings:
    window_days: int = 28
    period: str = "month"
    min_period_tracks: int = 5
    lookback_days: int = 90
    test_fraction: float = 0.25
    validation_fraction: float = 0.2
    seed: int = 42
    candidates: tuple[str, ...] = CANDIDATES
    selection_metric: str = "roc_auc"
    threshold: float = 0.5
    alias: str = "champion"
    threads: int = 1

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.window_days <= 366:
            problems.append(f"target.window_days must be 1..366, got {self.window_days}")
        if self.period not in PERIODS:
            problems.append(f"target.period must be one of {PERIODS}, got {self.period!r}")
        if self.min_period_tracks < 2:
            problems.append(f"target.min_period_tracks must be at least 2, got {self.min_period_tracks}")
        if not 1 <= self.lookback_days <= 3660:
            problems.append(f"features.lookback_days must be 1..3660, got {self.lookback_days}")
        for name in ("test_fraction", "validation_fraction"):
            v = getattr(self, name)
            if not 0 < v < 0.5:
                problems.append(f"split.{name} must be between 0 and 0.5, got {v}")
        unknown = [c for c in self.candidates if c not in CANDIDATES]
        if not self.candidates or unknown:
            problems.append(f"model.candidates must be a non-empty subset of {CANDIDATES}, got {list(self.candidates)}")
        if self.selection_metric not in METRICS:
            problems.append(f"model.selection_metric must be one of {METRICS}, got {self.selection_metric!r}")
        if not 0 < self.threshold < 1:
            problems.append(f"model.threshold must be between 0 and 1, got {self.threshold}")
        if not self.alias.replace("_", "").isalnum():
            problems.append(f"model.alias must be letters, digits and _, got {self.alias!r}")
        if not 1 <= self.threads <= 64:
            problems.append(f"model.threads must be 1..64, got {self.threads}")
        if problems:
            raise ValueError("hit model settings: " + "; ".join(problems))

    def with_overrides(self, **kw) -> "HitSettings":
        """A copy with the given (non-None) values replaced, checked again."""
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


def parse_hit_settings(doc: dict) -> HitSettings:
    t, f, s, m = doc["target"], doc["features"], doc["split"], doc["model"]
    return HitSettings(
        window_days=int(t["window_days"]), period=str(t["period"]),
        min_period_tracks=int(t["min_period_tracks"]), lookback_days=int(f["lookback_days"]),
        test_fraction=float(s["test_fraction"]), validation_fraction=float(s["validation_fraction"]),
        seed=int(m["seed"]), candidates=tuple(m["candidates"]),
        selection_metric=str(m["selection_metric"]), threshold=float(m["threshold"]),
        alias=str(m["alias"]), threads=int(m.get("threads", 1)),
    )


def hit_settings() -> HitSettings:
    text = resources.files("soundlake").joinpath("conf/hit_model.yml").read_text()
    return parse_hit_settings(yaml.safe_load(text))
