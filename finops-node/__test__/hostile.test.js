'use strict'
// Out-of-range arguments from JS get an InvalidArgumentError naming them; a panic inside the addon, should one
// remain, is an error the caller catches (sync or in a promise) and never aborts the process.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const finops = require('finops')
const native = require('../native.js')
const { Finops, ScriptedProvider, InvalidArgumentError } = finops

const BISTRO = path.join(__dirname, '..', '..', 'examples', 'data', 'bistro-saint-denis.json')
const ABSURD = [-1, -1e300, 1e300, 2 ** 53, NaN, Infinity, -Infinity, 1.5, '3', true]

function refused(field, fn) {
  assert.throws(fn, (e) => e instanceof InvalidArgumentError && e.field === field, `${field} should be refused`)
}

async function rejected(field, promise) {
  await assert.rejects(promise, (e) => e instanceof InvalidArgumentError && e.field === field, `${field} should be refused`)
}

test('latency, embedder dimensions and cache ages out of range are refused by name', async () => {
  for (const v of [-1, -1e300, 1e300, NaN, Infinity]) refused('latencyMs', () => new ScriptedProvider({ latencyMs: v }))
  for (const v of [0, -1, 1e300, 2 ** 32 + 1, 1.5, NaN]) {
    refused('embedder.dimensions', () => new Finops({ offline: true, embedder: { dimensions: v, embed: async (t) => t.map(() => [1]) } }))
  }
  const fo = new Finops({ offline: true })
  for (const v of [-1, 1e300, NaN, Infinity, '5']) {
    await assert.rejects(
      fo.analyze({ statements: BISTRO, question: 'Marges ?', maxCacheAgeMs: v }),
      (e) => e instanceof InvalidArgumentError && ['maxCacheAgeMs', 'max_cache_age'].includes(e.field),
      String(v),
    )
    assert.throws(
      () => fo.stream({ statements: BISTRO, question: 'Marges ?', maxCacheAgeMs: v }),
      (e) => e instanceof InvalidArgumentError && ['maxCacheAgeMs', 'max_cache_age'].includes(e.field),
    )
  }
})

test('queue arguments out of range are refused by name', async () => {
  process.env.FINOPS_MASTER_KEY ??= 'ab'.repeat(32)
  const url = `${process.env.FINOPS_TEST_POSTGRES_URL}#hostile${Date.now()}`
  for (const v of [-1, 1e300, NaN, Infinity]) {
    await rejected('retentionSeconds', finops.Queue.connect(url, { retentionSeconds: v }))
  }
  const q = await finops.Queue.connect(url)
  const fo = new Finops({ offline: true })
  for (const v of ABSURD) await rejected('concurrency', q.runWorker(fo, { concurrency: v }))
  for (const v of [-1, NaN, Infinity, 1e300, '5']) {
    await assert.rejects(q.runWorker(fo, { leaseMs: v }), (e) => e instanceof InvalidArgumentError && ['leaseMs', 'lease_seconds'].includes(e.field), String(v))
  }
  for (const v of [1e300, 1.5, NaN]) {
    await rejected('max_attempts', q.enqueue({ statements: fs.readFileSync(BISTRO, 'utf8'), question: 'Marges ?', tenant: 't', key: 'k', maxAttempts: v }))
  }
  await q.close?.()
})

test('a panic inside the addon is a catchable error, and the process lives on', async () => {
  assert.throws(() => native.panicForTests(), (e) => e instanceof Error)
  await assert.rejects(native.panicForTestsAsync(), (e) => e instanceof Error)
  // Still alive, and still working.
  assert.equal(finops.computeMetrics(BISTRO).length, 78)
})

test('every synchronous entry point of the addon catches panics', () => {
  // napi-rs turns a panic in a promise into a rejection, but a panic in a synchronous call aborts the process
  // unless the function is marked `catch_unwind`: every one must be.
  const src = path.join(__dirname, '..', 'src')
  const missing = []
  for (const file of fs.readdirSync(src).filter((f) => f.endsWith('.rs'))) {
    const lines = fs.readFileSync(path.join(src, file), 'utf8').split('\n')
    lines.forEach((line, i) => {
      if (!/^\s*#\[napi(\(.*\))?\]\s*$/.test(line)) return
      let j = i + 1
      while (j < lines.length && /^\s*(#\[|\/\/\/)/.test(lines[j])) j++
      if (/^\s*pub fn /.test(lines[j]) && !line.includes('catch_unwind')) missing.push(`${file}:${j + 1}`)
    })
  }
  assert.deepEqual(missing, [])
})
