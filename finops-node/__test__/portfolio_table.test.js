// computeMetricsTable from Node: an Arrow IPC stream that apache-arrow reads, every value equal to computeMetrics's
// exact figure, and refused sources named by index or client id with the field.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const arrow = require('apache-arrow')
const finops = require('../index.js')

const DATA = path.join(__dirname, '..', '..', 'examples', 'data')
const BISTRO = path.join(DATA, 'bistro-saint-denis.json')

/** A decimal128 cell as exact decimal text (trailing zeros dropped), like the core's figure values. */
function decimalText(bigNum, scale) {
  let digits = String(bigNum)
  const negative = digits.startsWith('-')
  if (negative) digits = digits.slice(1)
  digits = digits.padStart(scale + 1, '0')
  let text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '')
  return (negative ? '-' : '') + text
}

/** Companies from the Bistro with amounts varied per company, so the values differ. */
function varied(n) {
  const base = JSON.parse(fs.readFileSync(BISTRO, 'utf8'))
  const out = []
  for (let i = 0; i < n; i++) {
    const doc = structuredClone(base)
    doc.company.name = `Client ${i}`
    for (const p of doc.periods) {
      // Cash and equity move together: the sheet still balances, totals still add up.
      const add = (key, section) => { p[section][key] = (Number(p[section][key]) + i * 1000.07).toFixed(2) }
      for (const key of ['cash', 'total_current_assets', 'total_assets', 'total_equity']) add(key, 'balance_sheet')
    }
    out.push(doc)
  }
  return out
}

test('the table agrees with computeMetrics for every figure', async () => {
  const docs = varied(5)
  const bytes = await finops.computeMetricsTable(docs)
  assert.ok(Buffer.isBuffer(bytes))
  const table = arrow.tableFromIPC(bytes)
  assert.equal(table.numRows, 5 * 3 * 26)
  const valueType = table.schema.fields.find((f) => f.name === 'value').type
  assert.ok(arrow.DataType.isDecimal(valueType) && valueType.precision === 38)
  assert.equal(table.schema.metadata.get('schema'), 'finops.metrics_table/v1')
  let row = 0
  docs.forEach((doc, client) => {
    for (const f of finops.computeMetrics(doc)) {
      const get = (name) => table.getChild(name).get(row)
      assert.equal(get('client'), String(client))
      assert.equal(get('company'), doc.company.name)
      assert.equal(get('metric'), f.metric)
      assert.equal(get('period'), f.period)
      assert.equal(get('unit'), f.unit)
      assert.equal(get('basis'), f.basis)
      const end = doc.periods.find((p) => p.label === f.period).end
      assert.equal(new Date(get('period_end')).toISOString().slice(0, 10), end)
      if (f.value === null) {
        assert.equal(get('value'), null)
        assert.equal(get('reason'), f.reason)
      } else {
        assert.equal(decimalText(get('value'), valueType.scale), f.value, f.id)
        assert.equal(get('value_f64'), Number(f.value))
        assert.equal(get('reason'), null)
      }
      row++
    }
  })
  assert.equal(row, table.numRows)
})

test('a portfolio names its clients; ledger inputs are read with options', async () => {
  const portfolio = new Map([['bistro', BISTRO], ['copy', fs.readFileSync(BISTRO, 'utf8')]])
  const table = arrow.tableFromIPC(await finops.computeMetricsTable(portfolio))
  assert.deepEqual([...new Set(table.getChild('client').toArray())], ['bistro', 'copy'])
  const gifi = path.join(DATA, 'bistro-saint-denis.gifi.json')
  const fromLedger = arrow.tableFromIPC(await finops.computeMetricsTable([gifi], { format: 'auto', chart: 'gifi' }))
  const direct = finops.computeMetrics(finops.readStatements(gifi, { chart: 'gifi' }))
  const scale = fromLedger.schema.fields.find((f) => f.name === 'value').type.scale
  assert.deepEqual(
    [...fromLedger.getChild('value')].map((v) => (v === null ? null : decimalText(v, scale))),
    direct.map((f) => f.value)
  )
})

test('refused sources are named by index or client id, with the field', async () => {
  const bad = JSON.parse(fs.readFileSync(BISTRO, 'utf8'))
  bad.periods[1].balance_sheet.cash = 'lots'
  await assert.rejects(finops.computeMetricsTable([BISTRO, bad]), (e) => {
    assert.ok(e instanceof finops.InvalidStatementsError)
    assert.equal(e.field, 'sources[1].periods[1].balance_sheet.cash')
    return true
  })
  await assert.rejects(finops.computeMetricsTable({ ok: BISTRO, 'bistro-2': bad }), (e) => e instanceof finops.InvalidStatementsError && e.field.startsWith('clients[bistro-2].periods[1]'))
  await assert.rejects(finops.computeMetricsTable([BISTRO, 42]), (e) => e instanceof finops.InvalidArgumentError && e.field === 'sources[1]')
  await assert.rejects(finops.computeMetricsTable('not a list'), (e) => e instanceof finops.InvalidArgumentError && e.field === 'sources')
  await assert.rejects(finops.computeMetricsTable([BISTRO], { format: 'spreadsheet' }), (e) => e instanceof finops.InvalidArgumentError)
  await assert.rejects(finops.computeMetricsTable([BISTRO], null), (e) => e instanceof finops.InvalidArgumentError && e.field === 'options')
  const empty = arrow.tableFromIPC(await finops.computeMetricsTable([]))
  assert.equal(empty.numRows, 0)
  assert.equal(empty.numCols, 12)
})

test('an analysis places the client among the firm’s other clients', async () => {
  const dir = path.join(DATA, 'portfolio')
  const peers = Object.fromEntries(fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => [f.slice(0, -5), path.join(dir, f)]))
  const fo = new finops.Finops({ offline: true })
  const a = await fo.analyze({ statements: peers['resto-01'], question: 'How does our gross margin compare with the firm’s other restaurants?', client: 'resto-01', peers })
  assert.equal(a.plan.benchmark, true)
  const margin = a.benchmarks.find((b) => b.metric === 'gross_margin')
  assert.equal(margin.cohort, 'NAICS 72251')
  assert.equal(margin.cohortSize, 7)
  const direct = finops.peerBenchmarks('resto-01', peers, ['gross_margin']).benchmarks[0]
  assert.equal(margin.percentile, direct.percentile)
  assert.ok(a.findings.some((f) => f.cites.includes(margin.id) && a.report.includes(f.text)))
  assert.equal(a.validation.grounded, true)
  await assert.rejects(fo.analyze({ statements: peers['resto-01'], question: 'peers?', peers: { x: '{}' } }), (e) => e instanceof finops.InvalidStatementsError && e.field.startsWith('clients[x]'))
})
