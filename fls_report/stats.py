"""Statistics for comparing services: intervals, funnels, run charts, p-charts, disclosure control.

Implements ``statistics.md`` (the public-function contract and §1–§5). Everything is computed on
fractions in [0, 1]; multiply by 100 only when presenting. Distributions come from scipy and
statsmodels; the small funnel, run-chart and SPC functions are written here because no mature
Python package provides them.

References
----------
.. [1] Spiegelhalter DJ. Funnel plots for comparing institutional performance. *Stat Med*
   2005;24:1185-1202 (exact limits, App. A.1.1; over-dispersion, §4-5).
.. [2] Healthcare Quality Improvement Partnership (HQIP). *Detection and management of outliers
   for National Clinical Audits* (alert at 2 SD / 95%, alarm at 3 SD / 99.8%).
.. [3] Anhøj J, Olesen AV. Run charts revisited: a simulation study of run chart rules for
   detection of non-random variation in health care processes. *PLoS ONE* 2014;9:e113825.
.. [4] Laney DB. Improved control charts for attributes. *Quality Engineering* 2002;14:531-537.
.. [5] ukhsa-collaboration/PHEindicatormethods: ``wilson_lower``/``wilson_upper`` and
   ``calculate_funnel_limits`` (Wilson-inverted funnel limits).
.. [6] nhs-r-community/FunnelPlotR (over-dispersion on the arcsine scale) and anhoej/qicharts2
   (runs analysis, p and p' charts), whose published outputs the tests reproduce.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = [
    "wilson_interval",
    "funnel_limits",
    "overdispersion",
    "funnel_status",
    "funnel_table",
    "runs_analysis",
    "p_chart",
    "suppress_count",
    "suppress_counts",
]


def _scipy_stats():
    """``scipy.stats``, imported on first use: importing it takes about a second, which a build
    with nothing to recompute (or a command that only reads parameters) should not pay."""
    from scipy import stats

    return stats


#: Lower-tail probability of each supported funnel level: 95% (alert) and 99.8% (alarm), HQIP.
FUNNEL_TAILS = {0.95: 0.025, 0.998: 0.001}

#: d2 constant for moving ranges of two points (sigma = mean moving range / 1.128).
D2 = 1.128

#: Upper limit of a moving range as a multiple of the mean moving range (D4 for n = 2).
MR_SCREEN = 3.267

#: Fewest useful points for which the Anhøj rules may signal (statistics.md §3).
MIN_USEFUL_POINTS = 10

#: Labels for the two funnel limit families, as recorded in ``funnel_table(...).attrs``.
LIMITS_EXACT = "exact binomial"
LIMITS_ADJUSTED = "overdispersion-adjusted (additive tau2, arcsine)"


# -- helpers -------------------------------------------------------------------------------------


def _as_float_array(values) -> np.ndarray:
    """Return scalars, lists, numpy arrays or pandas Series as a float numpy array."""
    return np.asarray(values, dtype=float)


def _index_of(values, length: int) -> pd.Index:
    """Keep a Series' index so results line up with the caller's units; else 0..length-1."""
    if isinstance(values, pd.Series):
        return values.index
    return pd.RangeIndex(length)


def _lower_tail(level: float) -> float:
    """Lower-tail probability for a funnel ``level``; only 0.95 and 0.998 are supported."""
    try:
        return FUNNEL_TAILS[level]
    except (KeyError, TypeError):
        raise ValueError(
            f"level must be one of {sorted(FUNNEL_TAILS)} (95% or 99.8%), got {level!r}"
        ) from None


def _check_choice(name: str, value, choices: tuple[str, ...]) -> None:
    """Raise a ValueError naming the argument when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def _scalar_or_array(array: np.ndarray):
    """Give a float back for 0-d input, the array otherwise."""
    return float(array) if array.ndim == 0 else array


# -- §1 intervals --------------------------------------------------------------------------------


