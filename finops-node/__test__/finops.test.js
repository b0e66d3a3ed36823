'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const http = require('node:http')

const finops = require('finops')
const { Finops, ScriptedProvider } = finops

const BISTRO = path.join(__dirname, '..', '..', 'examples', 'data', 'bistro-saint-denis.json')
const PLAN = JSON.stringify({ intents: ['liquidity'], metrics: ['current_ratio', 'working_capital'], periods: ['FY2023'] })
const RESEARCH = JSON.stringify({ findings: [{ text: 'Current assets cover current liabilities.', cites: ['current_ratio@FY2023'] }] })
const VALIDATED = JSON.stringify({ verdicts: [{ finding: 0, status: 'confirmed' }], report: 'Liquidity: the current ratio is 1.81 in FY2023 and working capital 409,070 CAD.' })
const answerFor = (request) => ({ analyst: PLAN, researcher: RESEARCH, validator: VALIDATED })[request.phase]
const PROVIDER_VARS = ['OPENROUTER_API_KEY', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'DEEPSEEK_API_KEY', 'FINOPS_OPENAI_BASE_URL']
for (const v of PROVIDER_VARS) delete process.env[v]

function scripted(n = 1, options) {
  const p = new ScriptedProvider(options)
  for (let i = 0; i < n; i++) p.reply('analyst', PLAN, { inputTokens: 120 }).reply('researcher', RESEARCH).reply('validator', VALIDATED)
  return p
}

test('computeMetrics accepts a path, JSON text, a Buffer and an object', () => {
  const text = fs.readFileSync(BISTRO, 'utf8')
  const all = [BISTRO, text, Buffer.from(text), JSON.parse(text)].map((s) => finops.computeMetrics(s))
  for (const figures of all) assert.deepEqual(figures, all[0])
  const figures = all[0]
  assert.equal(figures.length, 78)
  const gm = figures.find((f) => f.id === 'gross_margin@FY2023')
  assert.match(gm.value, /^0\.6896/)
  assert.equal(gm.unit, 'percent')
  assert.ok(gm.inputs.length > 0)
  const growth = figures.find((f) => f.id === 'revenue_growth@FY2021')
  assert.equal(growth.value, null)
  assert.match(growth.reason, /previous/)
  assert.equal(finops.fingerprint(text).length, 64)
  assert.match(finops.evaluate(BISTRO, 'revenue / revenue[prev] - 1', 'FY2023').value, /^0\.05709999/)
})

test('bad input throws typed errors with a stable code and the field', () => {
  const doc = JSON.parse(fs.readFileSync(BISTRO, 'utf8'))
  doc.periods[0].balance_sheet.total_assets = '2251724.32'
  doc.periods[1].income_statement.revenue = '-5'
  assert.throws(() => finops.computeMetrics(doc), (e) => {
    assert.ok(e instanceof finops.InvalidStatementsError && e instanceof finops.FinopsError && e instanceof Error)
    assert.equal(e.code, 'FINOPS_INVALID_STATEMENTS')
    assert.equal(e.field, 'periods[0].balance_sheet.total_assets')
    assert.ok(e.reason)
    assert.deepEqual(e.issues.map((i) => i.field), ['periods[0].balance_sheet.total_assets', 'periods[1].income_statement.revenue'])
    return true
  })
  assert.throws(() => finops.computeMetrics('{not json'), finops.InvalidStatementsError)
  assert.throws(() => finops.computeMetrics('no/such/file.json'), (e) => e.code === 'FINOPS_INVALID_ARGUMENT' && e.field === 'statements')
  assert.throws(() => finops.computeMetrics(42), (e) => e.field === 'statements')
  assert.throws(() => finops.evaluate(BISTRO, 'revenue /', 'FY2023'), (e) => e instanceof finops.InvalidExpressionError && e.expression === 'revenue /')
})

test('new Finops() with no options runs the offline analyst', async () => {
  const fo = new Finops()
  assert.deepEqual(fo.routes, ['analyst: offline analyst', 'researcher: offline analyst', 'validator: offline analyst'])
  const a = await fo.analyze({ statements: BISTRO, question: 'Analyse la rentabilité du bistro sur trois ans' })
  assert.equal(a.language, 'fr')
  assert.equal(a.reportSource, 'offline')
  assert.ok(a.degraded && a.validation.grounded)
  assert.match(a.report, /Marge brute/)
  assert.equal(a.totalCostUsd, '0')
  assert.equal(Finops.fromEnv().routes.length, 3)
})

