'use strict'
// The `finops` package: JS idioms over the native module (objects, Error subclasses with stable codes, async
// iterators, AbortSignal). Values cross into Rust as JSON; no analysis logic lives here.

const fs = require('node:fs')
const native = require('./native.js')

const camel = (key) => key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())
// Keys are renamed in the JSON text, before parsing or after stringifying: a JSON string right after `{` or `,`
// and followed by `:` is always a key (a quote inside a string is escaped), and a regular expression over the text
// costs a fraction of rebuilding every object (measured: 78 figures, 477 us rebuilt against 230 us).
const SNAKE_KEY = /([{,]\s*)"([a-z][a-z0-9]*(?:_[a-z0-9]+)+)"(\s*:)/g
const CAMEL_KEY = /([{,])"([a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+)":/g
/** A result from the core (JSON text) as JS: camelCase keys. */
const fromCore = (json) => JSON.parse(json.replace(SNAKE_KEY, (_, before, key, after) => `${before}"${camel(key)}"${after}`))
/** A JS value for the core: snake_case keys. */
const toCore = (value) => JSON.stringify(value).replace(CAMEL_KEY, (_, before, key) => `${before}"${snake(key)}":`)

/**
 * Every finops error: `code` (FINOPS_ + the core's code), `message`, `field`, `reason`, `retryable`, `details` (the
 * core's details as sent), and each detail as a camelCase property. The one unit conversion: a duration in
 * milliseconds (`retry_after_ms`) is also given in seconds without the suffix (`retryAfter`), as before.
 */
class FinopsError extends Error {
  constructor(info) {
    super(info.message)
    this.name = this.constructor.name
    this.code = 'FINOPS_' + String(info.code).toUpperCase()
    this.field = info.field ?? undefined
    this.reason = info.reason ?? undefined
    this.retryable = Boolean(info.retryable)
    this.details = info.details ?? {}
    for (const [key, value] of Object.entries(this.details)) {
      this[camel(key)] = value ?? undefined
      if (key.endsWith('_ms')) this[camel(key.slice(0, -3))] = value == null ? undefined : value / 1000
    }
  }
}
class InvalidStatementsError extends FinopsError {}
class InvalidExpressionError extends FinopsError {}
class InvalidArgumentError extends FinopsError {}
class ProviderError extends FinopsError {}
class RateLimitedError extends ProviderError {}
class BudgetExceededError extends FinopsError {}
class AccessDeniedError extends FinopsError {}
class InvalidTokenError extends FinopsError {}
class IntegrityError extends FinopsError {}
class KeyUnavailableError extends FinopsError {}
/** A database, cache or queue server, the semantic index or a host's own code failed. */
class BackendError extends FinopsError {}
class CancelledError extends FinopsError {}
class InternalError extends FinopsError {}

const MARK = 'FINOPS_ERROR'

/** Rethrows a native error as the matching FinopsError subclass. */
function translate(err) {
  const message = err && typeof err.message === 'string' ? err.message : ''
  const at = message.indexOf(MARK)
  if (at < 0) return err
  let info
  try {
    info = JSON.parse(message.slice(at + MARK.length))
  } catch {
    return err
  }
  switch (info.code) {
    case 'invalid_statements':
      return new InvalidStatementsError(info)
    case 'invalid_expression':
      return new InvalidExpressionError(info)
    case 'invalid_argument':
      return new InvalidArgumentError(info)
    case 'provider':
      return info.status === 429 ? new RateLimitedError(info) : new ProviderError(info)
    case 'access_denied':
      return new AccessDeniedError(info)
    case 'rate_limited':
      return new RateLimitedError(info)
    case 'budget_exceeded':
      return new BudgetExceededError(info)
    case 'invalid_token':
      return new InvalidTokenError(info)
    case 'integrity':
      return new IntegrityError(info)
    case 'key_unavailable':
      return new KeyUnavailableError(info)
    case 'backend':
      return new BackendError(info)
    case 'cancelled':
      return new CancelledError(info)
    default:
      return new InternalError(info)
  }
}

function call(fn) {
  try {
    return fn()
  } catch (e) {
    throw translate(e)
  }
}

function invalid(field, reason) {
  return new InvalidArgumentError({ code: 'invalid_argument', message: `invalid argument \`${field}\`: ${reason}`, field, reason })
}

/** Who asks about a job: a tenant id (the host's own code) or a principal object (a person: role rules apply). */
function whoJson(tenant) {
  if (typeof tenant === 'string') return tenant
  if (tenant !== null && typeof tenant === 'object') return principalJson(tenant)
  throw invalid('tenant', 'must be a tenant id or a principal')
}

/** Statements as JSON text: a JSON string, a Buffer, a plain object, or a path. */
function statementsJson(statements) {
  if (typeof statements === 'string') {
    if (statements.trimStart().startsWith('{')) return statements
    try {
      return fs.readFileSync(statements, 'utf8')
    } catch (e) {
      throw invalid('statements', `cannot read \`${statements}\`: ${e.message}`)
    }
  }
  if (Buffer.isBuffer(statements) || statements instanceof Uint8Array) return Buffer.from(statements).toString('utf8')
  if (statements instanceof URL) return statementsJson(statements.pathname)
  if (statements !== null && typeof statements === 'object') return JSON.stringify(statements)
  throw invalid('statements', `expected JSON text, a Buffer, an object or a path, not ${statements === null ? 'null' : typeof statements}`)
}

/** Every catalogue metric for every period: an array of figure objects (`value` is a decimal string or null). */
function computeMetrics(statements) {
  return fromCore(call(() => native.computeMetrics(statementsJson(statements))))
}

/** A ledger source: a path, a Buffer / Uint8Array, or text content (JSON, CSV or FEC). */
function ledgerSource(source, i) {
  if (Buffer.isBuffer(source) || source instanceof Uint8Array) return [null, Buffer.from(source)]
  if (source instanceof URL) return ledgerSource(source.pathname, i)
  if (typeof source === 'string') {
    if (source.includes('\n') || /^\s*[[{]/.test(source)) return [null, Buffer.from(source, 'utf8')]
    try {
      return [source, fs.readFileSync(source)]
    } catch (e) {
      throw invalid(`sources[${i}]`, `cannot read \`${source}\`: ${e.message}`)
    }
  }
  throw invalid(`sources[${i}]`, `expected a path, a Buffer or text, not ${source === null ? 'null' : typeof source}`)
}

/**
 * Statements from a trial balance (JSON or CSV), FEC files, QuickBooks Online or Xero reports, or a statements
 * document: a `finops.statements/v1` object whose periods carry each line's accounts, ready for `computeMetrics`
 * and `analyze`. Options: `format`, `chart` ('gifi', 'pcg', a custom chart object or its path), `company`,
 * `unmapped` ('error' or 'other'), `overrides` (account → line), `deriveCashFlow` (derive missing cash flow lines
 * from consecutive balance sheets; each derived figure lists its terms).
 */
function readStatements(sources, options = {}) {
  const list = Array.isArray(sources) ? sources : [sources]
  const pairs = list.map(ledgerSource)
  if (options === null || typeof options !== 'object') throw invalid('options', 'must be an object')
  const opts = { ...options }
  if ('deriveCashFlow' in opts) {
    opts.derive_cash_flow = opts.deriveCashFlow
    delete opts.deriveCashFlow
  }
  const json = call(() => native.readStatements(pairs.map((p) => p[0]), pairs.map((p) => p[1]), JSON.stringify(opts)))
  return JSON.parse(json)
}

/** Statements from typed lines: `{company, periods: [{label, start, end, lines, accounts?}]}`; totals are computed. */
function buildStatements(input) {
  if (input === null || typeof input !== 'object') throw invalid('input', 'must be an object with company and periods')
  return JSON.parse(call(() => native.buildStatements(JSON.stringify(input))))
}

/** A portfolio as parallel arrays: an object of client id → statements, or [id, statements] pairs. */
function portfolioArrays(clients) {
  const pairs = clients instanceof Map ? [...clients.entries()] : Array.isArray(clients) ? clients : clients !== null && typeof clients === 'object' ? Object.entries(clients) : null
  if (pairs === null) throw invalid('clients', 'expected an object of client id → statements, a Map, or [id, statements] pairs')
  const ids = []
  const docs = []
  pairs.forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') throw invalid(`clients[${i}]`, 'expected [client id, statements]')
    ids.push(pair[0])
    docs.push(statementsJson(pair[1]))
  })
  return [ids, docs]
}

/**
 * The clients whose figure passes a screen: `{ metric, op: '<' | '<=' | '>' | '>=' | '==' | '!=', threshold,
 * period?: 'latest' | 'each' | label, naicsPrefix?, sector? }` (thresholds in the figure's unit, as a decimal string
 * or a number). Returns `[{ client, company, figures }]`.
 */
function screen(clients, filter) {
  if (filter === null || typeof filter !== 'object') throw invalid('screen', 'must be an object')
  const { naicsPrefix, threshold, ...rest } = filter
  const body = { ...rest, threshold: typeof threshold === 'number' ? String(threshold) : threshold }
  if (naicsPrefix !== undefined) body.naics_prefix = naicsPrefix
  const [ids, docs] = portfolioArrays(clients)
  return fromCore(call(() => native.screen(ids, docs, JSON.stringify(body))))
}

/** Where one client stands among the portfolio's other clients of its sector: `{ benchmarks, missing }`. */
function peerBenchmarks(client, clients, metrics = []) {
  if (typeof client !== 'string') throw invalid('client', 'must be a client id')
  if (!Array.isArray(metrics)) throw invalid('metrics', 'must be an array of metric ids')
  const [ids, docs] = portfolioArrays(clients)
  return fromCore(call(() => native.peerBenchmarks(client, ids, docs, metrics)))
}

/**
 * Every catalogue figure of every period of every source as one Arrow table, returned as the bytes of an Arrow IPC
 * stream (a Buffer; `tableFromIPC(bytes)` of apache-arrow reads it). One row per client, period and metric; columns
 * `client`, `company`, `sector`, `naics`, `period`, `periodEnd` as `period_end`, `metric`, `value` (exact
 * decimal128), `value_f64`, `unit`, `basis`, `reason`. `sources` is an array of statements sources (the client
 * column is then the index) or a portfolio (object, Map or [id, source] pairs). With `options.format` other than
 * 'statements', each source is a ledger input read with the options of `readStatements` (one per client). Computed
 * on every core, off the event loop.
 */
async function computeMetricsTable(sources, options = {}) {
  if (options === null || typeof options !== 'object') throw invalid('options', 'must be an object')
  const { format = 'statements', deriveCashFlow, ...rest } = options
  const plain = format === 'statements' && Object.keys(rest).length === 0 && !deriveCashFlow
  let pairs
  let label
  if (Array.isArray(sources) && !sources.every((s) => Array.isArray(s) && s.length === 2 && typeof s[0] === 'string')) {
    pairs = sources.map((s, i) => [String(i), s])
    label = 'sources'
  } else if (sources instanceof Map || Array.isArray(sources) || (sources !== null && typeof sources === 'object' && !Buffer.isBuffer(sources) && !(sources instanceof Uint8Array) && !(sources instanceof URL))) {
    pairs = sources instanceof Map ? [...sources.entries()] : Array.isArray(sources) ? sources : Object.entries(sources)
    label = 'clients'
  } else {
    throw invalid('sources', 'expected an array of statements sources, or an object, Map or [id, source] pairs of client id → source')
  }
  const ids = []
  const docs = []
  pairs.forEach(([id, source], i) => {
    if (typeof id !== 'string') throw invalid(`clients[${i}]`, 'a client id is a string')
    try {
      docs.push(plain ? Buffer.from(statementsJson(source), 'utf8') : ledgerSource(source, i)[1])
    } catch (e) {
      if (e instanceof FinopsError) throw invalid(`${label}[${id}]`, e.reason || e.message)
      throw e
    }
    ids.push(id)
  })
  let optionsJson = null
  if (!plain) {
    const opts = { format, ...rest }
    if (deriveCashFlow !== undefined) opts.derive_cash_flow = deriveCashFlow
    optionsJson = JSON.stringify(opts)
  }
  return settle(native.computeMetricsTable(ids, docs, label, optionsJson))
}

/** One Researcher expression evaluated exactly for a period. */
function evaluate(statements, expression, period) {
  return fromCore(call(() => native.evaluate(statementsJson(statements), expression, period)))
}

/** The canonical fingerprint (insensitive to key order and number formatting). */
function fingerprint(statements) {
  return call(() => native.fingerprint(statementsJson(statements)))
}

/** The scripted test provider: queued answers per phase, injected failures, latency. */
class ScriptedProvider {
  constructor(options = {}) {
    this.native = call(() => new native.NativeScriptedProvider(options.latencyMs))
  }
  reply(phase, text, options = {}) {
    call(() => this.native.reply(phase, text, options.inputTokens, options.outputTokens))
    return this
  }
  fail(phase, message, options = {}) {
    call(() => this.native.fail(phase, message, options.retryable))
    return this
  }
  remaining(phase) {
    return call(() => this.native.remaining(phase))
  }
}

function providerChat(provider) {
  if (typeof provider.chat !== 'function') throw invalid('provider', 'a provider needs a `chat(request)` function')
  return async (requestJson) => {
    try {
      // The answer's JSON Schema goes as it is: its property names (metric ids such as `working_capital`) are the answer's keys.
      const { schema, ...rest } = JSON.parse(requestJson)
      const request = fromCore(JSON.stringify(rest))
      if (schema) request.schema = schema
      const answer = await provider.chat(request)
      if (typeof answer === 'string') return JSON.stringify({ text: answer })
      if (answer && typeof answer === 'object') {
        const { text, inputTokens, outputTokens, costUsd } = answer
        return JSON.stringify({ text, input_tokens: inputTokens, output_tokens: outputTokens, cost_usd: costUsd })
      }
      return JSON.stringify({ error: { message: `the provider's answer is neither a string nor an object: ${typeof answer}` } })
    } catch (e) {
      return JSON.stringify({ error: { message: `${e && e.name ? e.name : 'Error'}: ${e && e.message ? e.message : e}`, retryable: Boolean(e && e.retryable) } })
    }
  }
}

/**
 * camelCase → snake_case, for the keys of the core's configuration and requests. A number with its unit letter
 * had its own underscore (`cacheWrite1hTokens` is `cache_write_1h_tokens`); a number ending a word did not
 * (`contentSha256` is `content_sha256`).
 */
const snake = (key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/([a-z])(\d+[a-z])/g, '$1_$2')
const snakeKeys = (obj) =>
  obj !== null && typeof obj === 'object' && !Array.isArray(obj) ? Object.fromEntries(Object.entries(obj).map(([k, v]) => [snake(k), v])) : obj
/** Each value of a map keyed by the host's own names (tenants, models, providers) with its fields in snake_case. */
const snakeValues = (map) =>
  map !== null && typeof map === 'object' && !Array.isArray(map) ? Object.fromEntries(Object.entries(map).map(([k, v]) => [k, snakeKeys(v)])) : map

/**
 * A request as the core's JSON: the statements, the question, and the core's request options. The one unit
 * conversion: JS gives the maximum cache age in milliseconds (`maxCacheAgeMs`), the core takes seconds.
 */
function requestJson(request) {
  if (request === null || typeof request !== 'object') throw invalid('request', 'expected an object with `statements` and `question`')
  const { statements, question, language, tenant, client, principal, cacheMode, maxCacheAgeMs, peers } = request
  if (typeof question !== 'string') throw invalid('question', 'must be a string')
  // JSON would turn NaN and Infinity into null (no maximum age): refuse them here; the core checks the range.
  if (maxCacheAgeMs !== undefined && maxCacheAgeMs !== null && (typeof maxCacheAgeMs !== 'number' || !Number.isFinite(maxCacheAgeMs))) {
    throw invalid('maxCacheAgeMs', 'must be a finite number of milliseconds')
  }
  let peerList
  if (peers !== undefined && peers !== null) {
    const [ids, docs] = portfolioArrays(peers)
    peerList = ids.map((id, i) => ({ id, statements: docs[i] }))
  }
  return JSON.stringify({
    statements: statementsJson(statements),
    question,
    peers: peerList,
    options: {
      language,
      tenant,
      client,
      principal,
      cache_mode: cacheMode,
      max_cache_age: typeof maxCacheAgeMs === 'number' ? maxCacheAgeMs / 1000 : maxCacheAgeMs,
    },
  })
}

/**
 * The options of `new Finops({...})` as the core's configuration (snake_case keys; the host's names — tenants,
 * models, header names — untouched). `config` passes a configuration in the core's own form through as is.
 */
function configJson(options) {
  const { config, provider, embedder, cache, vault, providers, rateLimits, prices, ...rest } = options
  const out = { ...(config ?? {}) }
  for (const [k, v] of Object.entries(rest)) if (v !== undefined && v !== null) out[snake(k)] = v
  if (providers !== undefined && providers !== null) {
    out.providers = Object.fromEntries(
      Object.entries(providers).map(([name, p]) => [name, p !== null && typeof p === 'object' ? { ...snakeKeys(p), headers: p.headers } : p]),
    )
  }
  if (rateLimits !== undefined && rateLimits !== null) out.rate_limits = snakeKeys(rateLimits)
  if (prices !== undefined && prices !== null) out.prices = snakeValues(prices)
  if (cache === true || isCacheObject(cache)) out.cache = {}
  else if (cache !== undefined && cache !== null && cache !== false) out.cache = snakeKeys(cache)
  // A Vault object is passed natively; anything else is the core's to accept (a directory or URL) or refuse.
  if (vault !== undefined && vault !== null && !(vault instanceof Vault)) out.vault = vault
  return JSON.stringify(out)
}

/** A host's exact tier (get, put, invalidateTenant, invalidateClient) as the one function the addon calls. */
function cacheCall(cache) {
  const methods = { get: 'get', put: 'put', invalidate_tenant: 'invalidateTenant', invalidate_client: 'invalidateClient' }
  for (const m of Object.values(methods)) {
    if (typeof cache[m] !== 'function') throw invalid('cache', `a cache object needs a \`${m}\` method`)
  }
  return async (requestJson) => {
    const { op, args } = JSON.parse(requestJson)
    const value = await cache[methods[op]](...args)
    return JSON.stringify({ value: typeof value === 'string' ? value : null })
  }
}

function isCacheObject(cache) {
  return cache !== null && typeof cache === 'object' && typeof cache.get === 'function'
}


class Finops {
  /**
   * The options are the core's configuration in camelCase (`providers`, `models`, `offline`, `env`, `unpriced`,
   * `prices`, `fallbackEstimateUsd`, `rateLimits`, `budgets`, `cache`, `vault`), plus the host's own objects. With
   * nothing configured: providers from the environment, the offline analyst when none is set.
   * `providers`: built-in providers with their keys, e.g. `{ openrouter: { apiKey, baseUrl, headers } }`.
   * `provider`: an object with `chat(request)` (async), or a ScriptedProvider, used for every phase with `models`.
   * `embedder`: an object with `dimensions` and `embed(texts)`. `offline: true` ignores the environment.
   * `cache`: true for the embedded in-memory caches (exact, semantic, plan), CacheOptions, or an object implementing
   * the exact tier (`get`, `put`, `invalidateTenant`, `invalidateClient`; the other tiers stay in memory).
   * `vault`: a Vault where every analysis is saved (encrypted, audited) before it is returned.
   */
  constructor(options = {}) {
    const { provider, embedder, cache, vault } = options
    const host = {}
    if (isCacheObject(cache)) host.cacheCall = cacheCall(cache)
    let scripted
    if (provider instanceof ScriptedProvider) scripted = provider.native
    else if (provider !== undefined && provider !== null) {
      host.chat = providerChat(provider)
      host.providerName = typeof provider.name === 'string' ? provider.name : undefined
    }
    if (embedder !== undefined && embedder !== null) {
      if (typeof embedder.embed !== 'function') throw invalid('embedder', 'an embedder needs an `embed(texts)` function')
      host.embed = async (textsJson) => JSON.stringify(await embedder.embed(JSON.parse(textsJson)))
      host.embedDimensions = embedder.dimensions
    }
    const nativeVault = vault instanceof Vault ? vault.native : undefined
    this.native = call(() => new native.NativeFinops(configJson(options), host, scripted, nativeVault))
  }

  /** Providers from the environment (`OPENROUTER_API_KEY`, `FINOPS_OPENAI_BASE_URL`, ...). */
  static fromEnv() {
    return new Finops({ env: true })
  }

  /** Each phase's route; no key appears. */
  get routes() {
    return this.native.routes
  }

  /** Runs an analysis. `signal` (an AbortSignal) cancels it: the Rust work stops and the promise rejects. */
  async analyze(request) {
    const body = requestJson(request)
    const token = new native.CancelToken()
    const signal = request.signal
    if (signal && signal.aborted) throw new CancelledError({ code: 'cancelled', message: 'analysis cancelled' })
    const onAbort = () => token.cancel()
    if (signal) signal.addEventListener('abort', onAbort, { once: true })
    try {
      return fromCore(await this.native.analyze(body, token))
    } catch (e) {
      throw translate(e)
    } finally {
      if (signal) signal.removeEventListener('abort', onAbort)
    }
  }

  /**
   * `for await (const event of fo.stream({...}))`. Breaking out of the loop cancels the work, and so does the
   * request's `signal` (an AbortSignal): the pending `next()` rejects with a CancelledError.
   */
  stream(request) {
    const token = tokenFor(request && request.signal)
    return iterate(call(() => this.native.stream(requestJson(request), token)))
  }

  /** The configured embedder's vectors (default: the deterministic hashing embedder, 256 dimensions). */
  async embed(texts) {
    if (!Array.isArray(texts)) throw invalid('texts', 'must be an array of strings')
    try {
      return JSON.parse(await this.native.embed(JSON.stringify(texts)))
    } catch (e) {
      throw translate(e)
    }
  }
}

/** A native cancel token wired to an AbortSignal (none: a token nobody cancels); an aborted signal throws now. */
function tokenFor(signal) {
  const token = new native.CancelToken()
  if (signal === undefined || signal === null) return token
  if (signal.aborted) throw new CancelledError({ code: 'cancelled', message: 'analysis cancelled' })
  signal.addEventListener('abort', () => token.cancel(), { once: true })
  return token
}

/** An async iterator over a native stream of JSON values; `return()` closes it. */
function iterate(source) {
  let done = false
  return {
    [Symbol.asyncIterator]() {
      return this
    },
    async next() {
      if (done) return { done: true, value: undefined }
      let json
      try {
        json = await source.next()
      } catch (e) {
        done = true
        throw translate(e)
      }
      if (json === null || json === undefined) {
        done = true
        return { done: true, value: undefined }
      }
      return { done: false, value: fromCore(json) }
    },
    async return() {
      done = true
      await source.close()
      return { done: true, value: undefined }
    },
  }
}

/**
 * Jobs for workers in other processes: `await Queue.connect('postgres://…#name')`, or
 * `Queue.connect('redis://…', { store: 'postgres://…' })`. The master key comes from `FINOPS_MASTER_KEY`, the same
 * in every process of the deployment.
 */
class Queue {
  constructor(nativeQueue) {
    this.native = nativeQueue
  }

  static async connect(url, options = {}) {
    if (typeof url !== 'string') throw invalid('queue', 'must be a postgres:// or redis:// URL')
    try {
      const retention = options.retentionSeconds ?? null
      if (retention !== null && (typeof retention !== 'number' || !Number.isFinite(retention))) {
        throw invalid('retentionSeconds', 'must be a number of seconds >= 1')
      }
      return new Queue(await native.connectQueue(url, options.store ?? null, retention))
    } catch (e) {
      throw translate(e)
    }
  }

  /** Enqueues an analysis; resolves to the job's id (the first job's id when the tenant sent this key before). */
  async enqueue(job) {
    if (job === null || typeof job !== 'object') throw invalid('job', 'must be an object')
    // The core's job (snake_case; `key` is its idempotency key), checked there.
    const { statements, key, ...rest } = job
    const body = toCore({ ...rest, idempotencyKey: key, statementsJson: statementsJson(statements) })
    try {
      return await this.native.enqueue(body)
    } catch (e) {
      throw translate(e)
    }
  }

  /** The job's status (`status`, `attempts`, `error`, `result_id`, ...), or null when the tenant has no such job. */
  async status(tenant, id) {
    try {
      const json = await this.native.status(whoJson(tenant), id)
      return json === null ? null : fromCore(json)
    } catch (e) {
      throw translate(e)
    }
  }

  /** Cancels a queued or running job: `'cancelled'`, how it had already ended, or null for no such job. */
  async cancel(tenant, id) {
    try {
      return await this.native.cancel(whoJson(tenant), id)
    } catch (e) {
      throw translate(e)
    }
  }

  /**
   * `for await (const event of q.follow(tenant, id, { signal }))`: the job's events, the last one
   * `{ type: 'finished' }`. Aborting the signal (or breaking out) stops following; the job itself runs on.
   */
  follow(tenant, id, options = {}) {
    const token = tokenFor(options.signal)
    return iterate(call(() => this.native.follow(whoJson(tenant), id, token)))
  }

  /** Closes the queue's connections and its vault's; later calls reject with a BackendError. */
  async close() {
    await this.native.close()
  }

  /** The job's `Analysis` once it succeeded, else null. */
  async result(tenant, id) {
    try {
      const json = await this.native.result(whoJson(tenant), id)
      return json === null ? null : fromCore(json)
    } catch (e) {
      throw translate(e)
    }
  }

  /**
   * Runs jobs with a Finops's pipeline in this process until `signal` aborts, then finishes the jobs in hand;
   * resolves to the worker's counts.
   */
  async runWorker(finops, options = {}) {
    if (!(finops instanceof Finops)) throw invalid('finops', 'must be a Finops')
    const { concurrency = 4, leaseMs = 30000, signal } = options
    if (!Number.isInteger(concurrency) || concurrency < 1) throw invalid('concurrency', 'must be an integer from 1 to 256')
    // Only what the conversion would lose is checked here; the core checks the range (as `lease_seconds`).
    if (typeof leaseMs !== 'number' || !Number.isFinite(leaseMs)) throw invalid('leaseMs', 'must be a finite number of milliseconds')
    const token = new native.CancelToken()
    if (signal) {
      if (signal.aborted) token.cancel()
      else signal.addEventListener('abort', () => token.cancel(), { once: true })
    }
    try {
      return JSON.parse(await this.native.runWorker(finops.native, concurrency, leaseMs, token))
    } catch (e) {
      throw translate(e)
    }
  }
}

/** A principal as JSON for the native vault, checked to be an object first. */
function principalJson(principal) {
  if (principal === null || typeof principal !== 'object') throw invalid('principal', 'must be an object { tenant, role, client? }')
  return JSON.stringify(principal)
}

async function settle(promise, parse) {
  try {
    const value = await promise
    return parse ? fromCore(value) : value
  } catch (e) {
    throw translate(e)
  }
}

/**
 * Analyses stored encrypted (one key per client), every read and write checked against the principal and
 * audited: `await Vault.open(dir | 'postgres://…', { requireSignOff })`.
 */
class Vault {
  constructor(nativeVault) {
    this.native = nativeVault
  }

  static async open(location, options = {}) {
    if (typeof location !== 'string') throw invalid('store', 'must be a directory or a postgres:// URL')
    const { requireSignOff = false } = options
    if (typeof requireSignOff !== 'boolean') throw invalid('requireSignOff', 'must be a boolean')
    return new Vault(await settle(native.openVault(location, requireSignOff)))
  }

  /** Stores an analysis (as `Finops.analyze` returned it) for the principal, and audits it. */
  /** Stores the job results waiting for a commit and closes the store's connections; later calls reject with a BackendError. */
  async close() {
    await this.native.close()
  }

  async save(principal, analysis) {
    if (analysis === null || typeof analysis !== 'object') throw invalid('analysis', 'must be an Analysis object')
    return settle(this.native.save(principalJson(principal), toCore(analysis)))
  }

  /** An analysis of the principal's firm it may see (a client: its own company's, signed off if required). */
  async get(principal, id) {
    if (typeof id !== 'string') throw invalid('id', 'must be a string')
    return settle(this.native.get(principalJson(principal), id), true)
  }

  /** The analyses the principal may see, oldest first. */
  async list(principal) {
    return settle(this.native.list(principalJson(principal)), true)
  }

  /** An analysis's review: `status` (`draft`, `reviewed`, `signed_off`), `notes`, who reviewed and signed off. */
  async review(principal, id) {
    if (typeof id !== 'string') throw invalid('id', 'must be a string')
    return settle(this.native.review(principalJson(principal), id), true)
  }

  /** A CPA of the firm acts on a review: `'annotate'` (with `{ note }`), `'reviewed'` or `'sign_off'`. */
  async act(principal, id, action, options = {}) {
    if (typeof id !== 'string') throw invalid('id', 'must be a string')
    if (typeof action !== 'string') throw invalid('action', 'must be annotate, reviewed or sign_off')
    const note = options.note ?? null
    if (note !== null && typeof note !== 'string') throw invalid('note', 'must be a string')
    return settle(this.native.act(principalJson(principal), id, action, note), true)
  }

  /** The firm's audit trail as verified JSON Lines (Admins only). */
  async verifyAudit(principal, jsonl) {
    if (typeof jsonl !== 'string') throw invalid('audit', 'must be JSON Lines text')
    return settle(this.native.verifyAudit(principalJson(principal), jsonl), true)
  }

  async exportAudit(principal) {
    return settle(this.native.exportAudit(principalJson(principal)))
  }

  /** New writes use a new data key; older records still read (Admins only). Resolves to the key id. */
  async rotateKey(principal) {
    return settle(this.native.rotateKey(principalJson(principal)))
  }

  /** Re-encrypts the firm's records under its current keys (Admins only); how many moved. */
  async reencrypt(principal) {
    return settle(this.native.reencrypt(principalJson(principal)))
  }

  /** Destroys one client company's keys and records (Admins only, audited); how many records went. */
  async eraseClient(principal, client) {
    if (typeof client !== 'string') throw invalid('client', 'must be a string')
    return settle(this.native.eraseClient(principalJson(principal), client))
  }

  /** Destroys every key of the firm: nothing it stored can be read again (Admins only). */
  async eraseTenant(principal) {
    return settle(this.native.eraseTenant(principalJson(principal)))
  }
}

/** Checks an exported audit trail (every hash, the chain's order); its entries. Throws IntegrityError. */
function verifyAudit(jsonl) {
  if (typeof jsonl !== 'string') throw invalid('audit', 'must be JSON Lines text')
  return fromCore(call(() => native.verifyAudit(jsonl)))
}

/** Tokens of the host's identity provider into principals: `new JwtVerifier({ algorithm, key, issuer, audience })`. */
class JwtVerifier {
  constructor(options) {
    if (options === null || typeof options !== 'object') throw invalid('jwt', 'must be { algorithm, key, issuer, audience }')
    const { algorithm, key, issuer, audience } = options
    for (const [field, value] of [['jwt_algorithm', algorithm], ['issuer', issuer], ['audience', audience]]) {
      if (typeof value !== 'string') throw invalid(field, 'must be a string')
    }
    if (typeof key !== 'string' && !Buffer.isBuffer(key)) throw invalid('jwt_key', 'must be a string or a Buffer')
    this.native = call(() => new native.NativeJwtVerifier(algorithm, key, issuer, audience))
  }

  /** The principal `{ tenant, role, client }` a valid token names; InvalidTokenError (with `kind`) otherwise. */
  verify(token) {
    if (typeof token !== 'string') throw invalid('token', 'must be a string')
    return fromCore(call(() => this.native.verify(token)))
  }
}

module.exports = {
  Finops,
  Queue,
  Vault,
  JwtVerifier,
  verifyAudit,
  ScriptedProvider,
  computeMetrics,
  readStatements,
  computeMetricsTable,
  screen,
  peerBenchmarks,
  buildStatements,
  evaluate,
  fingerprint,
  FinopsError,
  InvalidStatementsError,
  InvalidExpressionError,
  InvalidArgumentError,
  ProviderError,
  RateLimitedError,
  BudgetExceededError,
  AccessDeniedError,
  InvalidTokenError,
  IntegrityError,
  KeyUnavailableError,
  BackendError,
  CancelledError,
  InternalError,
}
