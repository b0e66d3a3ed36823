"""Type stubs for the finops Python package (the Rust extension `finops._finops`)."""

import os
from decimal import Decimal
from typing import Any, AsyncIterator, Awaitable, Dict, List, Literal, Mapping, Optional, Protocol, Sequence, Tuple, TypedDict, Union

import pyarrow

from .types import (
    StatementsSource as StatementsSource,
    LedgerSource as LedgerSource,
    ClientsSource as ClientsSource,
    PhaseName as PhaseName,
    EventType as EventType,
    ChatRequest as ChatRequest,
    Provider as Provider,
    Embedder as Embedder,
    CacheMode as CacheMode,
    Cache as Cache,
    CacheOptions as CacheOptions,
    JobStatus as JobStatus,
    JobInfo as JobInfo,
    WorkerStats as WorkerStats,
    ReviewStatus as ReviewStatus,
    PrincipalDict as PrincipalDict,
    ReviewNote as ReviewNote,
    Review as Review,
    ProviderConfig as ProviderConfig,
    ProvidersConfig as ProvidersConfig,
    ModelsConfig as ModelsConfig,
    RateLimitsConfig as RateLimitsConfig,
    FinopsConfig as FinopsConfig,
)

__version__: str

class FinopsError(Exception):
    """Every finops error carries the core's one serialized form: `code`, `message`, `field` and `reason` (None
    when the error has none), `retryable`, and `details` (each detail is also an attribute; `*_ms` durations are
    also given in seconds without the suffix, `*_usd` amounts as Decimal)."""

    code: str
    message: str
    field: Optional[str]
    reason: Optional[str]
    retryable: bool
    details: Dict[str, Any]

class InvalidStatementsError(FinopsError):
    field: str
    reason: str
    issues: List[Dict[str, str]]

class InvalidExpressionError(FinopsError):
    expression: str
    position: int
    reason: str

class InvalidArgumentError(FinopsError):
    field: str
    reason: str

class ProviderError(FinopsError):
    provider: str
    reason: str
    status: Optional[int]
    retry_after: Optional[float]

class RateLimitedError(ProviderError):
    """A provider's 429, or the SDK's own rate limit (then `scope` is `tenant` or `principal`)."""

    scope: Optional[str]

class BudgetExceededError(FinopsError):
    tenant: str
    limit_usd: Decimal
    spent_usd: Decimal

class InvalidTokenError(FinopsError):
    kind: str
    reason: str
class AccessDeniedError(FinopsError):
    reason: str

class IntegrityError(FinopsError):
    """Stored or exported data did not check out (altered, moved, reordered, or read with the wrong key)."""

    reason: str

class BackendError(FinopsError):
    """A database, cache or queue server, the semantic index or a host's own code (a cache object) failed.
    `retryable` says whether the same call may succeed later."""

    backend: Literal["sqlite", "postgres", "redis", "semantic_index", "host"]

class KeyUnavailableError(FinopsError):
    """A key needed to read data is unknown, or was destroyed by an erasure."""

    key_id: str
    reason: str

class AnalysisCancelledError(FinopsError): ...
class InternalError(FinopsError): ...

class Statements:
    def __init__(self, source: StatementsSource) -> None: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def periods(self) -> List[str]: ...
    @property
    def warnings(self) -> List[Dict[str, str]]: ...
    @property
    def company(self) -> Dict[str, str]: ...
    def accounts(self, period: str, line: str) -> Optional[List[Dict[str, str]]]:
        """The accounts (`account`, `name`, `amount`) that made a line, when read from a ledger."""

def read_statements(
    sources: Union[LedgerSource, Sequence[LedgerSource]],
    *,
    format: Literal["auto", "statements", "trial-balance", "csv", "fec", "quickbooks", "xero"] = "auto",
    chart: Union[None, str, Dict[str, Any]] = None,
    company: Optional[Dict[str, str]] = None,
    unmapped: Literal["error", "other"] = "error",
    overrides: Optional[Dict[str, str]] = None,
    derive_cash_flow: bool = False,
) -> Statements:
    """Statements from a trial balance (JSON or CSV), FEC files, QuickBooks or Xero reports, or a statements document."""

def build_statements(company: Dict[str, str], periods: Sequence[Dict[str, Any]]) -> Statements:
    """Statements from typed lines (`label`, `start`, `end`, `lines`, optional `accounts`); totals left out are computed."""

