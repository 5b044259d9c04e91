"""Insight from Python, every statistic checked against an independent computation: scipy and
statsmodels for the tests and intervals, pandas for KPIs, RFM scores and co-occurrence."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

import segcore
from segcore import stats

NOW = segcore.SAMPLE_NOW


@pytest.fixture(scope="module")
def shop() -> segcore.Audience:
    a = segcore.Audience.sample_shop(3000)
    for name, text in [
        ("se", 'country == "SE"'),
        ("newsletter", "newsletter == true"),
        ("runners", 'tag "interest:running"'),
        ("young", "age < 30"),
    ]:
        a.define(name, text)
    return a


def test_wilson_intervals_match_statsmodels() -> None:
    for x, n in [(0, 20), (1, 29), (15, 148), (81, 263), (500, 1000), (999, 1000)]:
        for confidence in (0.9, 0.95, 0.99):
            low, high = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
            ours = stats.wilson_interval(x, n, confidence)
            assert ours is not None
            assert ours == pytest.approx((low, high), abs=1e-12)
    assert stats.wilson_interval(0, 0) is None
    with pytest.raises(segcore.InvalidValueError):
        stats.wilson_interval(5, 4)


def test_t_intervals_and_welch_match_scipy() -> None:
    rng = np.random.default_rng(4)
    for _ in range(20):
        a = rng.normal(10, 3, rng.integers(2, 60))
        b = rng.exponential(12, rng.integers(2, 60))
        low, high = scipy_stats.t.interval(0.95, len(a) - 1, loc=a.mean(), scale=scipy_stats.sem(a))
        assert stats.t_interval(list(a), 0.95) == pytest.approx((low, high), rel=1e-9)
        ours = stats.welch_test(list(a), list(b))
        theirs = scipy_stats.ttest_ind(a, b, equal_var=False)
        assert ours is not None
        assert ours["statistic"] == pytest.approx(theirs.statistic, rel=1e-9)
        assert ours["freedom"] == pytest.approx(theirs.df, rel=1e-9)
        assert ours["p_value"] == pytest.approx(theirs.pvalue, rel=1e-7, abs=1e-15)
    assert stats.t_interval([1.0]) is None


def test_two_proportion_tests_match_statsmodels() -> None:
    for x1, n1, x2, n2 in [(60, 500, 40, 500), (60, 200, 30, 200), (3, 40, 9, 45), (0, 10, 1, 12)]:
        z, p = proportions_ztest([x1, x2], [n1, n2])
        ours = stats.two_proportion_test(x1, n1, x2, n2)
        assert ours is not None
        assert ours["statistic"] == pytest.approx(z, rel=1e-9)
        assert ours["p_value"] == pytest.approx(p, rel=1e-9)
        assert ours["difference"] == pytest.approx(x1 / n1 - x2 / n2)


def test_benjamini_hochberg_matches_statsmodels() -> None:
    rng = np.random.default_rng(9)
    for size in (1, 2, 7, 50):
        p = rng.uniform(0, 0.2, size)
        expected = multipletests(p, method="fdr_bh")[1]
        assert stats.benjamini_hochberg(list(p)) == pytest.approx(list(expected), rel=1e-12)


def test_sample_sizes_match_the_formula() -> None:
    norm = scipy_stats.norm
    for baseline, effect, alpha, power in [(0.1, 0.05, 0.05, 0.8), (0.5, 0.1, 0.05, 0.8),
                                           (0.02, 0.005, 0.01, 0.9), (0.3, -0.1, 0.05, 0.8)]:
        p2 = baseline + effect
        mean = (baseline + p2) / 2
        n = ((norm.ppf(1 - alpha / 2) * math.sqrt(2 * mean * (1 - mean))
              + norm.ppf(power) * math.sqrt(baseline * (1 - baseline) + p2 * (1 - p2))) / effect) ** 2
        assert stats.sample_size_per_arm(baseline, effect, alpha, power) == math.ceil(n)
    with pytest.raises(segcore.InvalidValueError):
        stats.sample_size_per_arm(0.95, 0.1)


def test_kpis_match_a_pandas_computation(shop: segcore.Audience) -> None:
    segments = ["se", "newsletter", "runners", "young"]
    outcome = segcore.Outcome.converts("did purchase in last 30d", at=NOW)
    kpis = shop.kpis(segments, outcome, now=NOW)
    everyone = set(shop.members("not (consent email and not consent email)", NOW))
    converted = set(shop.members("did purchase in last 30d", NOW))
    p_values = []
    for row in kpis.itertuples():
        members = set(shop.members(row.segment, NOW))
        rest = everyone - members
        x1, n1 = len(members & converted), len(members)
        x2, n2 = len(rest & converted), len(rest)
        assert (row.members, row.rest_members) == (n1, n2)
        assert row.estimate == pytest.approx(x1 / n1)
        low, high = proportion_confint(x1, n1, method="wilson")
        assert (row.low, row.high) == pytest.approx((low, high), abs=1e-12)
        z, p = proportions_ztest([x1, x2], [n1, n2])
        assert row.statistic == pytest.approx(z, rel=1e-9)
        assert row.p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
        p_values.append(p)
    assert list(kpis["adjusted_p_value"]) == pytest.approx(
        list(multipletests(p_values, method="fdr_bh")[1]), rel=1e-9
    )
    # A value: revenue per member over the last 90 days, against the rest by Welch's test.
    start = pd.Timestamp(NOW) - pd.Timedelta(days=90)
    revenue = segcore.Outcome.sum("purchase", "amount", start, NOW)
    kpis = shop.kpis(["se"], revenue, now=NOW, confidence=0.9)
    spend = {}
    for id in everyone:
        events = shop.profile(id)["events"]
        spend[id] = sum(
            e["properties"].get("amount", 0.0)
            for e in events
            if e["name"] == "purchase" and start <= pd.Timestamp(e["at"]) < pd.Timestamp(NOW)
        )
    se = set(shop.members("se", NOW))
    a = np.array([spend[i] for i in se])
    b = np.array([spend[i] for i in everyone - se])
    row = kpis.iloc[0]
    assert row.estimate == pytest.approx(a.mean(), rel=1e-9)
    low, high = scipy_stats.t.interval(0.9, len(a) - 1, loc=a.mean(), scale=scipy_stats.sem(a))
    assert (row.low, row.high) == pytest.approx((low, high), rel=1e-9)
    welch = scipy_stats.ttest_ind(a, b, equal_var=False)
    assert row.statistic == pytest.approx(welch.statistic, rel=1e-7)
    assert row.p_value == pytest.approx(welch.pvalue, rel=1e-6)
    compared = shop.compare("se", revenue, now=NOW)
    assert compared is not None and compared["p_value"] == pytest.approx(welch.pvalue, rel=1e-6)


def test_sizes_and_overlap(shop: segcore.Audience) -> None:
    sizes = shop.sizes(now=NOW)
    assert list(sizes["segment"]) == sorted(sizes["segment"])
    counts = shop.overlap(["se", "runners"], now=NOW)
    se, runners = set(shop.members("se", NOW)), set(shop.members("runners", NOW))
    assert counts.loc["se", "runners"] == len(se & runners)
    assert counts.loc["se", "se"] == len(se)
    jaccard = shop.overlap(["se", "runners"], now=NOW, measure="jaccard")
    assert jaccard.loc["runners", "se"] == pytest.approx(len(se & runners) / len(se | runners))
    share = shop.overlap(["se", "runners"], now=NOW, measure="share")
    assert share.loc["se", "runners"] == pytest.approx(len(se & runners) / len(se))
    with pytest.raises(TypeError):
        shop.overlap("se", now=NOW)  # type: ignore[arg-type]


def test_rfm_scores_match_pandas_qcut() -> None:
    a = segcore.Audience.sample_shop(1500)
    summary = a.score_rfm("purchase", "amount", now=NOW)
    rows = []
    # members() lists ids in slot order: the order ties rank in.
    for position, id in enumerate(a.members("did purchase", NOW)):
        purchases = [e for e in a.profile(id)["events"]
                     if e["name"] == "purchase" and pd.Timestamp(e["at"]) <= pd.Timestamp(NOW)]
        if not purchases:
            continue
        last = max(pd.Timestamp(e["at"]) for e in purchases)
        rows.append({
            "id": id,
            "slot": position,
            "recency": (pd.Timestamp(NOW) - last).value,
            "frequency": len(purchases),
            "monetary": sum(e["properties"].get("amount", 0.0) for e in purchases),
        })
    df = pd.DataFrame(rows).sort_values("slot").reset_index(drop=True)
    assert summary["customers"] == len(df)

    def scores(column: str, labels: list[int]) -> pd.Series:
        return pd.qcut(df[column].rank(method="first"), 5, labels=labels).astype(int)

    df["r"] = scores("recency", [5, 4, 3, 2, 1])
    df["f"] = scores("frequency", [1, 2, 3, 4, 5])
    df["m"] = scores("monetary", [1, 2, 3, 4, 5])
    for row in df.itertuples():
        attributes = a.profile(row.id)["attributes"]
        assert (attributes["rfm_recency"], attributes["rfm_frequency"], attributes["rfm_monetary"]) == (
            row.r, row.f, row.m
        ), row.id
    a.define_rfm_segments()
    champions = set(a.members("rfm_champions", NOW))
    assert champions == set(df[(df.r == 5) & (df.f >= 4)]["id"])


def test_co_occurrence_matches_a_pandas_count() -> None:
    a = segcore.Audience.sample_shop(2000)
    together = a.co_occurrence("purchase", "sku", 0.001)
    baskets = {}
    for id in a.members("did purchase", NOW):
        skus = {e["properties"]["sku"] for e in a.profile(id)["events"]
                if e["name"] == "purchase" and "sku" in e["properties"]}
        if skus:
            baskets[id] = skus
    assert together.baskets == len(baskets)
    counts: dict[tuple[str, str], int] = {}
    for skus in baskets.values():
        for x, y in itertools.combinations(sorted(skus), 2):
            counts[(x, y)] = counts.get((x, y), 0) + 1
    minimum = math.ceil(0.001 * len(baskets))
    expected = {pair: c for pair, c in counts.items() if c >= minimum}
    pairs = together.pairs()
    got = {(x, y): c for x, y, c in zip(pairs["item"], pairs["with"], pairs["count"])}
    assert got == expected
    top = pairs.iloc[0]
    with_top = together.bought_with(top["item"], 3)
    assert with_top.iloc[0]["confidence"] >= with_top.iloc[-1]["confidence"]
    support_item = sum(top["item"] in s for s in baskets.values()) / len(baskets)
    assert together.support(top["item"]) == pytest.approx(support_item)
    someone = next(iter(baskets))
    picks = a.recommend(someone, together, 5)
    assert all(p["item"] not in baskets[someone] for p in picks)
    per_member = a.recommend_segment("did purchase", together, 3, now=NOW)
    assert set(per_member.columns) == {"id", "rank", "item", "score", "because"}
    with pytest.raises(segcore.UnknownNameError):
        together.bought_with("no-such-sku")


def test_testability_and_the_advisor(shop: segcore.Audience) -> None:
    t = shop.testability("se", 0.1, 0.05, "page_view", lookback_days=28, period_days=60, now=NOW)
    assert t["needed_per_arm"] == stats.sample_size_per_arm(0.1, 0.05)
    assert t["members"] == shop.count("se", NOW)
    outcome = segcore.Outcome.converts("did purchase in last 30d", at=NOW)
    advice = shop.advise(outcome, minimum_effect=0.1, now=NOW)
    assert set(advice.findings["kind"]) <= {
        "empty", "too_small", "near_duplicate", "no_difference", "merge_with_sibling", "differs",
        "shadowed_rule",
    }
    assert len(advice.findings) >= 4
    assert all(isinstance(r, str) and r for r in advice.findings["reason"])
    assert "suggested catalog" in str(advice)


def test_plots_render_to_png(shop: segcore.Audience, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from segcore import plot

    outcome = segcore.Outcome.converts("did purchase in last 30d", at=NOW)
    figure = plot.rates(shop.kpis(["se", "newsletter", "runners", "young"], outcome, now=NOW),
                        title="bought in the last 30 days")
    figure.savefig(tmp_path / "rates.png")
    heat = plot.overlap(shop.overlap(["se", "newsletter", "runners"], now=NOW, measure="jaccard"))
    heat.savefig(tmp_path / "overlap.png")
    for name in ("rates.png", "overlap.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
