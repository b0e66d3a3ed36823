// Types of the `finops` package (hand-written, checked by `npm run typecheck` against the examples and tests).

/** JSON text (a string starting with `{`), a Buffer, a plain object, a path, or a file URL. */
export type StatementsSource = string | Buffer | Uint8Array | URL | Record<string, unknown>
export type Phase = 'analyst' | 'researcher' | 'validator'
export type Language = 'fr' | 'en'

export interface AccountAmount {
  /** The account number or id as the books hold it. */
  account: string
  name: string
  /** Exact decimal as a string, in the line's own sign (a contra account is negative). */
  amount: string
}

export interface FigureInput {
  line: string
  period: string
  /** Exact decimal as a string. */
  value: string
  /** The ledger accounts that made the amount, when the statements were read from a ledger. */
  accounts?: AccountAmount[]
}

export type LedgerSource = string | Buffer | Uint8Array | URL

export interface ReadOptions {
  format?: 'auto' | 'statements' | 'trial-balance' | 'csv' | 'fec' | 'quickbooks' | 'xero'
  /** 'gifi', 'pcg', a custom chart `{name, map: [{accounts, line, credit_line?}]}`, or the path of one. */
  chart?: string | Record<string, unknown>
  /** Company fields a format does not hold, or overrides. */
  company?: { name?: string; sector?: string; naics?: string; jurisdiction?: string; currency?: string }
  unmapped?: 'error' | 'other'
  /** Account number or id → statement line, ahead of the chart. */
  overrides?: Record<string, string>
  /** Derive missing cash flow lines from consecutive balance sheets (indirect method; inputs list the terms). */
  deriveCashFlow?: boolean
}

export interface BuildInput {
  company: { name: string; currency: string; sector?: string; naics?: string; jurisdiction?: string }
  periods: Array<{
    label: string
    start: string
    end: string
    lines: Record<string, string | number>
    accounts?: Record<string, Array<{ account: string; name?: string; amount: string | number }>>
  }>
}

export interface Figure {
  /** `metric@period`, e.g. `gross_margin@FY2023`. */
  id: string
  metric: string
  period: string
  /** Exact decimal as a string (percentages as fractions: "0.25" is 25 %), or null when not computable. */
  value: string | null
  unit: 'ratio' | 'percent' | 'amount' | 'days'
  basis: 'average' | 'closing'
  formula: string
  inputs: FigureInput[]
  /** Why the figure is not computable. */
  reason?: string
}

export interface Computation {
  expression: string
  period: string
  value: string
  inputs: FigureInput[]
}

export interface ComputationRecord {
  id: string
  expression: string
  period: string
  value: string | null
  inputs?: FigureInput[]
  error?: string
}

export interface AnalysisPlan {
  intents: Array<'profitability' | 'liquidity' | 'solvency' | 'efficiency' | 'growth' | 'cash_flow' | 'health_check'>
  metrics: string[]
  periods: string[]
  comparisons: Array<{ metric: string; from: string; to: string }>
  language: Language
  /** Whether the plan asked where the client stands among the firm's other clients (absent when not). */
  benchmark?: boolean
}

export interface Finding {
  text: string
  cites: string[]
  status: 'unchecked' | 'confirmed' | 'rejected'
  note?: string
}

export interface PhaseUsage {
  phase: Phase
  provider: string
  model: string
  calls: number
  /** Every input token, prompt-cache reads and writes included. */
  inputTokens: number
  outputTokens: number
  /** Input tokens read from the provider's prompt cache (billed at its cache-read price). */
  cachedInputTokens: number
  /** Input tokens written to the provider's prompt cache (billed at its cache-write price). */
  cacheWriteTokens: number
  /** Of `cacheWriteTokens`, those written for an hour (billed at the hour-long write price). */
  cacheWrite1hTokens: number
  /** USD as a decimal string; null when unknown (never a silent 0). */
  costUsd: string | null
  latencyMs: number
  cached: boolean
  retries: number
  fallbacks: number
  unpriced: boolean
  usageMissing: boolean
}

