'use strict'
// finops.Queue against the real PostgreSQL and Redis that scripts/test starts: a job enqueued from Node, a
// worker running in this process (as another process would), its events followed, its result read back,
// cancellation, a graceful stop, and bad input.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const path = require('node:path')

const finops = require('finops')

const BISTRO = path.join(__dirname, '..', '..', 'examples', 'data', 'bistro-saint-denis.json')
process.env.FINOPS_MASTER_KEY = crypto.randomBytes(32).toString('hex')
// The example's `new Finops()` reads providers from the environment: the offline analyst here.
for (const v of ['OPENROUTER_API_KEY', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'DEEPSEEK_API_KEY', 'FINOPS_OPENAI_BASE_URL']) delete process.env[v]

function backends() {
  const pg = process.env.FINOPS_TEST_POSTGRES_URL
  const redis = process.env.FINOPS_TEST_REDIS_URL
  assert.ok(pg && redis, 'scripts/test starts PostgreSQL and Redis and sets their URLs')
  return [
    { name: 'postgres', url: pg },
    { name: 'redis', url: redis, store: pg },
  ]
}

for (const backend of backends()) {
  test(`${backend.name}: a job run by a worker is followed and read back`, async () => {
    const name = crypto.randomUUID()
    const q = await finops.Queue.connect(`${backend.url}#${name}`, { store: backend.store })
    const tenant = `firm-${name}`
    const job = await q.enqueue({ statements: BISTRO, question: 'Analyse la rentabilité', tenant, key: 'k1', events: true })
    assert.equal(await q.enqueue({ statements: BISTRO, question: 'Analyse la rentabilité', tenant, key: 'k1' }), job)
    assert.equal((await q.status(tenant, job)).status, 'queued')
    assert.equal(await q.result(tenant, job), null)

    const stop = new AbortController()
    const worker = q.runWorker(new finops.Finops({ offline: true }), { concurrency: 2, leaseMs: 5000, signal: stop.signal })
    const events = []
    for await (const event of q.follow(tenant, job)) events.push(event)
    assert.deepEqual(events[0], { type: 'started', attempt: 1 })
    assert.ok(events.some((e) => e.type === 'analysis' && e.event.type === 'phase_started'))
    assert.deepEqual(events.at(-1), { type: 'finished', status: 'succeeded', resultId: job, error: null })
    stop.abort()
    const stats = await worker
    assert.equal(stats.succeeded, 1)

    const analysis = await q.result(tenant, job)
    assert.equal(analysis.id, job)
    assert.equal(await q.cancel(tenant, job), 'succeeded')
    assert.equal(await q.cancel(tenant, 'no-such-job'), null)
    assert.equal(await q.status('another-firm', job), null)
  })
}

test('a queued job is cancelled and its follower told', async () => {
  const name = crypto.randomUUID()
  const q = await finops.Queue.connect(`${process.env.FINOPS_TEST_POSTGRES_URL}#${name}`)
  const tenant = `firm-${name}`
  const job = await q.enqueue({ statements: BISTRO, question: 'Marges ?', tenant, key: 'c1' })
  assert.equal(await q.cancel(tenant, job), 'cancelled')
  const events = []
  for await (const event of q.follow(tenant, job)) events.push(event)
  assert.deepEqual(events, [{ type: 'finished', status: 'cancelled', resultId: null, error: 'cancelled' }])
})

test('bad input is refused with the field', async () => {
  await assert.rejects(finops.Queue.connect('mysql://localhost/x'), (e) => e instanceof finops.InvalidArgumentError && e.field === 'queue')
  await assert.rejects(finops.Queue.connect(process.env.FINOPS_TEST_REDIS_URL), (e) => e.code === 'FINOPS_INVALID_ARGUMENT' && e.field === 'store')
  const name = crypto.randomUUID()
  const q = await finops.Queue.connect(`${process.env.FINOPS_TEST_POSTGRES_URL}#${name}`)
  const tenant = `firm-${name}`
  const job = { statements: BISTRO, question: 'Marges ?', tenant, key: 'k' }
  await assert.rejects(q.enqueue({ ...job, maxAttempts: 0 }), (e) => e.field === 'max_attempts')
  await assert.rejects(q.enqueue({ ...job, maxAttempts: -1 }), (e) => e.field === 'max_attempts')
  await assert.rejects(q.enqueue({ ...job, tenant: '' }), (e) => e.field === 'tenant')
  await assert.rejects(q.enqueue({ ...job, key: 3 }), (e) => e.field === 'idempotency_key')
  await assert.rejects(q.enqueue({ ...job, language: 'de' }), (e) => e.field === 'language')
  await assert.rejects(q.enqueue({ ...job, statements: { periods: [] } }), (e) => e instanceof finops.InvalidStatementsError)
  await assert.rejects(q.enqueue(null), (e) => e.field === 'job')
  const fo = new finops.Finops({ offline: true })
  await assert.rejects(q.runWorker(fo, { concurrency: 0 }), (e) => e.field === 'concurrency')
  await assert.rejects(q.runWorker(fo, { leaseMs: 5 }), (e) => e.field === 'lease_seconds')
  await assert.rejects(q.runWorker({}, {}), (e) => e.field === 'finops')
  await assert.rejects(
    (async () => {
      for await (const _ of q.follow(tenant, 'no-such-job'));
    })(),
    (e) => e instanceof finops.InvalidArgumentError && e.field === 'id',
  )
})

