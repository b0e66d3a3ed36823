// A short finops example for Node back ends (TypeScript).
// Build and run: cd finops-node && npm ci && npm run build && npm run examples && node .examples-dist/examples/node/example.js
import * as fs from 'node:fs'
import * as path from 'node:path'
import { Finops, computeMetrics, type AnalysisEvent } from 'finops'

/** A file of the repository's `examples/data`, found from wherever this example was compiled to. */
export function dataFile(name: string): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'examples', 'data', name)
    if (fs.existsSync(candidate)) return candidate
  }
  throw new Error(`examples/data/${name} not found`)
}

const STATEMENTS = dataFile('bistro-saint-denis.json')

export async function main(): Promise<void> {
  const figures = computeMetrics(STATEMENTS)
  const margin = figures.find((f) => f.id === 'gross_margin@FY2023')
  console.log(`gross margin FY2023 = ${margin?.value} (${margin?.formula})`)

  // Providers come from the environment; with none, the offline analyst answers.
  const fo = new Finops()
  console.log('routes:', fo.routes.join('; '))
  const analysis = await fo.analyze({ statements: STATEMENTS, question: 'Analyse la rentabilité du bistro sur trois ans' })
  console.log(analysis.report)
  console.log(`report by ${analysis.reportSource}, grounded=${analysis.validation.grounded}, cost=${analysis.totalCostUsd}`)

  const seen: AnalysisEvent['type'][] = []
  for await (const event of fo.stream({ statements: STATEMENTS, question: 'Is our working capital getting tighter?' })) {
    seen.push(event.type)
  }
  console.log('events:', seen.join(' → '))
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e)
    process.exit(1)
  })
}