test('the environment configures providers, and a bad key names the variable', () => {
  process.env.OPENROUTER_API_KEY = 'sk-or-secret-value'
  try {
    assert.equal(new Finops().routes[0], 'analyst: openrouter anthropic/claude-sonnet-4.5')
    process.env.OPENROUTER_API_KEY = 'bad key'
    assert.throws(() => new Finops(), (e) => e.code === 'FINOPS_INVALID_ARGUMENT' && e.field === 'OPENROUTER_API_KEY' && !e.message.includes('bad key'))
  } finally {
    delete process.env.OPENROUTER_API_KEY
  }
})

test('bad requests and options are refused before any work', async () => {
  const fo = new Finops({ offline: true })
  const cases = [
    [{ statements: BISTRO, question: '  ' }, 'question'],
    [{ statements: BISTRO, question: 'ok', language: 'de' }, 'language'],
    [{ statements: BISTRO, question: 'ok', tenant: '' }, 'tenant'],
    [{ statements: BISTRO, question: 'ok', client: 'a/b' }, 'client'],
    [{ statements: BISTRO, question: 42 }, 'question'],
    [{ statements: BISTRO, question: 'ok', principal: { tenant: 't', role: 'client' } }, 'principal.client'],
  ]
  for (const [request, field] of cases) {
    await assert.rejects(fo.analyze(request), (e) => e instanceof finops.InvalidArgumentError && e.field === field)
  }
  assert.throws(() => new Finops({ provider: {} }), (e) => e.field === 'provider')
  assert.throws(() => new Finops({ provider: scripted(), offline: true }), (e) => e.field === 'offline')
  assert.throws(() => new Finops({ provider: scripted(), models: { planner: 'x' } }), (e) => e.field === 'models.planner')
  assert.throws(() => new ScriptedProvider({ latencyMs: -1 }), (e) => e.field === 'latencyMs')
  assert.throws(() => scripted().reply('planner', 'x'), (e) => e.field === 'phase')
  assert.throws(() => new Finops({ embedder: { dimensions: 3 } }), (e) => e.field === 'embedder')
})

test('a principal scopes the analysis', async () => {
  const fo = new Finops({ offline: true })
  const principal = { tenant: 'firm-1', role: 'client', client: 'bistro' }
  const a = await fo.analyze({ statements: BISTRO, question: 'marges', principal })
  assert.deepEqual([a.tenant, a.client], ['firm-1', 'bistro'])
  await assert.rejects(fo.analyze({ statements: BISTRO, question: 'marges', principal, client: 'another' }), finops.AccessDeniedError)
})

test('the scripted provider drives all three phases', async () => {
  const fo = new Finops({ provider: scripted(), models: { analyst: 'a-model' } })
  const a = await fo.analyze({ statements: BISTRO, question: 'Is our working capital getting tighter?', tenant: 'firm-1' })
  assert.equal(a.reportSource, 'validator')
  assert.ok(!a.degraded)
  assert.equal(a.report, 'Liquidity: the current ratio is 1.81 in FY2023 and working capital 409,070 CAD.')
  assert.deepEqual(a.usage.map((u) => [u.phase, u.model]), [['analyst', 'a-model'], ['researcher', 'deepseek/deepseek-chat'], ['validator', 'anthropic/claude-sonnet-4.5']])
  assert.equal(a.usage[0].inputTokens, 120)
})

