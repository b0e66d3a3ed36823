// Reading ledgers from Node: every format gives the statements' figures, provenance reaches the accounts, the
// builder computes totals, and bad input throws a typed error naming the place.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const finops = require('../index.js')

const DATA = path.join(__dirname, '..', '..', 'examples', 'data')
const BISTRO = path.join(DATA, 'bistro-saint-denis.json')
const CASH_FLOW = new Set(['operating_cash_flow', 'capital_expenditures', 'dividends_paid'])

function values(statements, withCashFlow = true) {
  const out = {}
  for (const f of finops.computeMetrics(statements)) {
    const usesCf = f.inputs.some((i) => CASH_FLOW.has(i.line)) || (f.reason || '').includes('cash flow')
    if (withCashFlow || !usesCf) out[f.id] = f.value
  }
  return out
}

test('every ledger format gives the same figures', () => {
  const expected = values(BISTRO)
  const expectedNoCf = values(BISTRO, false)
  assert.deepEqual(values(finops.readStatements(path.join(DATA, 'bistro-saint-denis.gifi.json'))), expected)
  const qbo = finops.readStatements(path.join(DATA, 'bistro-saint-denis.quickbooks.json'), { company: { name: 'Bistro' } })
  assert.deepEqual(values(qbo), expected)
  const xero = finops.readStatements(fs.readFileSync(path.join(DATA, 'bistro-saint-denis.xero.json')), { format: 'xero', company: { currency: 'CAD' } })
  assert.deepEqual(values(xero, false), expectedNoCf)
  const csv = finops.readStatements(path.join(DATA, 'bistro-saint-denis.gifi.csv'), { chart: 'gifi', company: { name: 'B', currency: 'CAD' } })
  assert.deepEqual(values(csv, false), expectedNoCf)
  const fecs = fs.readdirSync(path.join(DATA, 'fec')).map((f) => path.join(DATA, 'fec', f))
  const fec = finops.readStatements(fecs, { company: { name: 'Bistro Saint-Denis SAS' } })
  assert.equal(fec.company.currency, 'EUR')
  assert.deepEqual(values(fec, false), expectedNoCf)
})

test('figures lead to their accounts', () => {
  const s = finops.readStatements(path.join(DATA, 'bistro-saint-denis.gifi.json'))
  const margin = finops.computeMetrics(s).find((f) => f.id === 'gross_margin@FY2023')
  assert.equal(margin.inputs[0].accounts[0].account, '8000')
  const fy = s.periods.find((p) => p.label === 'FY2023')
  assert.deepEqual(fy.accounts.property_plant_equipment.map((a) => a.account), ['1740', '1741'])
  assert.equal(finops.computeMetrics(BISTRO)[0].inputs[0].accounts, undefined)
})

test('the builder computes totals and names bad fields', () => {
  const lines = {
    revenue: '1000', cost_of_goods_sold: '400', operating_expenses: '300', depreciation_amortization: '50',
    interest_expense: '10', income_tax_expense: '40', cash: '500', accounts_receivable: '200', other_current_assets: 0,
    property_plant_equipment: '300', other_non_current_assets: '0', accounts_payable: '100', short_term_debt: '50',
    other_current_liabilities: '50', long_term_debt: '300', other_non_current_liabilities: '0', total_equity: '500',
  }
  const s = finops.buildStatements({ company: { name: 'Atelier', currency: 'CAD' }, periods: [{ label: 'FY2024', start: '2024-01-01', end: '2024-12-31', lines }] })
  assert.equal(s.periods[0].balance_sheet.total_assets, '1000')
  assert.equal(finops.computeMetrics(s).find((f) => f.id === 'current_ratio@FY2024').value, '3.5')
  assert.throws(
    () => finops.buildStatements({ company: { name: 'A', currency: 'CAD' }, periods: [{ label: 'FY', start: '2024-01-01', end: '2024-12-31', lines: { cashh: '1' } }] }),
    (e) => e instanceof finops.InvalidStatementsError && e.field === 'periods[0].lines.cashh',
  )
  assert.throws(() => finops.buildStatements(null), finops.InvalidArgumentError)
})

