"""Candidate classifiers, the time split, and how a model is judged against the baseline.

Each candidate is one scikit-learn Pipeline: a ColumnTransformer (numeric: median imputation
then StandardScaler; categorical: OneHotEncoder that ignores categories it has not seen) in
front of the classifier, with a fixed seed. The releases are split by date: train (oldest),
validation (next), test (newest); a release whose window was still open when the next part
begins is left out of the older part (its label was not known yet at that time). Each candidate is fitted on train and compared on
validation; the chosen one is refitted on train + validation and judged once on test, next
to the other candidates (refitted the same way) and to the majority-class baseline. The test
set never takes part in a choice.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from soundlake.ml.settings import HitSettings

BASELINE = "baseline"
METRIC_NAMES = ("accuracy", "roc_auc", "precision_hit", "recall_hit")
LABEL = "hit"


def classifier(kind: str, seed: int):
    if kind == "random_forest":
        return RandomForestClassifier(n_estimators=300, min_samples_leaf=3, max_features="sqrt",
                                      random_state=seed, n_jobs=1)
    if kind == "hist_gradient_boosting":
        return HistGradientBoostingClassifier(learning_rate=0.05, max_iter=200, max_leaf_nodes=15,
                                              min_samples_leaf=20, l2_regularization=1.0,
                                              early_stopping=False, random_state=seed)
    raise ValueError(f"unknown candidate model {kind!r}")


def make_pipeline(kind: str, numeric: list[str], categorical: list[str], seed: int) -> Pipeline:
    prep = ColumnTransformer([
        ("numeric", Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                              ("scale", StandardScaler())]), numeric),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
    ])
    return Pipeline([("prepare", prep), ("classify", classifier(kind, seed))])


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame

    def bounds(self) -> dict[str, str]:
        out = {}
        for name, part in (("train", self.train), ("validation", self.validation), ("test", self.test)):
            out[f"{name}_from"] = str(part["release_date"].min())
            out[f"{name}_to"] = str(part["release_date"].max())
        return out


def _cut(rows: pd.DataFrame, fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(older, newer): the newest `fraction` of rows by release date; one date never straddles."""
    if rows.empty:
        return rows, rows
    dates = rows["release_date"].sort_values(kind="stable").reset_index(drop=True)
    cutoff = dates.iloc[min(len(dates) - 1, int(np.floor(len(dates) * (1 - fraction))))]
    newer = rows["release_date"] >= cutoff
    return rows[~newer].reset_index(drop=True), rows[newer].reset_index(drop=True)


def _purge(older: pd.DataFrame, newer: pd.DataFrame) -> pd.DataFrame:
    """Drop older rows whose label was not known yet when the newer part starts: a model used on
    the first newer release could not have learnt from a window that was still open."""
    if newer.empty:
        return older
    return older[older["window_closes_at"] <= newer["release_ts"].min()].reset_index(drop=True)


def time_split(rows: pd.DataFrame, settings: HitSettings) -> Split:
    rest, test = _cut(rows, settings.test_fraction)
    rest = _purge(rest, test)
    train, validation = _cut(rest, settings.validation_fraction)
    train = _purge(train, validation)
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        classes = set(part[LABEL].astype(int)) if len(part) else set()
        if classes != {0, 1}:
            raise ValueError(
                f"the {name} set ({len(part)} releases) needs hits and non-hits, has {sorted(classes)}: "
                f"{len(rows)} labelled releases are too few (more history, or a shorter window)")
    return Split(train, validation, test)


def evaluate(y: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float]:
    pred = (proba >= threshold).astype(int)
    constant = np.all(proba == proba[0])
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "roc_auc": 0.5 if constant else float(roc_auc_score(y, proba)),
        "precision_hit": float(precision_score(y, pred, zero_division=0)),
        "recall_hit": float(recall_score(y, pred, zero_division=0)),
    }


def baseline(y_train: np.ndarray, y_eval: np.ndarray) -> dict[str, float]:
    """Always the training set's majority class (a constant score: ROC AUC 0.5)."""
    majority = int(np.mean(y_train) > 0.5)
    return evaluate(y_eval, np.full(len(y_eval), float(majority)), 0.5)