test('the TypeScript queue example runs', async () => {
  const name = crypto.randomUUID()
  const example = require(path.join(__dirname, '..', '.examples-dist', 'examples', 'node', 'queue.js'))
  const lines = await example.main(`${process.env.FINOPS_TEST_POSTGRES_URL}#${name}`, `example-${name}`)
  assert.equal(lines.filter((l) => l.endsWith(' succeeded')).length, 2, lines.join('\n'))
  assert.ok(lines.some((l) => l.endsWith(' attempt 1 started')))
})

test('ended jobs are forgotten after the retention', async () => {
  const name = crypto.randomUUID()
  const q = await finops.Queue.connect(`${process.env.FINOPS_TEST_REDIS_URL}#${name}`, { store: process.env.FINOPS_TEST_POSTGRES_URL, retentionSeconds: 1 })
  const tenant = `firm-${name}`
  const job = await q.enqueue({ statements: BISTRO, question: 'Marges ?', tenant, key: 'r1' })
  assert.equal(await q.cancel(tenant, job), 'cancelled')
  assert.equal((await q.status(tenant, job)).status, 'cancelled')
  await new Promise((resolve) => setTimeout(resolve, 2100))
  assert.equal(await q.status(tenant, job), null)
  for (const [bad, field] of [[0.5, 'retention'], [-1, 'retentionSeconds'], ['1', 'retentionSeconds']]) {
    await assert.rejects(finops.Queue.connect(process.env.FINOPS_TEST_POSTGRES_URL, { retentionSeconds: bad }), (e) => e instanceof finops.InvalidArgumentError && e.field === field, field)
  }
})

test('following stops on an AbortSignal, and a closed queue or vault rejects with a BackendError', async () => {
  const name = crypto.randomUUID()
  const q = await finops.Queue.connect(`${process.env.FINOPS_TEST_POSTGRES_URL}#${name}`)
  const tenant = `firm-${name}`
  const job = await q.enqueue({ statements: BISTRO, question: 'Marges ?', tenant, key: 'f1' })
  // No worker runs: following would wait forever without the signal.
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 300)
  await assert.rejects(
    (async () => {
      for await (const _ of q.follow(tenant, job, { signal: controller.signal }));
    })(),
    (e) => e instanceof finops.CancelledError,
  )
  assert.equal((await q.status(tenant, job)).status, 'queued', 'the job itself is untouched')
  await q.close()
  await q.close()
  await assert.rejects(q.status(tenant, job), (e) => e instanceof finops.BackendError && e.backend === 'postgres' && e.retryable === false)
  const dir = require('node:fs').mkdtempSync(path.join(require('node:os').tmpdir(), 'finops-close-'))
  const vault = await finops.Vault.open(dir)
  await vault.close()
  await assert.rejects(vault.list({ tenant, role: 'cpa' }), (e) => e instanceof finops.BackendError && e.backend === 'sqlite')
})

test('a principal sees only what its role allows', async () => {
  const name = `roles${Date.now()}`
  const q = await finops.Queue.connect(`${process.env.FINOPS_TEST_POSTGRES_URL}#${name}`)
  const firm = `firm-${name}`
  const job = await q.enqueue({ statements: BISTRO, question: 'Marges ?', tenant: firm, key: 'k1', client: 'bistro' })
  const cpa = { tenant: firm, role: 'cpa' }
  const client = { tenant: firm, role: 'client', client: 'bistro' }
  const otherFirm = { tenant: `other-${name}`, role: 'cpa' }
  assert.equal((await q.status(cpa, job)).status, 'queued')
  assert.equal(await q.status(otherFirm, job), null, 'another firm does not learn the job exists')
  assert.equal(await q.result(otherFirm, job), null)
  await assert.rejects(q.status(client, job), finops.AccessDeniedError)
  await assert.rejects(q.cancel(client, job), finops.AccessDeniedError)
  assert.throws(() => q.follow(client, job), finops.AccessDeniedError)
  await assert.rejects(q.status(42, job), finops.InvalidArgumentError)
  assert.equal(await q.cancel(cpa, job), 'cancelled')
  await q.close()
})
