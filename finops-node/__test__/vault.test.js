'use strict'
// finops.Vault, JwtVerifier and verifyAudit: analyses stored encrypted in an embedded directory and in the real
// PostgreSQL that scripts/test starts, who may read, review, sign off, export and erase, and bad input.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const finops = require('finops')

const BISTRO = path.join(__dirname, '..', '..', 'examples', 'data', 'bistro-saint-denis.json')
const SECRET = 'a-shared-secret-of-at-least-32-bytes'.repeat(2)

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'finops-vault-'))
}

/** An HS256 token signed with node:crypto (the SDK verifies it with the jsonwebtoken crate). */
function token(claims, { secret = SECRET, alg = 'HS256' } = {}) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const body = { sub: 'u1', iss: 'https://idp.example', aud: 'finops', exp: now + 600, ...claims }
  const unsigned = `${b64({ alg, typ: 'JWT' })}.${b64(body)}`
  const hash = alg === 'HS512' ? 'sha512' : 'sha256'
  return `${unsigned}.${crypto.createHmac(hash, secret).update(unsigned).digest('base64url')}`
}

async function analysis(tenant, client) {
  const fo = new finops.Finops({ offline: true })
  return fo.analyze({ statements: BISTRO, question: 'Analyse la rentabilité', principal: { tenant, role: 'cpa' }, client })
}

// The embedded directory takes its master key from FINOPS_MASTER_KEY when set; these tests use the key file.
delete process.env.FINOPS_MASTER_KEY

test('saved analyses are encrypted, read back and scoped to the principal', async () => {
  const dir = tempDir()
  const v = await finops.Vault.open(dir)
  const cpa = { tenant: 'firm-a', role: 'cpa' }
  const a = await analysis('firm-a', 'bistro')
  const b = await analysis('firm-a', 'garage')
  await v.save(cpa, a)
  await v.save(cpa, b)

  assert.deepEqual((await v.get(cpa, a.id)).figures, a.figures)
  assert.deepEqual((await v.list(cpa)).map((x) => x.id), [a.id, b.id])
  const own = { tenant: 'firm-a', role: 'client', client: 'bistro' }
  assert.deepEqual((await v.list(own)).map((x) => x.id), [a.id])
  await assert.rejects(v.get({ tenant: 'firm-a', role: 'client', client: 'garage' }, a.id), (e) => e instanceof finops.AccessDeniedError && e.code === 'FINOPS_ACCESS_DENIED')
  await assert.rejects(v.get({ tenant: 'firm-b', role: 'cpa' }, a.id), (e) => e instanceof finops.InvalidArgumentError && e.field === 'id')
  await assert.rejects(v.save({ tenant: 'firm-b', role: 'cpa' }, a), finops.AccessDeniedError)

  const raw = Buffer.concat(fs.readdirSync(dir).filter((f) => f.startsWith('finops.db')).map((f) => fs.readFileSync(path.join(dir, f))))
  for (const secret of ['Bistro Saint-Denis', 'Analyse la rentabilité', a.report.split('\n')[2]]) {
    assert.equal(raw.includes(Buffer.from(secret)), false, secret)
  }
  const again = await finops.Vault.open(dir)
  assert.equal((await again.get(cpa, b.id)).report, b.report)
})

test('a client sees an analysis once a CPA of the firm signed it off', async () => {
  const v = await finops.Vault.open(tempDir(), { requireSignOff: true })
  const client = { tenant: 'firm-s', role: 'client', client: 'bistro' }
  const cpa = { tenant: 'firm-s', role: 'cpa' }
  const a = await analysis('firm-s', 'bistro')
  await v.save(client, a)
  assert.equal((await v.review(cpa, a.id)).status, 'draft')
  await assert.rejects(v.get(client, a.id), finops.AccessDeniedError)
  await assert.rejects(v.act(client, a.id, 'sign_off'), finops.AccessDeniedError)
  await assert.rejects(v.act({ tenant: 'firm-s', role: 'admin' }, a.id, 'sign_off'), finops.AccessDeniedError)

  const noted = await v.act(cpa, a.id, 'annotate', { note: 'Revenue agreed to the ledger.' })
  assert.equal(noted.notes[0].text, 'Revenue agreed to the ledger.')
  assert.equal((await v.act(cpa, a.id, 'reviewed')).status, 'reviewed')
  const signed = await v.act(cpa, a.id, 'sign_off')
  assert.equal(signed.status, 'signed_off')
  assert.equal(signed.signedOffBy.role, 'cpa')
  assert.equal((await v.get(client, a.id)).id, a.id)

  for (const [action, note, field] of [['annotate', undefined, 'note'], ['approve', undefined, 'action'], ['sign_off', 'x', 'note'], [42, undefined, 'action']]) {
    await assert.rejects(v.act(cpa, a.id, action, { note }), (e) => e instanceof finops.InvalidArgumentError && e.field === field)
  }
})