test('a provider written in JS', async () => {
  const requests = []
  const provider = {
    name: 'my-js',
    async chat(request) {
      requests.push(request)
      return { text: answerFor(request), inputTokens: 11, outputTokens: 7, costUsd: '0.0005' }
    },
  }
  const a = await new Finops({ provider }).analyze({ statements: BISTRO, question: 'Is our working capital getting tighter?' })
  assert.equal(a.reportSource, 'validator')
  assert.deepEqual(requests.map((r) => r.phase), ['analyst', 'researcher', 'validator'])
  assert.equal(requests[0].jsonMode, true)
  // Each request carries its phase's JSON Schema, untouched (snake_case property names are the answer's keys).
  assert.equal(requests[0].schema.name, 'finops_plan')
  assert.ok(requests[0].schema.schema.properties.metrics.items.enum.includes('current_ratio'))
  const report = requests[2].schema.schema.properties.report.properties
  assert.ok('working_capital' in report.metrics.properties && 'trends' in report)
  assert.ok(!JSON.stringify(requests[0]).includes('Bistro'), 'the Analyst sees no client identity')
  assert.equal(a.usage[0].provider, 'my-js')
  assert.equal(a.usage[0].cachedInputTokens, 0)
  assert.equal(a.usage[0].cacheWriteTokens, 0)
  assert.equal(a.usage[0].cacheWrite1hTokens, 0)
  assert.equal(a.totalCostUsd, '0.0015')
})

test('a failing JS provider degrades with the reason', async () => {
  const provider = {
    async chat(request) {
      if (request.phase === 'researcher') throw new TypeError('upstream exploded')
      if (request.phase === 'validator') return 42
      return answerFor(request)
    },
  }
  const a = await new Finops({ provider }).analyze({ statements: BISTRO, question: 'liquidity' })
  assert.ok(a.degraded && a.validation.grounded)
  assert.equal(a.reportSource, 'offline')
  assert.match(a.degradedReason, /TypeError: upstream exploded/)
  assert.match(a.degradedReason, /neither a string nor an object/)
})

test('events stream in order through for await', async () => {
  const fo = new Finops({ provider: scripted() })
  const events = []
  for await (const e of fo.stream({ statements: BISTRO, question: 'Is our working capital getting tighter?' })) events.push(e)
  const kinds = events.map((e) => e.type).filter((t) => t !== 'text_delta')
  assert.deepEqual(kinds, ['queued', 'phase_started', 'phase_finished', 'phase_started', 'phase_finished', 'phase_started', 'phase_finished', 'completed'])
  const analystText = events.filter((e) => e.type === 'text_delta' && e.phase === 'analyst').map((e) => e.text).join('')
  assert.equal(analystText, PLAN)
  assert.equal(events.at(-1).analysis.reportSource, 'validator')
  assert.throws(() => fo.stream({ statements: BISTRO, question: '' }), (e) => e.field === 'question')
})

test('breaking out of the stream stops the work', async () => {
  const p = scripted(1, { latencyMs: 50 })
  const fo = new Finops({ provider: p })
  for await (const e of fo.stream({ statements: BISTRO, question: 'liquidity' })) {
    if (e.type === 'phase_finished') break
  }
  await new Promise((r) => setTimeout(r, 300))
  assert.equal(p.remaining('validator'), 1, 'the Validator was never asked')
})

test('an AbortSignal cancels an analysis and the Rust work stops', async () => {
  let calls = 0
  let release
  const provider = {
    chat(request) {
      calls++
      return new Promise((resolve) => {
        release = () => resolve(answerFor(request))
      })
    },
  }
  const fo = new Finops({ provider })
  const controller = new AbortController()
  const pending = fo.analyze({ statements: BISTRO, question: 'liquidity', signal: controller.signal })
  while (calls === 0) await new Promise((r) => setTimeout(r, 5))
  controller.abort()
  await assert.rejects(pending, (e) => e instanceof finops.CancelledError && e.code === 'FINOPS_CANCELLED')
  release()
  await new Promise((r) => setTimeout(r, 100))
  assert.equal(calls, 1, 'no further phase ran after the abort')
  const aborted = new AbortController()
  aborted.abort()
  await assert.rejects(fo.analyze({ statements: BISTRO, question: 'x', signal: aborted.signal }), finops.CancelledError)
})

test('many concurrent analyses', async () => {
  const fo = new Finops({ provider: scripted(50) })
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => fo.analyze({ statements: BISTRO, question: 'Is our working capital getting tighter?', client: `c${i}` })))
  assert.deepEqual(results.map((a) => a.client).sort(), Array.from({ length: 50 }, (_, i) => `c${i}`).sort())
  assert.ok(results.every((a) => a.reportSource === 'validator'))
  const offline = new Finops({ offline: true })
  const more = await Promise.all(Array.from({ length: 100 }, () => offline.analyze({ statements: BISTRO, question: 'Bilan de santé' })))
  assert.ok(more.every((a) => a.validation.grounded))
})

