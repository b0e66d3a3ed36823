"""The Python types of the finops package that are not classes of the extension: protocols a host implements
(`Provider`, `Embedder`, `Cache`), the dicts finops takes and returns (`FinopsConfig`, `CacheOptions`, `JobInfo`,
`Review`, ...) and literal aliases. Importable at run time (`from finops import FinopsConfig`), and the source of
the names the stub declares."""

import os
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Dict, List, Literal, Mapping, Optional, Protocol, TypedDict, Union, Tuple, Sequence

if TYPE_CHECKING:
    from ._finops import Statements

StatementsSource = Union[str, bytes, Mapping[str, Any], "os.PathLike[str]", "Statements"]
# A ledger input for `read_statements`: a path, the bytes of a file, or its text.
LedgerSource = Union[str, bytes, "os.PathLike[str]"]
# A portfolio for `screen` and `peer_benchmarks`: client id → statements, or (client id, statements) pairs.
ClientsSource = Union[Mapping[str, StatementsSource], Sequence[Tuple[str, StatementsSource]]]
"""JSON text (a str starting with `{`), bytes, a dict, a path, or a parsed `Statements`."""

PhaseName = Literal["analyst", "researcher", "validator"]
EventType = Literal[
    "queued",
    "phase_started",
    "text_delta",
    "retry",
    "fallback",
    "computation_done",
    "phase_finished",
    "cache_hit",
    "degraded",
    "completed",
    "failed",
]

class ChatRequest(Protocol):
    """What a provider's `chat` receives (a dict with these keys)."""

class Provider(Protocol):
    """A provider written in Python: `chat(request)` returns a str or a dict with `text` and optionally
    `input_tokens`, `output_tokens`, `cost_usd`; it may be `async`. Raise an exception with `retryable = True` for
    a failure worth retrying."""

    def chat(self, request: Dict[str, Any]) -> Any: ...

class Embedder(Protocol):
    dimensions: int

    def embed(self, texts: List[str]) -> Any: ...

CacheMode = Literal["on", "off", "read_only", "write_only"]

class Cache(Protocol):
    """The exact tier implemented by the host: a store of strings (methods sync or `async`). Values are what the
    SDK gives `put` (an analysis as JSON, with the time it was stored): client data, to be kept like any."""

    def get(self, tenant: str, key: str) -> Any: ...
    def put(self, tenant: str, client: str, key: str, value: str) -> Any: ...
    def invalidate_tenant(self, tenant: str) -> Any: ...
    def invalidate_client(self, tenant: str, client: str) -> Any: ...

class CacheOptions(TypedDict, total=False):
    """The caches (all optional): tiers, similarity threshold, absolute lifetime, size, and where they live."""

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

JobStatus = Literal["queued", "running", "succeeded", "dead", "cancelled"]

class JobInfo(TypedDict):
    """What `Queue.status` says of a job (no client data)."""

    id: str
    tenant: str
    idempotency_key: str
    status: JobStatus
    attempts: int
    max_attempts: int
    error: Optional[str]
    result_id: Optional[str]

class WorkerStats(TypedDict):
    """What a worker did, once `until` stopped it gracefully."""

    succeeded: int
    retried: int
    dead: int
    lost_leases: int
    stopped: int

ReviewStatus = Literal["draft", "reviewed", "signed_off"]

class PrincipalDict(TypedDict):
    tenant: str
    role: Literal["admin", "cpa", "client"]
    client: Optional[str]

class ReviewNote(TypedDict):
    by: PrincipalDict
    at: str
    text: str

class Review(TypedDict):
    """Where an analysis stands in the firm's review."""

    status: ReviewStatus
    notes: List[ReviewNote]
    reviewed_by: Optional[PrincipalDict]
    signed_off_by: Optional[PrincipalDict]
    signed_off_at: Optional[str]



class ProviderConfig(TypedDict, total=False):
    """One built-in provider: its key (never printed), another base URL, headers sent with every request, and how
    it is called (durations in seconds)."""

    api_key: str
    base_url: str
    headers: Dict[str, str]
    connect_timeout_seconds: float
    read_timeout_seconds: float
    first_chunk_timeout_seconds: float
    total_timeout_seconds: float
    max_retries: int
    breaker_threshold: int
    breaker_cool_down_seconds: float


class ProvidersConfig(TypedDict, total=False):
    """The built-in providers; `local` is any OpenAI-compatible server (its `base_url` is required)."""

    openrouter: ProviderConfig
    anthropic: ProviderConfig
    openai: ProviderConfig
    deepseek: ProviderConfig
    local: ProviderConfig


class ModelsConfig(TypedDict, total=False):
    analyst: str
    researcher: str
    validator: str


class RateLimitsConfig(TypedDict):
    per_tenant: int
    per_principal: int


class FinopsConfig(TypedDict, total=False):
    """`Finops(config)`: the core's configuration, checked by the core (an error names the path of a bad value)."""

    providers: ProvidersConfig
    models: ModelsConfig
    offline: bool
    env: bool
    unpriced: Literal["flag", "refuse"]
    prices: Dict[str, Dict[str, Union[str, int, float]]]
    fallback_estimate_usd: Union[Decimal, str, float]
    rate_limits: RateLimitsConfig
    budgets: Dict[str, Union[Decimal, str, float]]
    cache: CacheOptions
    vault: str