def wilson_interval(x, n, level: float = 0.95):
    """Wilson score interval for a proportion, without continuity correction.

    The PHE/OHID Fingertips standard (PHEindicatormethods ``wilson_lower``/``wilson_upper``),
    computed by ``statsmodels.stats.proportion.proportion_confint(method="wilson")`` with
    z = Φ⁻¹(1 − (1 − level)/2).

    Parameters
    ----------
    x : scalar or array-like
        Numerators (counts; non-integer values are accepted as PHE's test data use them).
    n : scalar or array-like
        Denominators, broadcast against ``x``.
    level : float, default 0.95
        Two-sided confidence level, strictly between 0 and 1.

    Returns
    -------
    low, high : float or numpy.ndarray
        Bounds as fractions clipped to [0, 1]; NaN where ``n`` is 0. Floats for scalar input,
        arrays otherwise.

    References
    ----------
    Wilson EB. Probable inference, the law of succession, and statistical inference.
    *J Am Stat Assoc* 1927;22:209-212. PHEindicatormethods (see module references).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    x, n = np.broadcast_arrays(_as_float_array(x), _as_float_array(n))
    has_n = n > 0
    from statsmodels.stats.proportion import proportion_confint  # slow to import: only when used

    low, high = proportion_confint(
        np.where(has_n, x, 0.0), np.where(has_n, n, 1.0), alpha=1 - level, method="wilson"
    )
    # Pin the exact end points that rounding in center -/+ dist can miss by an ulp.
    low = np.where(has_n, np.where(x == 0, 0.0, low), np.nan)
    high = np.where(has_n, np.where(x == n, 1.0, high), np.nan)
    return _scalar_or_array(low), _scalar_or_array(high)


# -- §2 funnel plots -----------------------------------------------------------------------------


def _exact_limit(target: np.ndarray, n: np.ndarray, prob: float) -> np.ndarray:
    """Spiegelhalter (2005) App. A.1.1: interpolated Binomial(n, target) quantile, as a fraction."""
    r = _scipy_stats().binom.ppf(prob, n, target)
    alpha = (_scipy_stats().binom.cdf(r, n, target) - prob) / _scipy_stats().binom.pmf(r, n, target)
    return (r - alpha) / n


def _wilson_inverted_limit(target: np.ndarray, n: np.ndarray, prob: float, side: int):
    """PHEindicatormethods ``calculate_funnel_limits``: the p whose Wilson bound touches target."""
    z2 = _scipy_stats().norm.ppf(prob) ** 2
    a = target * (n / z2 + 1)
    c = 1 / z2 + 1 / n
    b_squared = (8 * a) ** 2 - 64 * c * target * (
        n * (target * (n / z2 + 2) - 1) + z2 * (target - 1)
    )
    # Rounding can leave a tiny negative discriminant when target is 0 or 1 (where it is 0).
    b = np.sqrt(np.maximum(b_squared, 0.0))
    return (a + side * b / 8) / (c * n)


def funnel_limits(target, n, level: float, method: str = "exact"):
    """Funnel-plot control limits for a proportion around a target, at each denominator.

    Parameters
    ----------
    target : float or array-like
        The target θ₀ as a fraction in [0, 1] (normally the national Σx/Σn).
    n : scalar or array-like
        Denominators at which to evaluate the limits.
    level : {0.95, 0.998}
        Two-sided coverage: 0.95 gives the HQIP alert limits (2 SD), 0.998 the alarm limits (3 SD).
    method : {"exact", "normal", "wilson"}, default "exact"
        ``"exact"``: Binomial(n, θ₀) quantiles with Spiegelhalter's interpolation
        (r_p = smallest r with F(r) ≥ p; α = (F(r_p) − p)/pmf(r_p); limit = (r_p − α)/n).
        ``"normal"``: θ₀ ± z·sqrt(θ₀(1 − θ₀)/n).
        ``"wilson"``: the observed proportion whose Wilson interval just touches θ₀
        (PHEindicatormethods ``calculate_funnel_limits``).

    Returns
    -------
    low, high : float or numpy.ndarray
        Limits as fractions clipped to [0, 1]; NaN where ``n`` is 0. A target of exactly 0 or 1
        has no binomial variation, so both exact limits equal the target there (the
        interpolation formula would otherwise put the limits just inside a degenerate
        distribution and flag every unit).

    Raises
    ------
    ValueError
        If ``level`` or ``method`` is not one of the supported values.

    References
    ----------
    Spiegelhalter DJ. *Stat Med* 2005;24:1185-1202, Appendix A.1.1. HQIP outlier guidance.
    PHEindicatormethods ``calculate_funnel_limits``.
    """
    tail = _lower_tail(level)
    _check_choice("method", method, ("exact", "normal", "wilson"))
    target, n = np.broadcast_arrays(_as_float_array(target), _as_float_array(n))
    if np.any((target < 0) | (target > 1)):
        raise ValueError("target must be a fraction in [0, 1]")
    has_n = n > 0
    n_safe = np.where(has_n, n, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "exact":
            degenerate = (target == 0) | (target == 1)
            low = np.where(degenerate, target, _exact_limit(target, n_safe, tail))
            high = np.where(degenerate, target, _exact_limit(target, n_safe, 1 - tail))
        elif method == "normal":
            half_width = _scipy_stats().norm.ppf(1 - tail) * np.sqrt(target * (1 - target) / n_safe)
            low, high = target - half_width, target + half_width
        else:
            low = _wilson_inverted_limit(target, n_safe, 1 - tail, side=-1)
            high = _wilson_inverted_limit(target, n_safe, 1 - tail, side=+1)
    low = np.where(has_n, np.clip(low, 0, 1), np.nan)
    high = np.where(has_n, np.clip(high, 0, 1), np.nan)
    return _scalar_or_array(low), _scalar_or_array(high)


def overdispersion(x, n, target=None, trim: float = 0.1) -> dict:
    """Over-dispersion of unit proportions around a target (Spiegelhalter 2005, as FunnelPlotR).

    On the arcsine scale Yᵢ = asin(√p̂ᵢ), sᵢ = 1/(2√nᵢ), zᵢ = (Yᵢ − asin√θ₀)/sᵢ. The z-scores are
    Winsorised at the ``trim`` and ``1 - trim`` quantiles (numpy's default ``linear`` quantile,
    R type 7), φ = mean(z_w²), and the additive random-effects variance is

    τ² = 0 if I·φ < I − 1, else max(0, (I·φ − (I − 1)) / (Σwᵢ − Σwᵢ²/Σwᵢ)), wᵢ = 1/sᵢ².

    Parameters
    ----------
    x, n : array-like
        Numerators and denominators per unit. Units with n = 0 are left out.
    target : float, optional
        θ₀ as a fraction; by default Σx/Σn over the units with n > 0.
    trim : float, default 0.1
        Winsorising fraction at each end, in [0, 0.5).

    Returns
    -------
    dict
        ``phi`` (φ), ``tau2`` (τ², arcsine scale), ``target`` (θ₀ as a proportion) and
        ``n_units`` (I). With fewer than two units φ and τ² cannot be estimated and are NaN.

    References
    ----------
    Spiegelhalter DJ. *Stat Med* 2005;24:1185-1202, §4-5. nhs-r-community/FunnelPlotR.
    """
    if not 0 <= trim < 0.5:
        raise ValueError(f"trim must be in [0, 0.5), got {trim!r}")
    x, n = np.broadcast_arrays(np.atleast_1d(_as_float_array(x)), np.atleast_1d(_as_float_array(n)))
    x, n = x[n > 0], n[n > 0]
    n_units = len(n)
    if target is None:
        theta = x.sum() / n.sum() if n_units else np.nan
    elif 0 <= target <= 1:
        theta = float(target)
    else:
        raise ValueError(f"target must be a fraction in [0, 1], got {target!r}")
    if n_units < 2:
        return {"phi": np.nan, "tau2": np.nan, "target": float(theta), "n_units": n_units}

    s = 1 / (2 * np.sqrt(n))
    z = (np.arcsin(np.sqrt(x / n)) - np.arcsin(np.sqrt(theta))) / s
    z_w = np.clip(z, *np.quantile(z, [trim, 1 - trim]))
    phi = float(np.mean(z_w**2))

    w = 1 / s**2
    if n_units * phi < n_units - 1:
        tau2 = 0.0
    else:
        tau2 = max(0.0, (n_units * phi - (n_units - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    return {"phi": phi, "tau2": float(tau2), "target": float(theta), "n_units": n_units}


def adjusted_funnel_limits(target: float, n, level: float, tau2: float):
    """Over-dispersion-adjusted funnel limits at each n (additive τ², arcsine scale).

    Public for drawing funnel curves; :func:`funnel_table` uses the same computation.
    """
    return _adjusted_limits(target, np.atleast_1d(_as_float_array(n)), level, tau2)


def _adjusted_limits(target: float, n: np.ndarray, level: float, tau2: float):
    """Additive-τ² limits on the arcsine scale: sin²(asin√θ₀ ± z·sqrt(s² + τ²)), clipped."""
    z = _scipy_stats().norm.ppf(1 - _lower_tail(level))
    with np.errstate(divide="ignore"):
        half_width = z * np.sqrt(1 / (4 * n) + tau2)
    centre = np.arcsin(np.sqrt(target))
    # Clip on the angle scale: sin² folds back beyond [0, π/2], which would shrink the limit.
    low = np.sin(np.clip(centre - half_width, 0, np.pi / 2)) ** 2
    high = np.sin(np.clip(centre + half_width, 0, np.pi / 2)) ** 2
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def funnel_status(p, low95, high95, low998, high998) -> np.ndarray:
    """Classify proportions against 95% and 99.8% limits (HQIP alert and alarm).

    A value exactly on a limit is inside. Where the proportion or any limit is NaN (a unit with
    n = 0) the status is ``"none"``.

    Parameters
    ----------
    p, low95, high95, low998, high998 : array-like
        Observed proportions and their limits, all fractions.

    Returns
    -------
    numpy.ndarray of str
        One of ``"alarm low"``, ``"alert low"``, ``"in control"``, ``"alert high"``,
        ``"alarm high"`` or ``"none"`` per unit.

    References
    ----------
    HQIP, *Detection and management of outliers for National Clinical Audits*.
    """
    p, low95, high95, low998, high998 = np.broadcast_arrays(
        *(np.atleast_1d(_as_float_array(v)) for v in (p, low95, high95, low998, high998))
    )
    known = ~np.isnan(np.stack([p, low95, high95, low998, high998])).any(axis=0)
    return np.select(
        [~known, p < low998, p < low95, p > high998, p > high95],
        ["none", "alarm low", "alert low", "alarm high", "alert high"],
        default="in control",
    )


def funnel_table(x, n, target=None, adjust: str = "auto") -> pd.DataFrame:
    """Funnel-plot table: each unit's proportion, 95% and 99.8% limits and HQIP status.

    Parameters
    ----------
    x, n : array-like
        Numerators and denominators per unit (a Series' index is kept).
    target : float, optional
        θ₀ as a fraction; by default the national Σx/Σn over the units with n > 0.
    adjust : {"auto", "none", "always"}, default "auto"
        ``"auto"`` uses the over-dispersion-adjusted limits (additive τ², arcsine scale) when
        φ > 1 and the exact binomial limits otherwise; ``"none"`` always uses the exact limits;
        ``"always"`` the adjusted ones.

    Returns
    -------
    pandas.DataFrame
        In input order, columns ``x``, ``n``, ``p``, ``low95``, ``high95``, ``low998``,
        ``high998`` (fractions) and ``status`` (see :func:`funnel_status`). Units with n = 0 get
        p and limits NaN and status ``"none"``. ``attrs`` records ``target``, ``phi``, ``tau2``,
        ``n_units`` and ``limits`` (``"exact binomial"`` or
        ``"overdispersion-adjusted (additive tau2, arcsine)"``) so every funnel can state them.
        With fewer than two units φ and τ² are NaN: ``"auto"`` then uses the exact limits and
        ``"always"`` gives NaN limits (status ``"none"``).

    References
    ----------
    Spiegelhalter DJ. *Stat Med* 2005;24:1185-1202. HQIP outlier guidance.
    """
    _check_choice("adjust", adjust, ("auto", "none", "always"))
    index = _index_of(x, np.size(x))
    x, n = np.broadcast_arrays(np.atleast_1d(_as_float_array(x)), np.atleast_1d(_as_float_array(n)))
    od = overdispersion(x, n, target=target)
    use_adjusted = adjust == "always" or (adjust == "auto" and od["phi"] > 1)

    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, x / n, np.nan)
    table = pd.DataFrame({"x": x, "n": n, "p": p}, index=index)
    for level, suffix in ((0.95, "95"), (0.998, "998")):
        if use_adjusted:
            low, high = _adjusted_limits(od["target"], n, level, od["tau2"])
        else:
            low, high = funnel_limits(od["target"], n, level, method="exact")
        table[f"low{suffix}"], table[f"high{suffix}"] = low, high
    table["status"] = funnel_status(
        p, table["low95"], table["high95"], table["low998"], table["high998"]
    )
    table.attrs.update(
        target=od["target"],
        phi=od["phi"],
        tau2=od["tau2"],
        n_units=od["n_units"],
        limits=LIMITS_ADJUSTED if use_adjusted else LIMITS_EXACT,
    )
    return table


# -- §3 run charts -------------------------------------------------------------------------------


def runs_analysis(values, centre=None) -> dict:
    """Anhøj run-chart rules: unusually long runs or unusually few crossings of the centre line.

    NaN values (months with denominator 0) are dropped first, then points exactly on the centre.
    With n useful points, a shift is signalled when the longest run exceeds round(log2(n) + 3)
    and a lack of crossings when crossings < qbinom(0.05, n − 1, 0.5), as qicharts2 does.

    Parameters
    ----------
    values : array-like
        The series, in time order.
    centre : float, optional
        The centre line; by default the median of the non-missing values. ``p_chart`` passes p̄.

    Returns
    -------
    dict
        ``centre``, ``n_useful``, ``longest_run``, ``longest_run_max``, ``crossings``,
        ``crossings_min`` and ``signal``, plus ``longest_run_side`` (``"above"`` or
        ``"below"`` the centre; the first longest run when there are several). With fewer than 10 useful points the counts and
        limits are still returned but ``signal`` is False; with none, the counts are 0 and
        the limits NaN.

    References
    ----------
    Anhøj J, Olesen AV. *PLoS ONE* 2014;9:e113825. anhoej/qicharts2 ``runs.analysis``.
    """
    y = np.atleast_1d(_as_float_array(values))
    y = y[~np.isnan(y)]
    if centre is None:
        centre = np.median(y) if y.size else np.nan
    centre = float(centre)
    side = np.sign(y - centre)
    side = side[~np.isnan(side) & (side != 0)]
    n_useful = int(side.size)
    if n_useful == 0:
        return {
            "centre": centre,
            "n_useful": 0,
            "longest_run": 0,
            "longest_run_max": np.nan,
            "crossings": 0,
            "crossings_min": np.nan,
            "signal": False,
            "longest_run_side": "",
        }

    run_starts = np.flatnonzero(np.diff(side) != 0) + 1
    run_lengths = np.diff(np.concatenate(([0], run_starts, [n_useful])))
    longest_run = int(run_lengths.max())
    longest_start = int(np.concatenate(([0], run_starts))[run_lengths.argmax()])
    crossings = int(run_starts.size)
    longest_run_max = int(np.floor(np.log2(n_useful) + 3 + 0.5))
    crossings_min = int(_scipy_stats().binom.ppf(0.05, n_useful - 1, 0.5))
    signal = n_useful >= MIN_USEFUL_POINTS and (
        longest_run > longest_run_max or crossings < crossings_min
    )
    return {
        "centre": centre,
        "n_useful": n_useful,
        "longest_run": longest_run,
        "longest_run_max": longest_run_max,
        "crossings": crossings,
        "crossings_min": crossings_min,
        "signal": bool(signal),
        "longest_run_side": "above" if side[longest_start] > 0 else "below",
    }


def weighted_quantiles(values, counts, probabilities) -> list[float]:
    """Quantiles of ``values`` each repeated ``counts`` times, without expanding them.

    Hyndman & Fan's definition 7 (linear interpolation between order statistics, the default of
    ``numpy.percentile``): with ``n`` values sorted as ``x[0] … x[n-1]`` and ``h = (n − 1) p``, the
    quantile is ``x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋])``. NaN for every probability when the
    counts sum to 0.

    References
    ----------
    Hyndman RJ, Fan Y. Sample quantiles in statistical packages. *Am Stat* 1996;50:361-365.
    """
    order = np.argsort(np.asarray(values), kind="stable")
    values = np.asarray(values, dtype=float)[order]
    counts = np.asarray(counts, dtype=np.int64)[order]
    cumulative = np.cumsum(counts)
    n = int(cumulative[-1]) if len(cumulative) else 0
    if n == 0:
        return [float("nan")] * len(probabilities)

    def value(k: int) -> float:
        return float(values[np.searchsorted(cumulative, k, side="right")])

    out = []
    for p in probabilities:
        h = (n - 1) * p
        low = math.floor(h)
        high = min(low + 1, n - 1)
        out.append(value(low) + (h - low) * (value(high) - value(low)))
    return out


def run_positions(values, centre: float, length: int, side: str) -> list[int]:
    """Positions (in ``values``) of the first run of ``length`` points on ``side`` (``"above"`` or
    ``"below"``) of ``centre``: the run :func:`runs_analysis` reports as the longest, so that a
    chart can mark it.

    Blank points (NaN) and points on the centre line are skipped: they neither extend nor break a
    run. When no run has exactly ``length`` points on that side, the longest run on that side.
    """
    wanted = 1 if side == "above" else -1
    runs, current, current_side = [], [], 0
    for i, value in enumerate(np.asarray(values, dtype=float)):
        if np.isnan(value) or math.isclose(value, centre, rel_tol=0, abs_tol=1e-9):
            continue
        value_side = 1 if value > centre else -1
        if value_side != current_side and current:
            runs.append((current_side, current))
            current = []
        current_side = value_side
        current.append(i)
    if current:
        runs.append((current_side, current))
    matching = [run for s, run in runs if s == wanted and len(run) == length]
    if matching:
        return matching[0]
    on_side = [run for s, run in runs if s == wanted]
    return max(on_side, key=len) if on_side else []


#: Below this expected count the chi-squared approximation is not trusted (kpis.md, *Breakdowns*).
CHI2_MIN_EXPECTED = 5


def chi2_equal_proportions(x, n) -> dict:
    """Pearson's chi-squared test that the groups share one proportion (kpis.md, *Breakdowns*).

    The 2 × k table of ``x`` (numerators) and ``n − x`` goes to ``scipy.stats.chi2_contingency``
    without continuity correction.

    Parameters
    ----------
    x, n : array-like
        Numerator and denominator of each group (denominators above 0).

    Returns
    -------
    dict
        ``chi2``, ``df``, ``p_value`` and ``note``; the three statistics are NaN (None for
        ``df``) and ``note`` says why when fewer than two groups are given, or when any expected
        count is below :data:`CHI2_MIN_EXPECTED`. A table whose outcomes are all one way (every
        patient met the KPI, or none did) has no test either.

    References
    ----------
    Agresti A. *Categorical Data Analysis*, 3rd ed., §3.2. scipy.stats.chi2_contingency.
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    blank = {"chi2": np.nan, "df": None, "p_value": np.nan}
    if x.size < 2:
        return {**blank, "note": "fewer than two groups with eligible patients"}
    observed = np.vstack([x, n - x])
    if (observed.sum(axis=1) == 0).any():
        return {**blank, "note": "every eligible patient had the same outcome"}
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    if (expected < CHI2_MIN_EXPECTED).any():
        return {**blank, "note": f"an expected count is below {CHI2_MIN_EXPECTED}"}
    result = _scipy_stats().chi2_contingency(observed, correction=False)
    return {"chi2": float(result.statistic), "df": int(result.dof), "p_value": float(result.pvalue), "note": ""}


