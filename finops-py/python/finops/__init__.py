"""finops: exact financial statement analysis with a validated three-phase LLM pipeline.

>>> import finops
>>> figures = finops.compute_metrics("examples/data/bistro-saint-denis.json")  # doctest: +SKIP
>>> fo = finops.Finops()            # providers from the environment; the offline analyst when none
>>> analysis = fo.analyze_sync(statements, "Analyse la rentabilité sur trois ans")  # doctest: +SKIP
"""

import atexit
from typing import Any, Literal, Protocol, TypedDict

from . import _finops

from ._finops import (
    AccessDeniedError,
    Analysis,
    AnalysisCancelledError,
    BudgetExceededError,
    Event,
    EventStream,
    Finops,
    FinopsError,
    IntegrityError,
    InternalError,
    InvalidArgumentError,
    InvalidExpressionError,
    InvalidStatementsError,
    InvalidTokenError,
    JobEvents,
    JwtVerifier,
    KeyUnavailableError,
    Principal,
    ProviderError,
    Queue,
    RateLimitedError,
    ScriptedProvider,
    Statements,
    Vault,
    __version__,
    compute_metrics,
    evaluate,
    verify_audit,
)

# Rust futures complete their Python futures from threads of their own: the interpreter's exit waits for them
# (otherwise a script could crash while exiting, after its work is done).
atexit.register(_finops.drain_at_exit)

#: How one request uses the caches.
CacheMode = Literal["on", "off", "read_only", "write_only"]


class Cache(Protocol):
    """`Finops(cache=obj)`: the exact tier implemented by the host, a store of strings (methods sync or `async`);
    the semantic and plan tiers stay in memory. Values are analyses as JSON: client data, to be kept like any."""

    def get(self, tenant: str, key: str) -> Any: ...
    def put(self, tenant: str, client: str, key: str, value: str) -> Any: ...
    def invalidate_tenant(self, tenant: str) -> Any: ...
    def invalidate_client(self, tenant: str, client: str) -> Any: ...


class CacheOptions(TypedDict, total=False):
    """`Finops(cache=...)`: the tiers (all on by default), the similarity threshold, the absolute lifetime, the
    size, and where the caches live (in memory by default; `data_dir` for an encrypted SQLite file,
    `postgres_url` to share them between processes, `redis_url` for a shared exact tier)."""

    exact: bool
    semantic: bool
    plans: bool
    share_plans: bool
    threshold: float
    ttl_seconds: int
    capacity: int
    data_dir: str
    postgres_url: str
    redis_url: str


__all__ = [
    "AccessDeniedError",
    "Cache",
    "CacheMode",
    "CacheOptions",
    "Analysis",
    "AnalysisCancelledError",
    "BudgetExceededError",
    "Event",
    "EventStream",
    "Finops",
    "FinopsError",
    "IntegrityError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidExpressionError",
    "JobEvents",
    "JwtVerifier",
    "KeyUnavailableError",
    "Queue",
    "InvalidStatementsError",
    "InvalidTokenError",
    "Principal",
    "ProviderError",
    "RateLimitedError",
    "ScriptedProvider",
    "Statements",
    "Vault",
    "__version__",
    "compute_metrics",
    "evaluate",
    "verify_audit",
]