test('an admin exports the audit trail and an auditor verifies it', async () => {
  const v = await finops.Vault.open(tempDir())
  const cpa = { tenant: 'firm-x', role: 'cpa' }
  const admin = { tenant: 'firm-x', role: 'admin' }
  const a = await analysis('firm-x', 'bistro')
  await v.save(cpa, a)
  await assert.rejects(v.exportAudit(cpa), finops.AccessDeniedError)
  const trail = await v.exportAudit(admin)
  const entries = finops.verifyAudit(trail)
  assert.deepEqual(entries.map((e) => e.action), ['analysis', 'access_denied'])
  assert.equal(entries[0].subject, a.id)

  const lines = trail.split('\n').filter(Boolean)
  // With the firm's key: every MAC too. A MAC replaced (as a forger recomputing hashes would have to) is caught.
  assert.deepEqual((await v.verifyAudit(admin, trail)).map((e) => e.seq), entries.map((e) => e.seq))
  const forged = [JSON.stringify({ ...JSON.parse(lines[0]), mac: '00'.repeat(32) }), ...lines.slice(1)].join('\n')
  assert.equal(finops.verifyAudit(forged).length, entries.length)
  await assert.rejects(v.verifyAudit(admin, forged), finops.IntegrityError)
  await assert.rejects(v.verifyAudit(cpa, trail), finops.AccessDeniedError)
  const edited = JSON.stringify({ ...JSON.parse(lines[0]), action: 'nothing_to_see' })
  for (const broken of [[edited, ...lines.slice(1)].join('\n'), lines.slice(1).join('\n'), [lines[1], lines[0]].join('\n'), 'not json']) {
    assert.throws(() => finops.verifyAudit(broken), (e) => e instanceof finops.IntegrityError && e.code === 'FINOPS_INTEGRITY')
  }
  assert.throws(() => finops.verifyAudit(42), finops.InvalidArgumentError)
})

test('keys rotate, and an erased client is gone', async () => {
  const v = await finops.Vault.open(tempDir())
  const cpa = { tenant: 'firm-e', role: 'cpa' }
  const admin = { tenant: 'firm-e', role: 'admin' }
  const a = await analysis('firm-e', 'bistro')
  const b = await analysis('firm-e', 'garage')
  await v.save(cpa, a)
  assert.ok((await v.rotateKey(admin)).length > 0)
  await v.save(cpa, b)
  assert.equal((await v.get(cpa, a.id)).report, a.report)
  assert.equal(await v.reencrypt(admin), 1)
  for (const call of [() => v.rotateKey(cpa), () => v.reencrypt(cpa), () => v.eraseClient(cpa, 'bistro'), () => v.eraseTenant(cpa)]) {
    await assert.rejects(call(), finops.AccessDeniedError)
  }
  assert.equal(await v.eraseClient(admin, 'bistro'), 1)
  assert.deepEqual((await v.list(cpa)).map((x) => x.id), [b.id])
  await v.eraseTenant(admin)
  assert.deepEqual(await v.list(cpa), [])
})

test('a PostgreSQL vault needs the master key and is shared', async () => {
  const url = process.env.FINOPS_TEST_POSTGRES_URL
  assert.ok(url, 'scripts/test starts PostgreSQL and sets FINOPS_TEST_POSTGRES_URL')
  await assert.rejects(finops.Vault.open(url), (e) => e instanceof finops.InvalidArgumentError && e.field === 'FINOPS_MASTER_KEY')
  process.env.FINOPS_MASTER_KEY = crypto.randomBytes(32).toString('hex')
  try {
    const tenant = `firm-${crypto.randomUUID()}`
    const [one, two] = [await finops.Vault.open(url), await finops.Vault.open(url)]
    const a = await analysis(tenant, 'bistro')
    await one.save({ tenant, role: 'cpa' }, a)
    assert.equal((await two.get({ tenant, role: 'cpa' }, a.id)).report, a.report)
  } finally {
    delete process.env.FINOPS_MASTER_KEY
  }
})

test('bad input names the field', async () => {
  for (const bad of ['', 'redis://127.0.0.1:6379', 42]) {
    await assert.rejects(finops.Vault.open(bad), (e) => e instanceof finops.InvalidArgumentError && e.field === 'store')
  }
  await assert.rejects(finops.Vault.open(tempDir(), { requireSignOff: 'yes' }), (e) => e.field === 'requireSignOff')
  const v = await finops.Vault.open(tempDir())
  await assert.rejects(v.list(null), (e) => e.field === 'principal')
  await assert.rejects(v.list({ tenant: 'f', role: 'boss' }), finops.InvalidArgumentError)
  await assert.rejects(v.list({ tenant: 'f', role: 'client', client: 7 }), (e) => e.field === 'principal.client')
  await assert.rejects(v.save({ tenant: 'f', role: 'cpa' }, { id: 'x' }), (e) => e.field === 'analysis')
  await assert.rejects(v.get({ tenant: 'f', role: 'cpa' }, 5), (e) => e.field === 'id')
})

