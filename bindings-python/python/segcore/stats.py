"""The statistics behind segcore's KPIs, on plain numbers: the same code the reports use.

- :func:`wilson_interval` — the Wilson score interval of a rate;
- :func:`t_interval` — the Student t interval of a mean;
- :func:`two_proportion_test` — the pooled two-proportion z test;
- :func:`welch_test` — Welch's t test (unequal variances);
- :func:`benjamini_hochberg` — adjusted p-values for many comparisons at once;
- :func:`sample_size_per_arm` — profiles each arm of an A/B test on a rate needs.
"""

from ._segcore import (
    benjamini_hochberg,
    sample_size_per_arm,
    t_interval,
    two_proportion_test,
    welch_test,
    wilson_interval,
)

__all__ = [
    "benjamini_hochberg",
    "sample_size_per_arm",
    "t_interval",
    "two_proportion_test",
    "welch_test",
    "wilson_interval",
]