def compute_metrics_table(
    sources: Union[Sequence[StatementsSource], ClientsSource],
    *,
    format: Literal["auto", "statements", "trial-balance", "csv", "fec", "quickbooks", "xero"] = "statements",
    chart: Union[None, str, Dict[str, Any]] = None,
    company: Optional[Dict[str, str]] = None,
    unmapped: Literal["error", "other"] = "error",
    overrides: Optional[Dict[str, str]] = None,
    derive_cash_flow: bool = False,
) -> pyarrow.Table:
    """Every catalogue figure of every period of every source as one table (one row per client, period and metric;
    `value` an exact decimal128, `value_f64` the same as a float, `reason` when not computable). A list of sources
    names clients by index, a dict by its keys; `format` other than "statements" reads ledger inputs."""

def screen(
    clients: ClientsSource,
    metric: str,
    op: Literal["<", "<=", ">", ">=", "==", "!="],
    threshold: Union[int, float, str, Decimal],
    *,
    period: str = "latest",
    naics_prefix: Optional[str] = None,
    sector: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """The clients whose figure passes the screen, with the figures that matched."""

def peer_benchmarks(client: str, clients: ClientsSource, metrics: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """A client's position among the firm's other clients of its sector (cohorts of at least five)."""

def refresh_logging() -> None:
    """Re-reads Python's logger levels, which finops caches: call it after changing a level at run time."""

def compute_metrics(statements: StatementsSource) -> List[Dict[str, Any]]: ...
def evaluate(statements: StatementsSource, expression: str, period: str) -> Dict[str, Any]: ...

class Principal:
    def __init__(self, tenant: str, role: Literal["admin", "cpa", "client"], client: Optional[str] = None) -> None: ...
    @property
    def tenant(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def client(self) -> Optional[str]: ...
    @property
    def sub(self) -> Optional[str]: ...

class FigureInput:
    """A statement amount a figure was computed from."""

    @property
    def line(self) -> str: ...
    @property
    def period(self) -> str: ...
    @property
    def value(self) -> Decimal: ...
    @property
    def accounts(self) -> Optional[List[Dict[str, str]]]:
        """The ledger accounts that made the amount, when the statements were read from a ledger."""
    def to_dict(self) -> Dict[str, Any]: ...
    def __getitem__(self, key: str) -> Any: ...

class Figure:
    """A computed metric for one period, exact, with where it came from."""

    @property
    def id(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def period(self) -> str: ...
    @property
    def value(self) -> Optional[Decimal]: ...
    @property
    def unit(self) -> Literal["ratio", "percent", "amount", "days"]: ...
    @property
    def basis(self) -> Literal["closing", "average"]: ...
    @property
    def formula(self) -> str: ...
    @property
    def inputs(self) -> List[FigureInput]: ...
    @property
    def reason(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __getitem__(self, key: str) -> Any: ...

class Computation:
    """A computation the Researcher asked for, evaluated exactly by finops."""

    @property
    def id(self) -> str: ...
    @property
    def expression(self) -> str: ...
    @property
    def period(self) -> str: ...
    @property
    def value(self) -> Optional[Decimal]: ...
    @property
    def inputs(self) -> List[FigureInput]: ...
    @property
    def error(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __getitem__(self, key: str) -> Any: ...

class Finding:
    @property
    def text(self) -> str: ...
    @property
    def cites(self) -> List[str]: ...
    @property
    def status(self) -> Literal["confirmed", "rejected", "unchecked"]: ...
    @property
    def note(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __getitem__(self, key: str) -> Any: ...

class PhaseUsage:
    @property
    def phase(self) -> PhaseName: ...
    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def calls(self) -> int: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cost_usd(self) -> Optional[Decimal]: ...
    @property
    def latency_ms(self) -> int: ...
    @property
    def cached(self) -> bool: ...
    @property
    def retries(self) -> int: ...
    @property
    def fallbacks(self) -> int: ...
    @property
    def unpriced(self) -> bool: ...
    @property
    def usage_missing(self) -> bool: ...
    @property
    def cached_input_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...
    @property
    def cache_write_1h_tokens(self) -> int: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __getitem__(self, key: str) -> Any: ...

class AnalysisPlan:
    @property
    def intents(self) -> List[str]: ...
    @property
    def metrics(self) -> List[str]: ...
    @property
    def periods(self) -> List[str]: ...
    @property
    def comparisons(self) -> List[Dict[str, str]]: ...
    @property
    def language(self) -> Literal["fr", "en"]: ...
    @property
    def benchmark(self) -> bool: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __getitem__(self, key: str) -> Any: ...

class Analysis:
    @staticmethod
    def from_json(text: str) -> "Analysis": ...
    @property
    def id(self) -> str: ...
    @property
    def tenant(self) -> str: ...
    @property
    def client(self) -> str: ...
    @property
    def question(self) -> str: ...
    @property
    def language(self) -> Literal["fr", "en"]: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def report(self) -> str: ...
    @property
    def report_source(self) -> Literal["validator", "validator_repaired", "offline"]: ...
    @property
    def degraded(self) -> bool: ...
    @property
    def degraded_reason(self) -> Optional[str]: ...
    @property
    def total_cost_usd(self) -> Optional[Decimal]: ...
    @property
    def grounded(self) -> bool: ...
    @property
    def plan(self) -> AnalysisPlan: ...
    @property
    def figures(self) -> List[Figure]: ...
    @property
    def benchmarks(self) -> List[Dict[str, Any]]:
        """Where the client stands among the firm's other clients of its sector (when the plan asked for peers)."""
    @property
    def computations(self) -> List[Computation]: ...
    @property
    def findings(self) -> List[Finding]: ...
    @property
    def validation(self) -> Dict[str, Any]: ...
    @property
    def usage(self) -> List[PhaseUsage]: ...
    @property
    def cache(self) -> Literal["miss", "exact", "semantic", "plan"]: ...
    @property
    def cache_similarity(self) -> Optional[Decimal]: ...
    @property
    def saved_usd(self) -> Optional[Decimal]: ...
    @property
    def timings(self) -> Dict[str, int]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def to_json(self) -> str: ...

class Event:
    @property
    def type(self) -> EventType: ...
    @property
    def phase(self) -> Optional[PhaseName]: ...
    @property
    def text(self) -> Optional[str]: ...
    @property
    def reason(self) -> Optional[str]: ...
    @property
    def analysis(self) -> Optional[Analysis]: ...
    @property
    def error(self) -> Optional[Dict[str, Any]]: ...
    def to_dict(self) -> Dict[str, Any]: ...

class EventStream:
    def __aiter__(self) -> "EventStream": ...
    def __anext__(self) -> Awaitable[Event]: ...

class ScriptedProvider:
    def __init__(self, *, latency: float = 0.0) -> None: ...
    def reply(self, phase: PhaseName, text: str, *, input_tokens: int = 100, output_tokens: int = 50) -> None: ...
    def fail(self, phase: PhaseName, message: str, *, retryable: bool = False) -> None: ...
    def remaining(self, phase: PhaseName) -> int: ...

class Finops:
    def __init__(
        self,
        config: Optional[FinopsConfig] = None,
        *,
        providers: Optional[ProvidersConfig] = None,
        provider: Optional[Union[Provider, ScriptedProvider]] = None,
        models: Optional[Mapping[PhaseName, str]] = None,
        embedder: Optional[Embedder] = None,
        offline: Optional[bool] = None,
        budgets: Optional[Mapping[str, Union[Decimal, str, int]]] = None,
        rate_limits: Optional[tuple[int, int]] = None,
        cache: Union[bool, CacheOptions, Cache, None] = None,
        vault: Union["Vault", str, None] = None,
    ) -> None: ...
    @staticmethod
    def from_env() -> "Finops": ...
    @property
    def routes(self) -> List[str]: ...
    def analyze(
        self,
        statements: StatementsSource,
        question: str,
        *,
        language: Optional[Literal["fr", "en"]] = None,
        tenant: Optional[str] = None,
        client: Optional[str] = None,
        principal: Optional[Principal] = None,
        cache_mode: Optional[CacheMode] = None,
        max_cache_age: Optional[float] = None,
        peers: Optional[ClientsSource] = None,
    ) -> Awaitable[Analysis]: ...
    def analyze_sync(
        self,
        statements: StatementsSource,
        question: str,
        *,
        language: Optional[Literal["fr", "en"]] = None,
        tenant: Optional[str] = None,
        client: Optional[str] = None,
        principal: Optional[Principal] = None,
        cache_mode: Optional[CacheMode] = None,
        max_cache_age: Optional[float] = None,
        peers: Optional[ClientsSource] = None,
    ) -> Analysis: ...
    def stream(
        self,
        statements: StatementsSource,
        question: str,
        *,
        language: Optional[Literal["fr", "en"]] = None,
        tenant: Optional[str] = None,
        client: Optional[str] = None,
        principal: Optional[Principal] = None,
        cache_mode: Optional[CacheMode] = None,
        max_cache_age: Optional[float] = None,
        peers: Optional[ClientsSource] = None,
    ) -> EventStream: ...
    def embed(self, texts: Sequence[str]) -> Awaitable[List[List[float]]]: ...

class JobEvents:
    """`async for event in q.follow(tenant, job_id)`: dicts with a `type` of `started`, `analysis` (its `event`
    is an analysis event as in `Event.to_dict()`), `attempt_failed` or `finished` (the last one)."""

    def __aiter__(self) -> "JobEvents": ...
    def __anext__(self) -> Awaitable[Dict[str, Any]]: ...

class Queue:
    """Jobs for workers in other processes, on PostgreSQL or Redis Streams (the master key from
    `FINOPS_MASTER_KEY`, the same in every process)."""

    def close(self) -> Awaitable[None]: ...
    def __aenter__(self) -> Awaitable["Queue"]: ...
    def __aexit__(self, kind: Any, value: Any, traceback: Any) -> Awaitable[None]: ...
    @staticmethod
    def connect(
        url: str, *, store: Optional[str] = None, retention_seconds: Optional[float] = None
    ) -> Awaitable["Queue"]: ...
    def enqueue(
        self,
        statements: StatementsSource,
        question: str,
        *,
        tenant: str,
        key: str,
        client: Optional[str] = None,
        language: Optional[Literal["fr", "en"]] = None,
        priority: int = 0,
        max_attempts: int = 3,
        events: bool = False,
    ) -> Awaitable[str]: ...
    def status(self, tenant: Union[str, Principal], job_id: str) -> Awaitable[Optional[JobInfo]]: ...
    def cancel(self, tenant: Union[str, Principal], job_id: str) -> Awaitable[Optional[JobStatus]]: ...
    def follow(self, tenant: Union[str, Principal], job_id: str) -> JobEvents: ...
    def result(self, tenant: Union[str, Principal], job_id: str) -> Awaitable[Optional[Analysis]]: ...
    def run_worker(
        self,
        finops: Finops,
        *,
        concurrency: int = 4,
        lease_seconds: float = 30.0,
        until: Optional[Awaitable[Any]] = None,
    ) -> Awaitable[WorkerStats]: ...

class Vault:
    """Analyses stored encrypted (per client key), every read and write checked against the principal and audited.
    `location`: a directory (embedded SQLite + `master.key`) or a `postgres://` URL (`FINOPS_MASTER_KEY`)."""

    def close(self) -> Awaitable[None]: ...
    def __aenter__(self) -> Awaitable["Vault"]: ...
    def __aexit__(self, kind: Any, value: Any, traceback: Any) -> Awaitable[None]: ...
    @staticmethod
    def open(location: str, *, require_sign_off: bool = False) -> Awaitable["Vault"]: ...
    def save(self, principal: Principal, analysis: Analysis) -> Awaitable[None]: ...
    def get(self, principal: Principal, analysis_id: str) -> Awaitable[Analysis]: ...
    def list(self, principal: Principal) -> Awaitable[List[Analysis]]: ...
    def review(self, principal: Principal, analysis_id: str) -> Awaitable[Review]: ...
    def act(
        self,
        principal: Principal,
        analysis_id: str,
        action: Literal["annotate", "reviewed", "sign_off"],
        *,
        note: Optional[str] = None,
    ) -> Awaitable[Review]: ...
    def export_audit(self, principal: Principal) -> Awaitable[str]: ...
    def verify_audit(self, principal: Principal, jsonl: str) -> Awaitable[List[Dict[str, Any]]]: ...
    def rotate_key(self, principal: Principal) -> Awaitable[str]: ...
    def reencrypt(self, principal: Principal) -> Awaitable[int]: ...
    def erase_client(self, principal: Principal, client: str) -> Awaitable[int]: ...
    def erase_tenant(self, principal: Principal) -> Awaitable[None]: ...

def verify_audit(jsonl: str) -> List[Dict[str, Any]]:
    """Checks an exported audit trail (hashes and order); its entries. Raises `IntegrityError`."""

class JwtVerifier:
    """Tokens of the host's identity provider into principals (claims `sub`, `exp`, `iss`, `aud`, `tenant`, `role`,
    and `client` for a client)."""

    def __init__(
        self,
        algorithm: Literal["HS256", "RS256", "ES256", "JWKS"],
        key: Union[str, bytes],
        *,
        issuer: str,
        audience: str,
    ) -> None: ...
    def verify(self, token: str) -> Principal: ...