test('tokens become principals and each refusal says why', () => {
  const v = new finops.JwtVerifier({ algorithm: 'HS256', key: SECRET, issuer: 'https://idp.example', audience: 'finops' })
  assert.deepEqual(v.verify(token({ tenant: 'firm-j', role: 'client', client: 'bistro' })), { tenant: 'firm-j', role: 'client', client: 'bistro', sub: 'u1' })
  assert.ok(new finops.JwtVerifier({ algorithm: 'HS256', key: Buffer.from(SECRET), issuer: 'i', audience: 'a' }))
  const now = Math.floor(Date.now() / 1000)
  for (const [bad, kind] of [
    [token({ tenant: 't', role: 'cpa' }, { secret: 'another-secret-of-at-least-32-bytes!!' }), 'signature'],
    [token({ tenant: 't', role: 'cpa', exp: now - 3600 }), 'expired'],
    [token({ tenant: 't', role: 'cpa', aud: 'someone-else' }), 'audience'],
    [token({ tenant: 't', role: 'cpa', iss: 'https://evil.example' }), 'issuer'],
    [token({ role: 'cpa' }), 'missing_claim'],
    [token({ tenant: 't', role: 'owner' }), 'invalid_claim'],
    [token({ tenant: 't', role: 'cpa' }, { alg: 'HS512' }), 'algorithm'],
    [`${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.`, 'algorithm'],
    ['not.a.token', 'malformed'],
  ]) {
    assert.throws(() => v.verify(bad), (e) => e instanceof finops.InvalidTokenError && e.kind === kind && e.code === 'FINOPS_INVALID_TOKEN', kind)
  }
  for (const [options, field] of [
    [{ algorithm: 'HS256', key: 'short', issuer: 'i', audience: 'a' }, 'jwt_secret'],
    [{ algorithm: 'RS256', key: 'not a pem', issuer: 'i', audience: 'a' }, 'jwt_public_key'],
    [{ algorithm: 'none', key: SECRET, issuer: 'i', audience: 'a' }, 'jwt_algorithm'],
    [{ algorithm: 'HS256', key: 42, issuer: 'i', audience: 'a' }, 'jwt_key'],
    [{ algorithm: 'HS256', key: SECRET, audience: 'a' }, 'issuer'],
  ]) {
    assert.throws(() => new finops.JwtVerifier(options), (e) => e instanceof finops.InvalidArgumentError && e.field === field, field)
  }
  assert.throws(() => v.verify(undefined), (e) => e.field === 'token')
})

test('the TypeScript review example runs', async () => {
  const example = require(path.join(__dirname, '..', '.examples-dist', 'examples', 'node', 'review.js'))
  const tokens = {
    client: token({ tenant: 'tremblay-cpa', role: 'client', client: 'bistro' }),
    cpa: token({ tenant: 'tremblay-cpa', role: 'cpa' }),
  }
  const lines = await example.main(tempDir(), tokens, SECRET)
  assert.deepEqual(lines.slice(0, 2), ["client: this analysis awaits a CPA's sign-off", 'review: signed_off by cpa'])
  assert.match(lines[2], /^client sees: ## Analysis of profitability/)
  assert.equal(lines[3], 'audit: analysis, access_denied, review, review (chain verified)')
})

test('a Finops with a vault saves every analysis it returns', async () => {
  const dir = tempDir()
  const vault = await finops.Vault.open(dir)
  const fo = new finops.Finops({ offline: true, vault })
  const client = { tenant: 'firm-auto', role: 'client', client: 'bistro' }
  const asked = await fo.analyze({ statements: BISTRO, question: 'Analyse la rentabilité', principal: client })
  assert.equal((await vault.get(client, asked.id)).report, asked.report)
  let done
  for await (const event of fo.stream({ statements: BISTRO, question: 'Liquidité ?', tenant: 'firm-auto', client: 'garage' })) {
    if (event.type === 'completed') done = event.analysis
  }
  const ids = (await vault.list({ tenant: 'firm-auto', role: 'cpa' })).map((a) => a.id).sort()
  assert.deepEqual(ids, [asked.id, done.id].sort())
  assert.throws(() => new finops.Finops({ offline: true, vault: 42 }), (e) => e instanceof finops.InvalidArgumentError && e.field === 'vault')
  // A location opens the vault there (a directory, or a postgres:// URL).
  const byPath = new finops.Finops({ offline: true, vault: dir })
  const again = await byPath.analyze({ statements: BISTRO, question: 'Is our debt too high?', tenant: 'firm-auto', client: 'garage' })
  assert.equal((await vault.get({ tenant: 'firm-auto', role: 'cpa' }, again.id)).id, again.id)
})