@dataclass
class TrainResult:
    chosen: str
    model: Pipeline
    numeric: list[str]
    categorical: list[str]
    split: Split
    validation: dict[str, dict[str, float]]   # candidate (fitted on train) -> metrics on validation
    test: dict[str, dict[str, float]]         # candidate (refitted on train + validation) and baseline
    selected_by: str = "roc_auc"              # the validation metric that chose
    importances: list[tuple[str, float, float]] = field(default_factory=list)  # feature, mean, std

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def lift(self, metric: str = "roc_auc") -> float:
        return self.test[self.chosen][metric] - self.test[BASELINE][metric]


def _xy(rows: pd.DataFrame, features: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    return rows[features], rows[LABEL].astype(int).to_numpy()


def train_and_select(rows: pd.DataFrame, numeric: list[str], categorical: list[str],
                     settings: HitSettings, importance_repeats: int = 5) -> TrainResult:
    """Fit every candidate, choose on validation, refit, judge on test, rank the features."""
    with threadpool_limits(limits=settings.threads):
        return _train_and_select(rows, numeric, categorical, settings, importance_repeats)


def _train_and_select(rows: pd.DataFrame, numeric: list[str], categorical: list[str],
                      settings: HitSettings, importance_repeats: int) -> TrainResult:
    features = [*numeric, *categorical]
    split = time_split(rows, settings)
    x_tr, y_tr = _xy(split.train, features)
    x_va, y_va = _xy(split.validation, features)
    x_te, y_te = _xy(split.test, features)
    x_all, y_all = pd.concat([x_tr, x_va], ignore_index=True), np.concatenate([y_tr, y_va])

    validation, test, refitted = {}, {}, {}
    for kind in settings.candidates:
        m = make_pipeline(kind, numeric, categorical, settings.seed).fit(x_tr, y_tr)
        validation[kind] = evaluate(y_va, m.predict_proba(x_va)[:, 1], settings.threshold)
        refitted[kind] = make_pipeline(kind, numeric, categorical, settings.seed).fit(x_all, y_all)
        test[kind] = evaluate(y_te, refitted[kind].predict_proba(x_te)[:, 1], settings.threshold)
    validation[BASELINE] = baseline(y_tr, y_va)
    test[BASELINE] = baseline(y_all, y_te)
    chosen = max(settings.candidates,
                 key=lambda k: (validation[k][settings.selection_metric], -settings.candidates.index(k)))
    model = refitted[chosen]
    result = TrainResult(chosen, model, list(numeric), list(categorical), split, validation, test,
                         selected_by=settings.selection_metric)
    if importance_repeats:
        imp = permutation_importance(model, x_te, y_te, scoring="roc_auc", n_repeats=importance_repeats,
                                     random_state=settings.seed)
        result.importances = sorted(
            ((f, float(m), float(s)) for f, m, s in zip(features, imp.importances_mean, imp.importances_std)),
            key=lambda t: (-t[1], t[0]))
    return result


def metrics_table(result: TrainResult) -> str:
    """The test metrics of the baseline and every candidate side by side, the choice marked."""
    cols = [BASELINE, *[k for k in result.test if k != BASELINE]]
    heads = [f"{c}{' *' if c == result.chosen else ''}" for c in cols]
    width = max(16, *(len(h) for h in heads))
    lines = [f"{'test metric':<16}" + "".join(f"{h:>{width + 2}}" for h in heads)]
    for m in METRIC_NAMES:
        lines.append(f"{m:<16}" + "".join(f"{result.test[c][m]:>{width + 2}.3f}" for c in cols))
    s = result.split
    lines.append(f"rows: train {len(s.train)}, validation {len(s.validation)}, test {len(s.test)} "
                 f"(hit share in test {s.test[LABEL].mean():.2f})")
    vm = {k: v for k, v in result.validation.items() if k != BASELINE}
    m = result.selected_by
    lines.append(f"* chosen by validation {m}: " + ", ".join(
        f"{k} {v[m]:.3f}" for k, v in vm.items()) + "; the test set chose nothing")
    return "\n".join(lines)


def importance_table(result: TrainResult, top: int = 10) -> str:
    lines = [f"{'feature (test permutation importance, roc_auc)':<48}{'mean':>8}{'std':>8}"]
    for f, m, s in result.importances[:top]:
        lines.append(f"{f:<48}{m:>8.4f}{s:>8.4f}")
    return "\n".join(lines)