test('JS and default embedders', async () => {
  const mine = { dimensions: 3, async embed(texts) { return texts.map((t) => [t.length, 1, 0]) } }
  assert.deepEqual(await new Finops({ offline: true, embedder: mine }).embed(['abc', 'de']), [[3, 1, 0], [2, 1, 0]])
  const [a, b] = await new Finops({ offline: true }).embed(['Analyse la rentabilité', 'analyse la rentabilite'])
  assert.equal(a.length, 256)
  assert.ok(a.reduce((s, x, i) => s + x * b[i], 0) > 0.99)
  const broken = { dimensions: 4, async embed() { return [[1, 2]] } }
  await assert.rejects(new Finops({ offline: true, embedder: broken }).embed(['a', 'b']), (e) => e instanceof finops.ProviderError && /1 vectors for 2 texts/.test(e.message))
})

test('the TypeScript example runs', async () => {
  const dist = path.join(__dirname, '..', '.examples-dist', 'examples', 'node')
  const logs = []
  const original = console.log
  console.log = (...args) => logs.push(args.join(' '))
  try {
    await require(path.join(dist, 'example.js')).main()
  } finally {
    console.log = original
  }
  const out = logs.join('\n')
  assert.match(out, /gross margin FY2023 = 0\.6896/)
  assert.match(out, /events: queued → phase_started/)
})

test('budgets and rate limits', async () => {
  // The scripted models have no price: each phase reserves the $0.10 fallback, so $0.25 fits no analysis.
  const fo = new Finops({ provider: scripted(), budgets: { 'firm-1': '0.25' } })
  await assert.rejects(fo.analyze({ statements: BISTRO, question: 'liquidity', tenant: 'firm-1' }), (e) => {
    assert.ok(e instanceof finops.BudgetExceededError)
    assert.equal(e.code, 'FINOPS_BUDGET_EXCEEDED')
    assert.equal(e.tenant, 'firm-1')
    assert.equal(e.limitUsd, '0.25')
    return true
  })
  assert.throws(() => new Finops({ budgets: { 'firm-1': 'lots' } }), (e) => e.field === 'budgets.firm-1')
  const limited = new Finops({ offline: true, rateLimits: { perTenant: 100, perPrincipal: 1 } })
  await limited.analyze({ statements: BISTRO, question: 'marges', tenant: 'firm-1', client: 'bistro' })
  await assert.rejects(limited.analyze({ statements: BISTRO, question: 'marges', tenant: 'firm-1', client: 'bistro' }), (e) => {
    assert.ok(e instanceof finops.RateLimitedError)
    assert.equal(e.scope, 'principal')
    assert.ok(e.retryAfter > 0)
    return true
  })
  assert.throws(() => new Finops({ offline: true, rateLimits: { perTenant: 0, perPrincipal: 1 } }), (e) => e.field === 'rate_limits.per_tenant')
})

test('caches: exact and semantic hits cost nothing, report the saving, and the guard refuses the opposite question', async () => {
  let calls = 0
  const provider = {
    name: 'counting',
    async chat(request) {
      calls += 1
      return { text: answerFor(request), inputTokens: 100, outputTokens: 20, costUsd: '0.001' }
    },
  }
  const fo = new Finops({ provider, cache: true })
  const ask = (question, extra = {}) => fo.analyze({ statements: BISTRO, question, tenant: 'firm', ...extra })
  const first = await ask('Is our working capital getting tighter?')
  assert.equal(first.cache, 'miss')
  assert.equal(calls, 3)
  const again = await ask('is our working capital getting tighter')
  assert.equal(again.cache, 'exact')
  assert.equal(again.savedUsd, '0.003')
  assert.equal(again.totalCostUsd, '0')
  const close = await ask('Is the working capital getting tighter?')
  assert.equal(close.cache, 'semantic')
  assert.ok(Number(close.cacheSimilarity) >= 0.8)
  assert.equal(calls, 3)
  assert.equal((await ask('Is our working capital not getting tighter?')).cache, 'miss')
  assert.equal(calls, 6)
  // Modes and maximum age, per request.
  assert.equal((await ask('Is our working capital getting tighter?', { cacheMode: 'off' })).cache, 'miss')
  assert.equal((await ask('Is our working capital getting tighter?', { cacheMode: 'read-only' })).cache, 'exact')
  assert.equal((await ask('Is our working capital getting tighter?', { maxCacheAgeMs: 0 })).cache, 'miss')
  await assert.rejects(ask('x?', { cacheMode: 'sometimes' }), (e) => e.code === 'FINOPS_INVALID_ARGUMENT' && e.field === 'cache_mode')
  await assert.rejects(ask('x?', { maxCacheAgeMs: -1 }), (e) => e.field === 'max_cache_age')
  // Many at once share the cache.
  const many = await Promise.all(Array.from({ length: 20 }, () => ask('Is our working capital getting tighter?')))
  assert.ok(many.every((a) => a.cache === 'exact'))
})