export interface Analysis {
  id: string
  tenant: string
  client: string
  question: string
  language: Language
  fingerprint: string
  plan: AnalysisPlan
  figures: Figure[]
  /** Where the client stands among the firm's other clients of its sector (absent unless the plan asked). */
  benchmarks?: Benchmark[]
  computations: ComputationRecord[]
  findings: Finding[]
  /** Markdown. */
  report: string
  reportSource: 'validator' | 'validator_repaired' | 'offline'
  validation: { grounded: boolean; ungroundedNumbers: Array<{ text: string; offset: number }>; warnings: string[] }
  statementWarnings: Array<{ code: string; field: string; message: string }>
  usage: PhaseUsage[]
  totalCostUsd: string | null
  cache: 'miss' | 'exact' | 'semantic' | 'plan'
  /** Cosine similarity of the reused question (semantic and plan hits), decimal string. */
  cacheSimilarity?: string
  /** USD a cache hit did not spend, decimal string; never part of `total_cost_usd`. */
  savedUsd?: string
  degraded: boolean
  degradedReason?: string
  promptVersion: string
  timings: { totalMs: number; analystMs: number; researcherMs: number; validatorMs: number }
}

export type AnalysisEvent =
  | { type: 'queued'; analysisId: string }
  | { type: 'phase_started'; phase: Phase }
  | { type: 'text_delta'; phase: Phase; text: string }
  | { type: 'retry'; phase: Phase; attempt: number; reason: string }
  | { type: 'fallback'; phase: Phase; from: string; to: string; model: string; reason: string }
  | { type: 'computation_done'; computation: ComputationRecord }
  | { type: 'phase_finished'; usage: PhaseUsage }
  | { type: 'cache_hit'; outcome: 'exact' | 'semantic' | 'plan' }
  | { type: 'degraded'; phase: Phase; reason: string }
  | { type: 'completed'; analysis: Analysis }
  | { type: 'failed'; error: { code: string; message: string; field?: string } }

export interface Principal {
  tenant: string
  role: 'admin' | 'cpa' | 'client'
  /** Required for a `client`. */
  client?: string
  /** Who the person is at the identity provider (a verified token's `sub`), kept for the audit trail. */
  sub?: string
}

