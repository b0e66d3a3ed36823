// A CPA firm's working papers from a Node back end (TypeScript): the identity provider's token becomes a
// principal, a client's analysis is stored encrypted and waits for a CPA's sign-off, and the firm's audit trail is
// exported and checked as an auditor would.
// `main` takes the tokens a host received from its users (finops-node/__test__/vault.test.js signs test tokens
// and runs it); the vault lives in `dataDir` (`finops.db` and its `master.key`, or FINOPS_MASTER_KEY when set).
import { AccessDeniedError, Finops, JwtVerifier, Vault, verifyAudit, type Principal } from 'finops'
import { dataFile } from './example'

export async function main(dataDir: string, tokens: { client: string; cpa: string }, secret: string): Promise<string[]> {
  const jwt = new JwtVerifier({ algorithm: 'HS256', key: secret, issuer: 'https://idp.example', audience: 'finops' })
  const client = jwt.verify(tokens.client)
  const cpa = jwt.verify(tokens.cpa)
  const admin: Principal = { tenant: cpa.tenant, role: 'admin' }
  const vault = await Vault.open(dataDir, { requireSignOff: true })
  const lines: string[] = []

  // The client asks; the analysis is stored as a draft the client cannot see yet.
  const fo = new Finops({ offline: true })
  const analysis = await fo.analyze({ statements: dataFile('bistro-saint-denis.json'), question: 'Is the bistro profitable?', principal: client })
  await vault.save(client, analysis)
  try {
    await vault.get(client, analysis.id)
  } catch (e) {
    if (!(e instanceof AccessDeniedError)) throw e
    lines.push(`client: ${e.reason}`)
  }

  // A CPA of the firm annotates and signs off; the client then reads it.
  await vault.act(cpa, analysis.id, 'annotate', { note: 'Revenue agreed to the general ledger.' })
  const review = await vault.act(cpa, analysis.id, 'sign_off')
  lines.push(`review: ${review.status} by ${review.signedOffBy?.role ?? '?'}`)
  lines.push(`client sees: ${(await vault.get(client, analysis.id)).report.split('\n')[0]}`)

  // The auditor's copy: JSON Lines, every entry chained to the one before.
  const entries = verifyAudit(await vault.exportAudit(admin))
  lines.push(`audit: ${entries.map((e) => e.action).join(', ')} (chain verified)`)
  return lines
}