test('caches under dataDir survive the instance; bad options name the field', async () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'finops-node-cache-'))
  const request = { statements: BISTRO, question: 'Is our working capital getting tighter?' }
  const first = new Finops({ provider: scripted(1), cache: { dataDir: dir } })
  assert.equal((await first.analyze(request)).cache, 'miss')
  const second = new Finops({ provider: scripted(0), cache: { dataDir: dir, threshold: 0.9 } })
  assert.equal((await second.analyze(request)).cache, 'exact')
  for (const [cache, field] of [
    [{ threshold: 2 }, 'cache.threshold'],
    [{ treshold: 0.9 }, 'cache.treshold'],
    [{ ttlSeconds: 0 }, 'cache.ttl_seconds'],
    [{ redisUrl: 'redis://127.0.0.1:6379' }, 'cache.redis_url'],
    ['yes', 'cache'],
  ]) {
    assert.throws(() => new Finops({ offline: true, cache }), (e) => e.code === 'FINOPS_INVALID_ARGUMENT' && e.field === field, JSON.stringify(cache))
  }
  fs.rmSync(dir, { recursive: true, force: true })
})

test('a JS object can be the exact cache tier', async () => {
  const values = new Map()
  let gets = 0
  const host = {
    async get(tenant, key) {
      gets += 1
      return values.get(`${tenant}/${key}`)?.value ?? null
    },
    async put(tenant, client, key, value) {
      values.set(`${tenant}/${key}`, { client, value })
    },
    invalidateTenant(tenant) {
      for (const k of [...values.keys()]) if (k.startsWith(`${tenant}/`)) values.delete(k)
    },
    invalidateClient() {},
  }
  const fo = new Finops({ provider: scripted(1), cache: host })
  const request = { statements: BISTRO, question: 'Is our working capital getting tighter?', tenant: 'firm' }
  assert.equal((await fo.analyze(request)).cache, 'miss')
  assert.equal(values.size, 1)
  assert.match([...values.values()][0].value, /"stored_at"/)
  assert.equal((await fo.analyze(request)).cache, 'exact')
  assert.ok(gets >= 2)
  assert.throws(() => new Finops({ offline: true, cache: { get() {}, put() {} } }), (e) => e.field === 'cache')
})