test('bad ledgers throw naming the place', () => {
  const tb = JSON.parse(fs.readFileSync(path.join(DATA, 'bistro-saint-denis.gifi.json'), 'utf8'))
  tb.periods[0].accounts[0].debit = '1.00'
  assert.throws(() => finops.readStatements(JSON.stringify(tb)), (e) => e instanceof finops.InvalidStatementsError && e.field.includes('FY2021') && e.reason.includes('does not balance'))
  assert.throws(() => finops.readStatements(Buffer.from('hello')), finops.InvalidStatementsError)
  assert.throws(() => finops.readStatements(BISTRO, { format: 'pdf' }), finops.InvalidArgumentError)
  assert.throws(() => finops.readStatements(BISTRO, { overrides: { 1: 'cashh' } }), finops.InvalidArgumentError)
  assert.throws(() => finops.readStatements(path.join(DATA, 'bistro-saint-denis.gifi.csv'), { chart: '/nonexistent.json' }), finops.InvalidArgumentError)
  assert.throws(() => finops.readStatements(42), finops.InvalidArgumentError)
  assert.throws(() => finops.readStatements('/nonexistent/file.json'), finops.InvalidArgumentError)
  assert.throws(() => finops.readStatements(BISTRO, 'gifi'), finops.InvalidArgumentError)
})

test('cash flow is derived only when asked', () => {
  const tb = JSON.parse(fs.readFileSync(path.join(DATA, 'bistro-saint-denis.gifi.json'), 'utf8'))
  for (const p of tb.periods) delete p.cash_flow
  const plain = finops.computeMetrics(finops.readStatements(JSON.stringify(tb))).find((f) => f.id === 'free_cash_flow@FY2023')
  assert.equal(plain.value, null)
  const derived = finops.readStatements(JSON.stringify(tb), { deriveCashFlow: true })
  const fcf = finops.computeMetrics(derived).find((f) => f.id === 'free_cash_flow@FY2023')
  assert.notEqual(fcf.value, null)
  for (const input of fcf.inputs) for (const a of input.accounts || []) assert.ok(a.account.startsWith('indirect:'))
})

function portfolio(n) {
  const base = JSON.parse(fs.readFileSync(BISTRO, 'utf8'))
  const clients = {}
  for (let i = 0; i < n; i++) {
    const doc = JSON.parse(JSON.stringify(base))
    doc.company.naics = i % 2 === 0 ? '722511' : '541211'
    doc.company.sector = i % 2 === 0 ? 'restaurants' : 'accounting'
    // More cash and as much more equity: the current ratio rises with i, the balance still holds.
    for (const p of doc.periods) {
      const extra = 10000 * i
      const add = (k, section) => { p[section][k] = (Number(p[section][k]) + extra).toFixed(2) }
      add('cash', 'balance_sheet'); add('total_current_assets', 'balance_sheet'); add('total_assets', 'balance_sheet'); add('total_equity', 'balance_sheet')
    }
    clients[`c${i}`] = doc
  }
  return clients
}

test('screening and peer benchmarks over a portfolio', () => {
  const clients = portfolio(14)
  const found = finops.screen(clients, { metric: 'current_ratio', op: '>', threshold: '1.9' })
  const expected = Object.entries(clients).filter(([, s]) => Number(finops.computeMetrics(s).find((f) => f.id === 'current_ratio@FY2023').value) > 1.9).map(([id]) => id)
  assert.deepEqual(found.map((m) => m.client), expected)
  assert.ok(expected.length > 0 && expected.length < 14)
  const restaurants = finops.screen(new Map(Object.entries(clients)), { metric: 'current_ratio', op: '>=', threshold: 0, naicsPrefix: '7225', period: 'each' })
  assert.ok(restaurants.every((m) => Number(m.client.slice(1)) % 2 === 0 && m.figures.length === 3))
  const peers = finops.peerBenchmarks('c12', clients, ['current_ratio'])
  assert.equal(peers.benchmarks[0].cohortSize, 6)
  assert.equal(peers.benchmarks[0].quartile, 4)
  const small = finops.peerBenchmarks('c0', Object.fromEntries(Object.entries(clients).slice(0, 9)), ['current_ratio'])
  assert.deepEqual(small.benchmarks, [])
  assert.throws(() => finops.screen(clients, { metric: 'current_ratio', op: '~', threshold: 1 }), finops.InvalidArgumentError)
  assert.throws(() => finops.screen(clients, { metric: 'current_ratio', op: '<' }), finops.InvalidArgumentError)
  assert.throws(() => finops.screen(42, { metric: 'current_ratio', op: '<', threshold: 1 }), finops.InvalidArgumentError)
  assert.throws(() => finops.peerBenchmarks('nobody', clients), finops.InvalidArgumentError)
  assert.throws(
    () => finops.screen({ bad: '{}' }, { metric: 'current_ratio', op: '<', threshold: 1 }),
    (e) => e instanceof finops.InvalidStatementsError && e.field.startsWith('clients[bad].'),
  )
})