# -- §4 p-charts ---------------------------------------------------------------------------------


def _moving_range_sigma(values: np.ndarray) -> float:
    """Process sigma from the screened average moving range: mean(MR) / 1.128.

    Moving ranges at or above 3.267 × their mean are dropped once and the mean recomputed
    (Provost & Murray 2011, p. 156; as qicharts2 and NHSRplotthedots do). Moving ranges next to
    a missing value (a point with n = 0) are left out, as in qicharts2. NaN if there are none.
    Laney's σ_z is this applied to the z-scores of a p-chart.
    """
    moving_ranges = np.abs(np.diff(values))
    moving_ranges = moving_ranges[~np.isnan(moving_ranges)]
    if moving_ranges.size == 0:
        return np.nan
    kept = moving_ranges[moving_ranges < MR_SCREEN * moving_ranges.mean()]
    return float(kept.mean() / D2)


def p_chart(x, n, freeze=None, laney: bool = False) -> pd.DataFrame:
    """Shewhart p-chart (optionally Laney p′) with the Anhøj runs analysis around the centre.

    p̄ = Σx/Σn over the baseline points (all, or the first ``freeze``); limits
    p̄ ± 3·sqrt(p̄(1 − p̄)/nᵢ), clipped to [0, 1]. With ``laney=True`` the limits are
    p̄ ± 3·σ_z·sqrt(p̄(1 − p̄)/nᵢ), where σ_z is the screened mean moving range of the baseline
    z-scores zᵢ = (p̂ᵢ − p̄)/sqrt(p̄(1 − p̄)/nᵢ) divided by 1.128.

    Parameters
    ----------
    x, n : array-like
        Numerators and denominators per period, in time order (a Series' index is kept).
    freeze : int, optional
        Number of leading points that form the baseline; all points by default.
    laney : bool, default False
        Use Laney's p′ limits, which allow for between-period variation in large samples.

    Returns
    -------
    pandas.DataFrame
        One row per point: ``x``, ``n``, ``p``, ``cl``, ``lcl``, ``ucl`` and ``outside`` (p
        strictly beyond a limit). Points with n = 0 have p and limits NaN and ``outside`` False.
        ``attrs["runs"]`` holds :func:`runs_analysis` around ``cl`` over all points;
        ``attrs`` also records ``chart`` ("p" or "p'"), ``freeze`` and, for p′, ``sigma_z``.

    References
    ----------
    Montgomery DC. *Introduction to Statistical Quality Control*, §7.2. Laney DB. *Quality
    Engineering* 2002;14:531-537. Anhøj J, Olesen AV. *PLoS ONE* 2014;9:e113825.
    anhoej/qicharts2 (charts "p" and "pp").
    """
    index = _index_of(x, np.size(x))
    x, n = np.broadcast_arrays(np.atleast_1d(_as_float_array(x)), np.atleast_1d(_as_float_array(n)))
    baseline = slice(None) if freeze is None else slice(0, freeze)
    if freeze is not None and not 1 <= freeze <= len(n):
        raise ValueError(
            f"freeze must be between 1 and the number of points ({len(n)}), got {freeze!r}"
        )

    has_n = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(has_n, x / n, np.nan)
        cl = x[baseline].sum() / n[baseline].sum()
        sigma = np.where(has_n, np.sqrt(cl * (1 - cl) / n), np.nan)
        sigma_z = _moving_range_sigma(((p - cl) / sigma)[baseline]) if laney else 1.0
    half_width = 3 * sigma_z * sigma
    chart = pd.DataFrame(
        {
            "x": x,
            "n": n,
            "p": p,
            "cl": cl,
            "lcl": np.clip(cl - half_width, 0, 1),
            "ucl": np.clip(cl + half_width, 0, 1),
        },
        index=index,
    )
    chart["outside"] = (chart["p"] < chart["lcl"]) | (chart["p"] > chart["ucl"])
    chart.attrs.update(
        chart="p'" if laney else "p",
        freeze=freeze,
        runs=runs_analysis(p, centre=cl),
    )
    if laney:
        chart.attrs["sigma_z"] = sigma_z
    return chart


