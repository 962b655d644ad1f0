"""BG/NBD: the beta-geometric / negative binomial model of repeat buying (Fader, Hardie & Lee 2005).

"Counting your customers the easy way: an alternative to the Pareto/NBD model", Marketing Science
24(2). While alive a customer buys at a Poisson rate λ (gamma(r, α) across customers); after each
purchase they drop out with probability p (beta(a, b) across customers). A customer is summarised by
(x, t_x, T): x repeat purchases, t_x the time of the last one and T the time observed, both counted
from the first purchase. The four parameters are fitted by maximum likelihood (equation 6 of the
paper); the predictions are, for a horizon of t days after T:

* P(alive | x, t_x, T) = 1 / (1 + [x > 0] · a / (b + x − 1) · ((α + T) / (α + t_x))^(r + x))
* E[Y(t) | x, t_x, T] (equation 10, with the Gaussian hypergeometric function ₂F₁)
* P(Y(t) > 0 | x, t_x, T) = P(alive) · (1 − ((α + T) / (α + T + t))^(r + x)): a customer alive at T
  buys nothing in (T, T + t] only if no Poisson event falls there (dropping out happens after a
  purchase), and given alive λ is gamma(r + x, α + T).

Implemented here (no `lifetimes` dependency: unmaintained). Time is in days. Customers are grouped by
their (x, t_x, T) before fitting, so a fit costs the number of distinct summaries, not of users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

# Columns of the dbt feature macro a BG/NBD summary is derived from.
ORDERS = "orders"
FIRST_ORDER = "days_since_first_order"
LAST_ORDER = "days_since_last_order"
OBSERVED_DAYS = "observed_days"
INPUTS = (ORDERS, FIRST_ORDER, LAST_ORDER, OBSERVED_DAYS)
# A small ridge on the log-parameters keeps the fit finite on degenerate data (e.g. nobody repeats).
PENALTY = 1e-3


class BGNBDError(ValueError):
    """The data cannot support a BG/NBD fit (e.g. no customers)."""


def summaries(features: pd.DataFrame) -> pd.DataFrame:
    """(x, t_x, T) per row from the point-in-time features (orders, days since first/last order,
    observed days). A buyer's clock starts at the first order: x = orders − 1, t_x = first − last,
    T = first. A user who never ordered starts when first observable: x = 0, t_x = 0, T = observed
    days − 1 (as if registration were the first purchase — the model's "x = 0" customer)."""
    orders = pd.to_numeric(features[ORDERS], errors="coerce").fillna(0).clip(lower=0).to_numpy(float)
    first = pd.to_numeric(features[FIRST_ORDER], errors="coerce").to_numpy(float)
    last = pd.to_numeric(features[LAST_ORDER], errors="coerce").to_numpy(float)
    observed = pd.to_numeric(features[OBSERVED_DAYS], errors="coerce").fillna(1).clip(lower=1).to_numpy(float)
    buyer = (orders > 0) & np.isfinite(first)
    first = np.where(buyer, first, observed - 1)
    last = np.where(buyer & np.isfinite(last), last, first)
    x = np.where(buyer, orders - 1, 0.0)
    t_x = np.where(buyer, np.clip(first - last, 0, None), 0.0)
    T = np.clip(first, 0, None)
    # Several orders on the first day and none later: no time has passed between them.
    x = np.where((t_x <= 0) & (x > 0), 0.0, x)
    return pd.DataFrame({"x": x, "t_x": t_x, "T": T}, index=features.index)


def _log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float
    customers: int = 0
    log_likelihood: float = float("nan")

    @property
    def params(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        ratio = np.exp((self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x)))
        odds = np.where(x > 0, self.a / (self.b + np.maximum(x, 1) - 1) * ratio, 0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """E[number of purchases in (T, T + t]] (equation 10)."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + T + t)
        hyper = hyp2f1(r + x, b + x, a + b + x - 1, z)
        a_minus_1 = a - 1 if abs(a - 1) > 1e-9 else 1e-9  # the formula is analytic in a, singular at 1
        head = (a + b + x - 1) / a_minus_1
        body = 1 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyper
        value = head * body * self.p_alive(x, t_x, T)
        # A numerically broken 2F1 (huge x): the alive customer's rate times the horizon instead.
        fallback = self.p_alive(x, t_x, T) * (r + x) / (alpha + T) * t
        return np.where(np.isfinite(value) & (value >= 0), value, fallback)

    def p_purchase(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(at least one purchase in (T, T + t])."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        none_if_alive = np.exp((self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + T + t)))
        return self.p_alive(x, t_x, T) * (1.0 - none_if_alive)

    def predict_frame(self, features: pd.DataFrame, horizon_days: float) -> pd.DataFrame:
        """P(alive), expected purchases and P(>= 1 purchase) in the next `horizon_days`, per row."""
        s = summaries(features)
        x, t_x, T = s["x"].to_numpy(), s["t_x"].to_numpy(), s["T"].to_numpy()
        return pd.DataFrame(
            {
                "bgnbd_p_alive": self.p_alive(x, t_x, T),
                "bgnbd_expected": self.expected_purchases(horizon_days, x, t_x, T),
                "bgnbd_p_purchase": self.p_purchase(horizon_days, x, t_x, T),
            },
            index=features.index,
        )


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BGNBD:
    """Maximum-likelihood BG/NBD on one (x, t_x, T) per customer (days)."""
    data = pd.DataFrame({"x": np.asarray(x, float), "t_x": np.asarray(t_x, float), "T": np.asarray(T, float)})
    data = data[np.isfinite(data).all(axis=1)]
    if data.empty:
        raise BGNBDError("no customers to fit a BG/NBD model on")
    # Identical summaries share a term: weight them, in a fixed order (deterministic).
    grouped = data.groupby(["x", "t_x", "T"], sort=True).size().reset_index(name="n")
    gx, gt, gT, n = (grouped[c].to_numpy(float) for c in ("x", "t_x", "T", "n"))
    total = float(n.sum())
    # r/α is the mean purchase rate: start from the observed one; a/(a+b) is the drop-out chance.
    rate = float(np.dot(n, gx) / max(np.dot(n, gT), 1.0))
    start = np.log(np.array([1.0, min(max(1.0 / max(rate, 1e-6), 1e-2), 1e5), 1.0, 3.0]))

    def objective(log_params: np.ndarray) -> float:
        params = np.exp(log_params)
        ll = _log_likelihood(params, gx, gt, gT)
        value = -float(np.dot(n, ll)) / total + PENALTY * float(np.sum((log_params - start) ** 2))
        return value if np.isfinite(value) else 1e12

    result = minimize(objective, start, method="L-BFGS-B", bounds=[(-9.0, 9.0), (-9.0, 14.0), (-9.0, 9.0), (-9.0, 9.0)])
    if not np.isfinite(result.fun):
        raise BGNBDError(f"BG/NBD likelihood did not converge: {result.message}")
    r, alpha, a, b = np.exp(result.x)
    log_likelihood = float(np.dot(n, _log_likelihood(np.exp(result.x), gx, gt, gT)))
    return BGNBD(float(r), float(alpha), float(a), float(b), int(total), log_likelihood)


def fit_bgnbd_frame(features: pd.DataFrame) -> BGNBD:
    """BG/NBD fitted on the point-in-time feature rows (see `summaries`)."""
    s = summaries(features)
    return fit_bgnbd(s["x"].to_numpy(), s["t_x"].to_numpy(), s["T"].to_numpy())


def simulate(
    r: float, alpha: float, a: float, b: float, customers: int, T: float | np.ndarray, seed: int = 0,
    horizon: float = 0.0,
) -> pd.DataFrame:  # fmt: skip
    """Customers drawn from a BG/NBD with known parameters: x, t_x, T and the purchases in (T, T +
    horizon] (`future`). For tests and the benchmark."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, customers)
    p = rng.beta(a, b, customers)
    ends = np.broadcast_to(np.asarray(T, float), (customers,))
    x = np.zeros(customers)
    t_x = np.zeros(customers)
    future = np.zeros(customers)
    for i in range(customers):
        t, alive = 0.0, True
        while alive:
            t += rng.exponential(1.0 / lam[i]) if lam[i] > 0 else np.inf
            if t > ends[i] + horizon:
                break
            if t <= ends[i]:
                x[i] += 1
                t_x[i] = t
            else:
                future[i] += 1
            alive = rng.uniform() >= p[i]
    return pd.DataFrame({"x": x, "t_x": t_x, "T": ends.copy(), "future": future})
