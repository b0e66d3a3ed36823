"""finops: exact financial statement analysis with a validated three-phase LLM pipeline.

>>> import finops
>>> figures = finops.compute_metrics("examples/data/bistro-saint-denis.json")  # doctest: +SKIP
>>> fo = finops.Finops()            # providers from the environment; the offline analyst when none
>>> analysis = fo.analyze_sync(statements, "Analyse la rentabilité sur trois ans")  # doctest: +SKIP
"""

from ._finops import (
    AccessDeniedError,
    Analysis,
    AnalysisCancelledError,
    BudgetExceededError,
    Event,
    EventStream,
    Finops,
    FinopsError,
    InternalError,
    InvalidArgumentError,
    InvalidExpressionError,
    InvalidStatementsError,
    InvalidTokenError,
    Principal,
    ProviderError,
    RateLimitedError,
    ScriptedProvider,
    Statements,
    __version__,
    compute_metrics,
    evaluate,
)

__all__ = [
    "AccessDeniedError",
    "Analysis",
    "AnalysisCancelledError",
    "BudgetExceededError",
    "Event",
    "EventStream",
    "Finops",
    "FinopsError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidExpressionError",
    "InvalidStatementsError",
    "InvalidTokenError",
    "Principal",
    "ProviderError",
    "RateLimitedError",
    "ScriptedProvider",
    "Statements",
    "__version__",
    "compute_metrics",
    "evaluate",
]
