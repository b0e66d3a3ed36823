// The ES module entry point exports exactly the CommonJS objects: nothing missing, nothing copied.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import * as esm from 'finops'
import finopsDefault, { Finops, computeMetrics, FinopsError } from 'finops'

const require = createRequire(import.meta.url)
const cjs = require('finops')

test('every CommonJS export is an ES export, the same object', () => {
  const missing = Object.keys(cjs).filter((name) => esm[name] !== cjs[name])
  assert.deepEqual(missing, [])
  assert.equal(finopsDefault, cjs)
  assert.equal(Finops, cjs.Finops)
})

test('the ES entry point works: figures, and errors of the shared classes', () => {
  const statements = new URL('../../examples/data/bistro-saint-denis.json', import.meta.url)
  const figures = computeMetrics(statements.pathname)
  assert.ok(figures.some((f) => f.id === 'gross_margin@FY2023'))
  assert.throws(() => computeMetrics('{not json'), (e) => e instanceof FinopsError && e instanceof cjs.FinopsError)
})