# -- §5 disclosure control -----------------------------------------------------------------------


def suppress_count(value, threshold: int = 8, base: int = 5) -> str:
    """Display a sub-national count under the NHS Digital secondary-care rule.

    0 stays ``"0"``; 1 to ``threshold - 1`` shows ``"*"``; every other count is rounded to the
    nearest multiple of ``base``, halves up (integer arithmetic, no banker's rounding).

    Parameters
    ----------
    value : int
        A non-negative count (an integral float such as 8.0 is accepted).
    threshold : int, default 8
        Smallest count shown (rounded) rather than suppressed.
    base : int, default 5
        Rounding base.

    Returns
    -------
    str
        The displayed count.

    References
    ----------
    NHS Digital, *Hospital Episode Statistics disclosure control* (secondary-care method);
    NHS Digital codonPython ``suppression.py``.
    """
    if threshold < 1 or base < 1:
        raise ValueError(
            f"threshold and base must be positive, got threshold={threshold!r}, base={base!r}"
        )
    if isinstance(value, (bool, np.bool_)) or not float(value).is_integer() or value < 0:
        raise ValueError(f"value must be a non-negative whole count, got {value!r}")
    count = int(value)
    if count == 0:
        return "0"
    if count < threshold:
        return "*"
    return str((2 * count + base) // (2 * base) * base)


def suppress_counts(values, threshold: int = 8, base: int = 5):
    """Apply :func:`suppress_count` to each count.

    Returns a Series with the same index for a Series, otherwise a list of text.
    """
    if isinstance(values, pd.Series):
        return values.map(lambda v: suppress_count(v, threshold, base)).astype(object)
    return [suppress_count(v, threshold, base) for v in np.atleast_1d(values)]