test('each Finops has its own providers, keys and headers (no environment), against a real HTTP server', async () => {
  const http = require('node:http')
  const seen = []
  const server = http.createServer((req, res) => {
    seen.push([req.headers.authorization, req.headers['x-firm']])
    req.resume()
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"error": "wrong key"}')
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const baseUrl = `http://127.0.0.1:${server.address().port}/v1`
  process.env.OPENROUTER_API_KEY = 'sk-or-from-the-environment'
  try {
    const firm = (key, name) =>
      new Finops({ providers: { openrouter: { apiKey: key, baseUrl, headers: { 'X-Firm': name }, maxRetries: 0 } }, models: { researcher: 'deepseek/deepseek-chat-v3.1' } })
    const a = firm('sk-firm-a-0001', 'a')
    const b = firm('sk-firm-b-0002', 'b')
    assert.equal(a.routes[1], 'researcher: openrouter deepseek/deepseek-chat-v3.1')
    const [ra, rb] = await Promise.all([
      a.analyze({ statements: BISTRO, question: 'Analyse la rentabilité', tenant: 'firm-a' }),
      b.analyze({ statements: BISTRO, question: 'Is our debt too high?', tenant: 'firm-b' }),
    ])
    assert.ok(ra.degraded && rb.degraded)
    assert.deepEqual([...new Set(seen.map(([, f]) => f))].sort(), ['a', 'b'])
    for (const [auth, f] of seen) assert.equal(auth, f === 'a' ? 'Bearer sk-firm-a-0001' : 'Bearer sk-firm-b-0002')
  } finally {
    delete process.env.OPENROUTER_API_KEY
    server.close()
  }
  for (const [options, field] of [
    [{ providers: { openrouter: {} } }, 'providers.openrouter.api_key'],
    [{ providers: { openrouter: { apiKey: 'k', totalTimeoutSeconds: -1 } } }, 'providers.openrouter.total_timeout_seconds'],
    [{ providers: { mistral: { apiKey: 'k' } } }, 'providers.mistral'],
    [{ unpriced: 'sometimes' }, 'unpriced'],
  ]) {
    assert.throws(() => new Finops(options), (e) => e instanceof finops.InvalidArgumentError && e.field === field, JSON.stringify(options))
  }
})

test('errors carry the one serialized form', async () => {
  const fo = new Finops({ offline: true })
  await assert.rejects(fo.analyze({ statements: BISTRO, question: 'x', maxCacheAgeMs: -1 }), (e) => {
    assert.equal(e.code, 'FINOPS_INVALID_ARGUMENT')
    assert.equal(e.field, 'max_cache_age')
    assert.equal(e.retryable, false)
    assert.deepEqual(e.details, {})
    return true
  })
})

test('an AbortSignal cancels a stream: the pending next() rejects and the work stops', async () => {
  let calls = 0
  const slow = {
    name: 'slow',
    async chat(request) {
      calls += 1
      await new Promise((resolve) => setTimeout(resolve, 2000))
      return answerFor(request)
    },
  }
  const fo = new Finops({ provider: slow })
  const controller = new AbortController()
  const seen = []
  const started = Date.now()
  setTimeout(() => controller.abort(), 200)
  await assert.rejects(
    (async () => {
      for await (const event of fo.stream({ statements: BISTRO, question: 'liquidity', signal: controller.signal })) seen.push(event.type)
    })(),
    (e) => e instanceof finops.CancelledError && e.code === 'FINOPS_CANCELLED',
  )
  assert.ok(Date.now() - started < 1500, 'cancelled without waiting for the provider')
  assert.deepEqual(seen, ['queued', 'phase_started'])
  await new Promise((resolve) => setTimeout(resolve, 2500))
  assert.equal(calls, 1, 'no further phase ran')
  const aborted = new AbortController()
  aborted.abort()
  assert.throws(() => fo.stream({ statements: BISTRO, question: 'liquidity', signal: aborted.signal }), (e) => e instanceof finops.CancelledError)
})

test('results are camelCase all the way down, and go back to the core unchanged', async () => {
  const a = await new Finops({ offline: true }).analyze({ statements: BISTRO, question: 'Is our debt too high?' })
  const keys = []
  const walk = (v) => {
    if (Array.isArray(v)) v.forEach(walk)
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) keys.push(k), walk(x)
  }
  walk(a)
  assert.deepEqual(keys.filter((k) => k.includes('_')), [])
  for (const k of ['reportSource', 'totalCostUsd', 'statementWarnings', 'promptVersion']) assert.ok(k in a, k)
  assert.ok(a.usage.every((u) => 'inputTokens' in u && 'latencyMs' in u))
  assert.ok('ungroundedNumbers' in a.validation && 'totalMs' in a.timings)
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'finops-camel-'))
  const vault = await finops.Vault.open(dir)
  const cpa = { tenant: a.tenant, role: 'cpa' }
  // A key with a number and its unit (`cache_write_1h_tokens`) goes back whole, not as `cache_write1h_tokens`.
  Object.assign(a.usage[0], { cacheWriteTokens: 7, cacheWrite1hTokens: 5 })
  await vault.save(cpa, a)
  assert.deepEqual(await vault.get(cpa, a.id), a)
  fs.rmSync(dir, { recursive: true, force: true })
})
