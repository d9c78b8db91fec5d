"""Reference values from lifetimes 0.11.3 for tally's activity tests. Run by hand, not in CI:

    python3 -m venv /tmp/clv && /tmp/clv/bin/pip install lifetimes==0.11.3
    /tmp/clv/bin/python tests/reference/clv/make_reference.py

Writes, next to this file:
- transactions.csv, summary.csv: transactions made up here and lifetimes' repeat-purchase
  summary of them (daily periods, observed to 2024-12-31);
- simulated.csv: customers simulated from BG/NBD with the parameters in TRUE, and
  lifetimes' P(alive) and expected purchases in 90 days for each, under its fit;
- cdnow.csv: the CDNOW summary lifetimes ships (2,357 customers, weeks), the data of
  Fader, Hardie & Lee (2005);
- fits.json: lifetimes' fitted parameters and log-likelihood for both.
"""

import json
import os

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter
from lifetimes.datasets import load_cdnow_summary
from lifetimes.utils import summary_data_from_transaction_data

HERE = os.path.dirname(os.path.abspath(__file__))
TRUE = {"r": 0.5, "alpha": 20.0, "a": 0.7, "b": 3.0}
HORIZON = 90


def transactions(rng):
    """Customers with 1 to 12 purchases, some on the same day, some after the end."""
    days = pd.date_range("2023-01-01", "2025-01-15", freq="D")
    rows = []
    for c in range(300):
        for _ in range(rng.integers(1, 13)):
            day = days[rng.integers(0, len(days))]
            for _ in range(rng.integers(1, 3)):
                rows.append((f"C{c:03d}", day.date().isoformat(), round(rng.uniform(1, 5000), 2)))
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


def simulate(rng, n):
    """BG/NBD: purchase at rate λ ~ Γ(r, α) while alive; after each repeat purchase, drop
    out with probability p ~ Beta(a, b). The first purchase is at 0 and not counted."""
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n)
    p = rng.beta(TRUE["a"], TRUE["b"], n)
    ages = rng.uniform(30, 720, n)
    rows = []
    for l, q, age in zip(lam, p, ages):
        t, x, last = 0.0, 0, 0.0
        while True:
            t += rng.exponential(1 / l)
            if t > age:
                break
            x, last = x + 1, t
            if rng.random() < q:
                break
        rows.append((x, round(last, 4), round(age, 4)))
    return pd.DataFrame(rows, columns=["frequency", "recency", "T"])


def fit(df):
    bgf = BetaGeoFitter().fit(df["frequency"], df["recency"], df["T"])
    p = bgf.params_
    # The log-likelihood in the data's own time unit, summed over customers.
    log_params = np.log([p["r"], p["alpha"], p["a"], p["b"]])
    w = np.ones(len(df))
    ll = -len(df) * BetaGeoFitter._negative_log_likelihood(log_params, df["frequency"], df["recency"], df["T"], w, 0.0)
    return bgf, {k: float(p[k]) for k in ["r", "alpha", "a", "b"]} | {"log_likelihood": float(ll)}


def main():
    rng = np.random.default_rng(20241231)
    tx = transactions(rng)
    tx.to_csv(os.path.join(HERE, "transactions.csv"), index=False)
    summary = summary_data_from_transaction_data(
        tx, "customer_id", "date", monetary_value_col="amount", observation_period_end="2024-12-31", freq="D"
    )
    summary.reset_index().to_csv(os.path.join(HERE, "summary.csv"), index=False, float_format="%.6f")

    sim = simulate(rng, 5000)
    bgf, sim_fit = fit(sim)
    sim["p_alive"] = bgf.conditional_probability_alive(sim["frequency"], sim["recency"], sim["T"])
    sim["expected_90"] = bgf.conditional_expected_number_of_purchases_up_to_time(
        HORIZON, sim["frequency"], sim["recency"], sim["T"]
    )
    sim.to_csv(os.path.join(HERE, "simulated.csv"), index=False, float_format="%.12g")

    cdnow = load_cdnow_summary()[["frequency", "recency", "T"]]
    cdnow.to_csv(os.path.join(HERE, "cdnow.csv"), index=False)
    _, cdnow_fit = fit(cdnow)

    fits = {"true": TRUE, "horizon": HORIZON, "simulated": sim_fit, "cdnow": cdnow_fit}
    with open(os.path.join(HERE, "fits.json"), "w") as f:
        json.dump(fits, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