export interface AnalysisRequest {
  statements: StatementsSource
  question: string
  language?: Language
  tenant?: string
  client?: string
  principal?: Principal
  /** How this request uses the caches (default 'on'). */
  cacheMode?: CacheMode
  /** Reuse only cache entries younger than this. */
  maxCacheAgeMs?: number
  /** The firm's clients to benchmark this one against when the question asks about peers (else the vault's). */
  peers?: Portfolio
  /** Aborting cancels the analysis: the Rust work stops and the promise rejects with CancelledError. */
  signal?: AbortSignal
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

/** What a provider's `chat` receives. */
export interface ChatRequest {
  model: string
  messages: ChatMessage[]
  temperature?: number
  maxTokens?: number
  jsonMode: boolean
  /**
   * The JSON Schema the answer must follow (strict: every property required, no others), for a provider that can
   * enforce it (`response_format: json_schema`, a forced tool call). Passed as the core wrote it: its property
   * names are the answer's keys, so they are not camelCased.
   */
  schema?: { name: string; schema: Record<string, unknown> }
  phase: Phase
}

export interface ChatAnswer {
  text: string
  inputTokens?: number
  outputTokens?: number
  /** USD, as a number or a decimal string. */
  costUsd?: number | string
}

/** A provider written in JS. Throw an error with `retryable = true` for a failure worth retrying. */
export interface Provider {
  name?: string
  chat(request: ChatRequest): Promise<string | ChatAnswer>
}

export interface Embedder {
  dimensions: number
  embed(texts: string[]): Promise<number[][]>
}

/** One built-in provider: its key, where it is, and how it is called (durations in seconds). */
export interface ProviderConfig {
  /** Required, but for `local`. Never printed. */
  apiKey?: string
  /** Another base URL (a proxy, a gateway); required for `local`. */
  baseUrl?: string
  /** Sent with every request; header names as written. */
  headers?: Record<string, string>
  connectTimeoutSeconds?: number
  readTimeoutSeconds?: number
  firstChunkTimeoutSeconds?: number
  totalTimeoutSeconds?: number
  maxRetries?: number
  breakerThreshold?: number
  breakerCoolDownSeconds?: number
}

export interface FinopsOptions {
  /** The core's configuration as is (snake_case), under the options below. */
  config?: Record<string, unknown>
  /** Built-in providers, each with its own key: one configuration per firm in one process is normal. */
  providers?: Partial<Record<'openrouter' | 'anthropic' | 'openai' | 'deepseek' | 'local', ProviderConfig>>
  /** Every analysis is saved in this vault (or one opened at a directory or postgres:// URL) before it is returned. */
  vault?: Vault | string
  provider?: Provider | ScriptedProvider
  models?: Partial<Record<Phase, string>>
  embedder?: Embedder
  offline?: boolean
  /** Read `OPENROUTER_API_KEY`, `FINOPS_MODEL_*`, ...; by default only when no provider is configured in code. */
  env?: boolean
  /** `flag` (default) calls a model with no known price and reports its cost as unknown; `refuse` does not call it. */
  unpriced?: 'flag' | 'refuse'
  /** Prices per model, USD per million tokens (`{ 'my-model': { effective: '2026-01-01', inputPerMtok: '1', outputPerMtok: '2' } }`). */
  prices?: Record<string, { effective: string; inputPerMtok: string | number; outputPerMtok: string | number; cachedInputPerMtok?: string | number; cacheWritePerMtok?: string | number; cacheWrite1hPerMtok?: string | number; reasoningPerMtok?: string | number }>
  /** USD reserved per model phase against a budget when the model has no price. */
  fallbackEstimateUsd?: string | number
  /** Monthly USD budget per tenant: `{ 'firm-1': '50' }`. */
  budgets?: Record<string, string | number>
  /** Requests per minute. */
  rateLimits?: { perTenant: number; perPrincipal: number }
  /** `true` for the embedded in-memory caches (exact, semantic, plan), or options. Off when absent. */
  cache?: boolean | CacheOptions | Cache
}

/** The exact tier implemented by the host: a store of strings (values are analyses as JSON: client data). */
export interface Cache {
  get(tenant: string, key: string): Promise<string | null | undefined> | string | null | undefined
  put(tenant: string, client: string, key: string, value: string): Promise<void> | void
  invalidateTenant(tenant: string): Promise<void> | void
  invalidateClient(tenant: string, client: string): Promise<void> | void
}

/** The caches: tiers (all on by default), similarity threshold, absolute lifetime, size, and where they live. */
export interface CacheOptions {
  exact?: boolean
  semantic?: boolean
  plans?: boolean
  /** Share Analyst plans across tenants (they carry no client data). */
  sharePlans?: boolean
  /** Minimum cosine similarity, in (0, 1]; the guard still decides. */
  threshold?: number
  ttlSeconds?: number
  capacity?: number
  /** An encrypted SQLite store under this folder, so later processes reuse the caches. */
  dataDir?: string
  /** A PostgreSQL store shared by every process (new entries announced with LISTEN/NOTIFY). */
  postgresUrl?: string
  /** The exact tier on this Redis (needs dataDir or postgresUrl for the keys). */
  redisUrl?: string
}

/** How one request uses the caches. */
export type CacheMode = 'on' | 'off' | 'read-only' | 'write-only'


export declare class Finops {
  constructor(options?: FinopsOptions)
  static fromEnv(): Finops
  readonly routes: string[]
  analyze(request: AnalysisRequest): Promise<Analysis>
  /** The events as they come; the request's `signal` (or breaking out of the loop) cancels the analysis. */
  stream(request: AnalysisRequest): AsyncIterableIterator<AnalysisEvent>
  embed(texts: string[]): Promise<number[][]>
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'dead' | 'cancelled'

/** An analysis to run on a worker, perhaps in another process. */
export interface Job {
  statements: StatementsSource
  question: string
  tenant: string
  /** Enqueuing the same key twice (per tenant) gives the first job. */
  key: string
  client?: string
  language?: Language
  /** Higher runs first (PostgreSQL and in-process queues). */
  priority?: number
  /** Attempts before the dead letters, 1 to 20 (default 3). */
  maxAttempts?: number
  /** Relay the analysis's own events to `follow` (one write per batch of events). */
  events?: boolean
}

/** What `Queue.status` says of a job (no client data). */
export interface JobInfo {
  id: string
  tenant: string
  idempotencyKey: string
  status: JobStatus
  attempts: number
  maxAttempts: number
  error: string | null
  resultId: string | null
}

export type JobEvent =
  | { type: 'started'; attempt: number }
  | { type: 'analysis'; attempt: number; event: AnalysisEvent }
  | { type: 'attempt_failed'; attempt: number; error: string; status: JobStatus }
  | { type: 'finished'; status: JobStatus; resultId: string | null; error: string | null }

export interface WorkerStats {
  succeeded: number
  retried: number
  dead: number
  lostLeases: number
  stopped: number
}

/** Jobs for workers in other processes, on PostgreSQL or Redis Streams (`FINOPS_MASTER_KEY` in every process). */
export declare class Queue {
  /** `retentionSeconds`: how long ended jobs stay known (default a day). */
  static connect(url: string, options?: { store?: string; retentionSeconds?: number }): Promise<Queue>
  enqueue(job: Job): Promise<string>
  status(tenant: string | Principal, id: string): Promise<JobInfo | null>
  cancel(tenant: string | Principal, id: string): Promise<JobStatus | null>
  /** The job's events; `signal` stops following (the job itself runs on). */
  follow(tenant: string | Principal, id: string, options?: { signal?: AbortSignal }): AsyncIterableIterator<JobEvent>
  /** Closes the queue's connections and its vault's; later calls reject with a BackendError. */
  close(): Promise<void>
  result(tenant: string | Principal, id: string): Promise<Analysis | null>
  runWorker(finops: Finops, options?: { concurrency?: number; leaseMs?: number; signal?: AbortSignal }): Promise<WorkerStats>
}

export type ReviewStatus = 'draft' | 'reviewed' | 'signed_off'

/** Where an analysis stands in the firm's review. */
export interface Review {
  status: ReviewStatus
  notes: { by: Principal; at: string; text: string }[]
  reviewedBy: Principal | null
  signedOffBy: Principal | null
  /** RFC 3339. */
  signedOffAt: string | null
}

/** One entry of a firm's hash-chained audit trail (no client data). */
export interface AuditEntry {
  seq: number
  at: string
  tenant: string
  actor: Principal | null
  /** e.g. `analysis`, `access_denied`, `review`, `key_rotated`, `client_erasure`. */
  action: string
  subject: string | null
  details: Record<string, unknown>
  prevHash: string
  hash: string
}

/**
 * Analyses stored encrypted (one key per client company), every read and write checked against the principal and
 * audited. `location`: a directory (embedded SQLite and its `master.key`) or a `postgres://` URL
 * (`FINOPS_MASTER_KEY`).
 */
export declare class Vault {
  /** Stores the job results waiting for a commit and closes the store's connections; later calls reject with a BackendError. */
  close(): Promise<void>
  static open(location: string, options?: { requireSignOff?: boolean }): Promise<Vault>
  save(principal: Principal, analysis: Analysis): Promise<void>
  get(principal: Principal, id: string): Promise<Analysis>
  list(principal: Principal): Promise<Analysis[]>
  review(principal: Principal, id: string): Promise<Review>
  act(principal: Principal, id: string, action: 'annotate' | 'reviewed' | 'sign_off', options?: { note?: string }): Promise<Review>
  exportAudit(principal: Principal): Promise<string>
  /** Checks an export of this firm's trail with the firm's key (hashes, MACs, signed head); its entries. */
  verifyAudit(principal: Principal, jsonl: string): Promise<AuditEntry[]>
  rotateKey(principal: Principal): Promise<string>
  reencrypt(principal: Principal): Promise<number>
  eraseClient(principal: Principal, client: string): Promise<number>
  eraseTenant(principal: Principal): Promise<void>
}

/** Checks an exported audit trail (hashes and order); throws IntegrityError when an entry was edited, removed or moved. */
export declare function verifyAudit(jsonl: string): AuditEntry[]

/** Tokens of the host's identity provider into principals (claims `sub`, `exp`, `iss`, `aud`, `tenant`, `role`, `client`). */
export declare class JwtVerifier {
  constructor(options: { algorithm: 'HS256' | 'RS256' | 'ES256' | 'JWKS'; key: string | Buffer; issuer: string; audience: string })
  verify(token: string): Principal
}

export declare class ScriptedProvider {
  constructor(options?: { latencyMs?: number })
  reply(phase: Phase, text: string, options?: { inputTokens?: number; outputTokens?: number }): this
  fail(phase: Phase, message: string, options?: { retryable?: boolean }): this
  remaining(phase: Phase): number
}

export declare function computeMetrics(statements: StatementsSource): Figure[]
/** Statements (a finops.statements/v1 object with each line's accounts) from any ledger format finops reads. */
export declare function readStatements(sources: LedgerSource | LedgerSource[], options?: ReadOptions): Record<string, unknown>
export interface ScreenFilter {
  metric: string
  op: '<' | '<=' | '>' | '>=' | '==' | '!='
  /** In the figure's unit (percentages as fractions): a decimal string or a number. */
  threshold: string | number
  /** 'latest' (default), 'each', or a period label. */
  period?: string
  naicsPrefix?: string
  sector?: string
}
export type Portfolio = Record<string, StatementsSource> | Map<string, StatementsSource> | Array<[string, StatementsSource]>
export interface ScreenMatch { client: string; company: string; figures: Figure[] }
export interface Benchmark {
  id: string
  metric: string
  period: string
  figure: Figure
  cohort: string
  cohortSize: number
  /** Decimal string, 0 to 100. */
  percentile: string
  quartile: 1 | 2 | 3 | 4
}
/**
 * Every catalogue figure of every period of every source as the bytes of an Arrow IPC stream (read it with
 * `tableFromIPC` of apache-arrow): one row per client, period and metric, `value` an exact decimal128. An array of
 * sources names clients by index; a portfolio by id. `options.format` other than 'statements' reads ledger inputs.
 */
export declare function computeMetricsTable(sources: StatementsSource[] | Portfolio, options?: ReadOptions): Promise<Buffer>
/** The clients whose figure passes the screen, with the figures that matched. */
export declare function screen(clients: Portfolio, filter: ScreenFilter): ScreenMatch[]
/** A client's position among the firm's other clients of its sector (cohorts of at least five). */
export declare function peerBenchmarks(client: string, clients: Portfolio, metrics?: string[]): { benchmarks: Benchmark[]; missing: Array<{ metric: string; reason: string }> }
/** Statements from typed lines; totals left out are computed. */
export declare function buildStatements(input: BuildInput): Record<string, unknown>
export declare function evaluate(statements: StatementsSource, expression: string, period: string): Computation
export declare function fingerprint(statements: StatementsSource): string

export declare class FinopsError extends Error {
  /** Stable: FINOPS_INVALID_STATEMENTS, FINOPS_INVALID_ARGUMENT, FINOPS_PROVIDER, FINOPS_BACKEND, ... */
  readonly code: string
  /** The path of the refused value as the core names it, the same in every binding (`cache.ttl_seconds`,
   * `providers.openrouter.api_key`, `max_cache_age` for `maxCacheAgeMs`). */
  readonly field?: string
  readonly reason?: string
  /** Whether the same call may succeed later. */
  readonly retryable: boolean
  /** The core's details, snake_case as serialized (each also a camelCase property). */
  readonly details: Record<string, unknown>
}
export declare class InvalidStatementsError extends FinopsError {
  readonly issues: Array<{ field: string; reason: string }>
}
export declare class InvalidExpressionError extends FinopsError {
  readonly expression: string
  readonly position: number
}
export declare class InvalidArgumentError extends FinopsError {}
export declare class ProviderError extends FinopsError {
  readonly provider: string
  readonly status?: number
  /** Seconds. */
  readonly retryAfter?: number
}
/** A provider's 429, or the SDK's own rate limit (then `scope` is `tenant` or `principal`). */
export declare class RateLimitedError extends ProviderError {
  readonly scope?: string
}
export declare class BudgetExceededError extends FinopsError {
  readonly tenant: string
  /** USD, decimal string. */
  readonly limitUsd: string
  readonly spentUsd: string
}
export declare class AccessDeniedError extends FinopsError {}
/** A refused token; `kind`: malformed, algorithm, signature, expired, not_yet_valid, audience, issuer, missing_claim, invalid_claim. */
export declare class InvalidTokenError extends FinopsError {
  readonly kind: string
}
/** Stored or exported data did not check out (altered, moved, reordered, or the wrong key). */
export declare class IntegrityError extends FinopsError {}
/** A key needed to read data is unknown or was destroyed by an erasure. */
export declare class KeyUnavailableError extends FinopsError {
  readonly keyId: string
}
/** A database, cache or queue server, the semantic index or a host's own code failed. */
export declare class BackendError extends FinopsError {
  /** sqlite, postgres, redis, semantic_index or host. */
  readonly backend: string
}
export declare class CancelledError extends FinopsError {}
export declare class InternalError extends FinopsError {}
