"""Paired comparison of two runs over the same (fold, seed) models: ``serjax compare W1 W2``.

Two workdirs trained over the same folds and seeds (e.g. fusion vs deep features only, or
SER-FusionNet vs its own step-1 CNN) give one metric per model each. The comparison pairs
model (fold f, seed s) of W1 with model (f, s) of W2 and reports, for ``d = W2 - W1``:

* the mean and (sample) standard deviation of the paired differences;
* a paired t-test p-value (two-sided, ``scipy.stats.ttest_rel``; 1.0 when every difference
  is 0, 0.0 when all are equal and non-zero);
* a sign-flip permutation p-value (two-sided, statistic ``|mean d|``): exact over all
  ``2**n`` sign patterns for ``n <= EXACT_MAX_PAIRS``, else Monte Carlo with ``(1 + hits) /
  (1 + draws)`` from a fixed seed.

Models of one fold share their test actors, so with ``over="models"`` (the default) pairs
within a fold are not independent and the p-values are optimistic; ``over="folds"`` first
averages each fold's seeds and pairs the fold means (honest, but with fewer pairs).

The runs must be comparable: the same (fold, seed) set, the same label space, the same number
of test rows per model and, when both workdirs have ``config.json``, the same ``folds``
section and ``data.corpus``. Otherwise ``CompareError`` says what differs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

METRICS = ("accuracy", "uar", "macro_f1", "weighted_f1")
EXACT_MAX_PAIRS = 16
MONTE_CARLO_DRAWS = 100_000


class CompareError(ValueError):
    """Two runs that cannot be paired; the message says what differs."""


def read_metrics(workdir) -> dict:
    """``workdir/metrics.json`` as a dict (raises CompareError naming the file if missing)."""
    path = Path(workdir) / "metrics.json"
    if not path.is_file():
        raise CompareError(f"{path} not found: point serjax compare at a finished workdir of "
                           "`serjax cv` or `serjax reproduce`")
    return json.loads(path.read_text())


def per_model(summary: dict, metric: str) -> dict[tuple, float]:
    """{(fold, seed): metric} from a metrics.json summary."""
    if metric not in METRICS:
        raise CompareError(f"metric {metric!r}; choose one of {METRICS}")
    return {(m["fold"], m["seed"]): float(m[metric]) for m in summary["models"]}


def _config(workdir) -> dict | None:
    path = Path(workdir) / "config.json"
    return json.loads(path.read_text()) if path.is_file() else None


def check_comparable(w1, w2, s1: dict, s2: dict) -> None:
    """Raises CompareError unless the two runs evaluate the same models on the same data."""
    k1 = {(m["fold"], m["seed"]) for m in s1["models"]}
    k2 = {(m["fold"], m["seed"]) for m in s2["models"]}
    if k1 != k2:
        only1, only2 = sorted(k1 - k2)[:4], sorted(k2 - k1)[:4]
        raise CompareError(
            f"{w1} and {w2} are not over the same folds × seeds: (fold, seed) only in the first "
            f"{only1}, only in the second {only2}; rerun one with the other's folds and seeds")
    if list(s1["labels"]) != list(s2["labels"]):
        raise CompareError(f"{w1} and {w2} have different labels ({s1['labels']} vs "
                           f"{s2['labels']}); compare runs of the same label space")
    n1 = {(m["fold"], m["seed"]): m["n_test"] for m in s1["models"]}
    n2 = {(m["fold"], m["seed"]): m["n_test"] for m in s2["models"]}
    bad = [k for k in sorted(n1) if n1[k] != n2[k]]
    if bad:
        raise CompareError(f"(fold, seed) {bad[0]} tests {n1[bad[0]]} rows in {w1} but "
                           f"{n2[bad[0]]} in {w2}: the test sets differ, so a paired test is "
                           "meaningless")
    c1, c2 = _config(w1), _config(w2)
    if c1 and c2:
        for what, a, b in (("folds", c1.get("folds"), c2.get("folds")),
                           ("data.corpus", c1.get("data", {}).get("corpus"),
                            c2.get("data", {}).get("corpus"))):
            if a != b:
                raise CompareError(f"{w1} and {w2} differ in {what} ({a} vs {b}): their test "
                                   "sets are not the same")


def sign_flip_p(diffs, draws: int = MONTE_CARLO_DRAWS, seed: int = 0) -> tuple[float, str]:
    """Two-sided sign-flip permutation p-value of ``mean(diffs) = 0``; (p, method)."""
    d = np.asarray(diffs, np.float64)
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, observed)
    if len(d) <= EXACT_MAX_PAIRS:
        bits = (np.arange(2 ** len(d))[:, None] >> np.arange(len(d))) & 1
        signs = 1.0 - 2.0 * bits
        stats = np.abs(signs @ d) / len(d)
        return float(np.mean(stats >= observed - tol)), f"exact ({len(signs)} sign patterns)"
    rng = np.random.default_rng(seed)
    signs = rng.choice((1.0, -1.0), size=(draws, len(d)))
    hits = int(np.sum(np.abs(signs @ d) / len(d) >= observed - tol))
    return (1 + hits) / (1 + draws), f"Monte Carlo ({draws} draws)"


def paired_t_p(diffs) -> float:
    """Two-sided paired t-test p-value of ``mean(diffs) = 0`` (see the module docstring)."""
    from scipy import stats

    d = np.asarray(diffs, np.float64)
    if len(d) < 2 or np.allclose(d, d[0]):
        return 1.0 if np.allclose(d, 0.0) else (0.0 if len(d) >= 2 else float("nan"))
    return float(stats.ttest_1samp(d, 0.0).pvalue)


@dataclasses.dataclass
class Comparison:
    """Result of ``compare``; differences are ``second - first``."""
    first: str
    second: str
    metric: str
    over: str
    keys: list
    first_values: np.ndarray
    second_values: np.ndarray
    p_t: float
    p_perm: float
    perm_method: str

    @property
    def diffs(self) -> np.ndarray:
        return self.second_values - self.first_values

    @property
    def n(self) -> int:
        return len(self.keys)

    def as_dict(self) -> dict:
        d = self.diffs
        return {"first": self.first, "second": self.second, "metric": self.metric,
                "over": self.over, "n": self.n,
                "mean_first": float(self.first_values.mean()),
                "mean_second": float(self.second_values.mean()),
                "mean_diff": float(d.mean()),
                "std_diff": float(d.std(ddof=1)) if self.n > 1 else float("nan"),
                "p_t": self.p_t, "p_perm": self.p_perm, "perm_method": self.perm_method}


def compare(w1, w2, metric: str = "accuracy", over: str = "models", seed: int = 0) -> Comparison:
    """Pairs the models of two workdirs (see the module docstring)."""
    if over not in ("models", "folds"):
        raise CompareError(f"over={over!r}; choose 'models' or 'folds'")
    s1, s2 = read_metrics(w1), read_metrics(w2)
    check_comparable(w1, w2, s1, s2)
    v1, v2 = per_model(s1, metric), per_model(s2, metric)
    keys = sorted(v1, key=str)
    if over == "folds":
        folds = sorted({k[0] for k in keys}, key=str)
        a = np.array([np.mean([v1[k] for k in keys if k[0] == f]) for f in folds])
        b = np.array([np.mean([v2[k] for k in keys if k[0] == f]) for f in folds])
        keys = [(f,) for f in folds]
    else:
        a, b = np.array([v1[k] for k in keys]), np.array([v2[k] for k in keys])
    p_perm, method = sign_flip_p(b - a, seed=seed)
    return Comparison(str(w1), str(w2), metric, over, keys, a, b, paired_t_p(b - a), p_perm,
                      method)


def format_comparison(c: Comparison) -> str:
    """A plain-text report: per-pair values, then the paired statistics."""
    d = c.as_dict()
    name = "fold" if c.over == "folds" else "(fold, seed)"
    lines = [f"paired {c.metric}: first = {c.first}", f"                 second = {c.second}",
             "", f"{name:>14}  {'first':>8}  {'second':>8}  {'diff':>8}"]
    for key, a, b in zip(c.keys, c.first_values, c.second_values):
        label = str(key[0]) if len(key) == 1 else f"({key[0]}, {key[1]})"
        lines.append(f"{label:>14}  {a:8.4f}  {b:8.4f}  {b - a:+8.4f}")
    lines += ["", f"n = {d['n']} pairs ({c.over})",
              f"mean first {d['mean_first']:.4f}, mean second {d['mean_second']:.4f}",
              f"paired difference (second - first): {d['mean_diff']:+.4f} ± {d['std_diff']:.4f} "
              "(sample std)",
              f"paired t-test p = {d['p_t']:.4g}",
              f"sign-flip permutation p = {d['p_perm']:.4g} [{d['perm_method']}]"]
    if c.over == "models":
        lines.append("note: models of one fold share test actors; --over folds pairs fold means")
    return "\n".join(lines)


def _cmd_compare(args: argparse.Namespace) -> None:
    result = compare(args.first, args.second, args.metric, args.over)
    print(format_comparison(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result.as_dict(), indent=1))


def add_cli(subparsers) -> None:
    """Registers ``serjax compare W1 W2 [--metric M] [--over models|folds] [--json FILE]``."""
    p = subparsers.add_parser("compare", help="paired statistics of two runs over the same "
                                              "(fold, seed) models")
    p.add_argument("first", type=Path, help="workdir of the first run (baseline)")
    p.add_argument("second", type=Path, help="workdir of the second run")
    p.add_argument("--metric", choices=METRICS, default="accuracy")
    p.add_argument("--over", choices=("models", "folds"), default="models",
                   help="pair every (fold, seed) model, or fold means over seeds")
    p.add_argument("--json", type=Path, default=None, help="also write the statistics here")
    p.set_defaults(func=_cmd_compare)
