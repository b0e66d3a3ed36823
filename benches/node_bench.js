'use strict'
// Node-side benchmarks of the finops package (after `cd finops-node && npm ci && npm run build:release`):
//
//   node benches/node_bench.js
//
// 1. Per-call overhead of computeMetrics from Node compared with the same work in Rust (criterion, benches/core.rs).
// 2. Analyses per second from Node with the scripted provider (three model phases, four calls, zero latency).

const fs = require('node:fs')
const path = require('node:path')
const finops = require('../finops-node')

const TEXT = fs.readFileSync(path.join(__dirname, '..', 'examples', 'data', 'bistro-saint-denis.json'), 'utf8')
const PLAN = JSON.stringify({ intents: ['liquidity'], metrics: ['current_ratio', 'working_capital'], periods: ['FY2023'] })
const RESEARCH = JSON.stringify({ findings: [{ text: 'Current assets cover current liabilities.', cites: ['current_ratio@FY2023'] }] })
const VALIDATED = JSON.stringify({ verdicts: [{ finding: 0, status: 'confirmed' }], report: 'Liquidity: the current ratio is 1.81 in FY2023 and working capital 409,070 CAD.' })

function median(fn, n) {
  const samples = []
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint()
    fn()
    samples.push(Number(process.hrtime.bigint() - t) / 1000)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]
}

async function main() {
  for (let i = 0; i < 200; i++) finops.computeMetrics(TEXT)
  console.log(`computeMetrics(JSON text)   median ${median(() => finops.computeMetrics(TEXT), 2000).toFixed(1)} us`)
  console.log(`fingerprint(JSON text)      median ${median(() => finops.fingerprint(TEXT), 2000).toFixed(1)} us (parse + validate + fingerprint)`)

  const n = 2000
  const provider = new finops.ScriptedProvider()
  for (let i = 0; i < 2 * n + 1; i++) provider.reply('analyst', PLAN).reply('researcher', RESEARCH).reply('validator', VALIDATED)
  const fo = new finops.Finops({ provider })
  const request = { statements: TEXT, question: 'Is our working capital getting tighter?' }
  await fo.analyze(request)
  let t = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    const a = await fo.analyze(request)
    if (a.degraded) throw new Error('degraded run')
  }
  let dt = Number(process.hrtime.bigint() - t) / 1e9
  console.log(`analyze one after another   ${(n / dt).toFixed(0)} analyses/s (${((dt / n) * 1e6).toFixed(0)} us each)`)
  t = process.hrtime.bigint()
  const all = await Promise.all(Array.from({ length: n }, () => fo.analyze(request)))
  dt = Number(process.hrtime.bigint() - t) / 1e9
  if (all.some((a) => a.degraded)) throw new Error('degraded run')
  console.log(`Promise.all of ${n}          ${(n / dt).toFixed(0)} analyses/s`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
