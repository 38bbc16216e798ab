# %% [markdown]
# # The wallet war, replayed and questioned
#
# The calibrated replay of China's 2012–2021 mobile-wallet market (Alipay against Tencent's
# wallet, QQ Wallet then WeChat Pay), a counterfactual with its confidence band (what if the
# 2013–2014 walls had never gone up?), a small sweep of one behavioural guess, and a chart.
# Every number comes from paymarket's engine through its Python package
# (`pip install ./python` from the repository's root, then `pip install pandas matplotlib`).
#
# This notebook is built from `examples/python/wallet_war.py` (the same cells) by
# `examples/python/make_notebook.py`; CI runs the script with `PAYMARKET_QUICK=1` (smaller
# runs) so that neither can rot.

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import paymarket

def repository_root() -> Path:
    """The paymarket repository this runs in (from the script's place, or a notebook's)."""
    here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
    for d in [here, *here.parents]:
        if (d / "data" / "scenarios").is_dir():
            return d
    raise FileNotFoundError("run this inside the paymarket repository (it reads data/scenarios)")


ROOT = repository_root()
QUICK = os.environ.get("PAYMARKET_QUICK") == "1"
SIZE = dict(users=20_000, merchants=2_000) if QUICK else dict(users=100_000, merchants=10_000)
REPLICATES = 4 if QUICK else 20
OUT = ROOT / "out" / "python"
OUT.mkdir(parents=True, exist_ok=True)

history = paymarket.Scenario.load(str(ROOT / "data" / "scenarios" / "china_2012_2021_calibrated.toml"))
history

# %% [markdown]
# ## The replay
#
# One run of the calibrated scenario: each December's value share of third-party mobile
# payments (Alipay, Tencent's wallet) and the people holding each wallet.

# %%
replay = paymarket.run(history, seed=20130801, progress=False, **SIZE)
p = replay.platforms
december = p[p["month"].str.endswith("-12") & p["platform"].isin(["alipay", "tenpay"])]
table = december.pivot(index="month", columns="platform", values=["value_share", "users"])
table["value_share"] = (100 * table["value_share"]).round(1)
table["users"] = (table["users"] / 1e6).round(0)
table

# %% [markdown]
# ## A counterfactual: no walls in 2013–2014
#
# Taobao's shut-out of WeChat's links and QR codes (the `shift` events on Alibaba's commerce for
# WeChat members, and their 2021 reversal) and Alipay's 2014 gateway cut-off (every `block`
# dated 2014) removed; both worlds run on the same seeds, so the effect comes with a paired 95%
# confidence interval.

# %%
walls = [
    e["index"]
    for e in history.events
    if (e["kind"] == "shift" and e["channel"] == "alibaba_commerce" and e["network"] == "wechat")
    or (e["kind"] == "block" and e["at"].startswith("2014"))
]
open_world = history.without_events(walls, "open_world")
print(f"removed {len(walls)} events:", *(history.events[k]["source"] for k in walls), sep="\n  ")
c = paymarket.compare(history, open_world, replicates=REPLICATES, progress=False, **SIZE)
effect = c.effects_platforms.query("metric == 'value_share' and platform == 'tenpay'").copy()
effect[["effect", "ci_low", "ci_high"]] *= 100
effect[effect["month"].str.endswith("-12")][["month", "effect", "ci_low", "ci_high"]].round(2)

# %% [markdown]
# ## A small sweep: how much does churn matter?
#
# The monthly probability of dropping a wallet left unused (a guess of the model) at three
# values, a few replicates each: Tencent's value share at the end of 2016 and 2021.

# %%
w = paymarket.sweep(
    history,
    grid={"params.churn_rate": [0.05, 0.1, 0.2]},
    replicates=2 if QUICK else 5,
    progress=False,
    **SIZE,
)
s = w.summary_platforms.query("metric == 'value_share' and platform == 'tenpay'")
s = s[s["month"].isin(["2016-12", "2021-12"])]
(100 * s.pivot(index="params.churn_rate", columns="month", values="mean")).round(1)

# %% [markdown]
# ## The chart
#
# Value shares over the decade in the replay, and Tencent's share in the open world minus the
# history with its 95% band.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
for wallet, colour in [("alipay", "tab:blue"), ("tenpay", "tab:green")]:
    rows = p[p["platform"] == wallet]
    left.plot(range(len(rows)), 100 * rows["value_share"], label=wallet, color=colour)
ticks = list(range(0, len(p["month"].unique()), 24))
months = sorted(p["month"].unique())
left.set_xticks(ticks, [months[k] for k in ticks])
left.set_ylabel("value share, %")
left.set_title("The replay")
left.legend()
x = range(len(effect))
right.fill_between(x, effect["ci_low"], effect["ci_high"], alpha=0.3, color="tab:green")
right.plot(x, effect["effect"], color="tab:green")
right.axhline(0, color="grey", linewidth=0.5)
right.set_xticks(ticks, [months[k] for k in ticks])
right.set_ylabel("Tencent's value share, points")
right.set_title("No 2013–2014 walls − history (95% band)")
fig.tight_layout()
fig.savefig(OUT / "wallet_war.png", dpi=100)
print("chart:", OUT / "wallet_war.png")
