// Jobs for workers elsewhere, from a Node back end (TypeScript): enqueue analyses, follow them while a worker runs
// them, read the results. Needs PostgreSQL (or Redis plus a store) and FINOPS_MASTER_KEY, the deployment's key:
//   FINOPS_MASTER_KEY=$(openssl rand -hex 32) node .examples-dist/examples/node/queue.js postgres://finops:finops@127.0.0.1/finops_test
// The worker runs in this process so that the example works alone; in a deployment workers run elsewhere
// (`cargo run -p finops-examples --bin worker -- --queue URL`, or `Queue.runWorker` in a service of their own).
import { Finops, Queue, type JobEvent } from 'finops'
import { dataFile } from './example'

export async function main(url: string, tenant = 'cpa-firm-1'): Promise<string[]> {
  const queue = await Queue.connect(url)
  const run = Date.now().toString(36)
  const questions = ['Analyse la rentabilité du bistro sur trois ans', 'Is our working capital getting tighter?']
  const jobs: string[] = []
  for (const [i, question] of questions.entries()) {
    jobs.push(await queue.enqueue({ statements: dataFile('bistro-saint-denis.json'), question, tenant, key: `${run}-${i}`, events: true }))
  }
  const stop = new AbortController()
  const worker = queue.runWorker(new Finops(), { concurrency: 2, signal: stop.signal })
  const lines: string[] = []
  for (const job of jobs) {
    for await (const event of queue.follow(tenant, job)) lines.push(`${job.slice(0, 8)} ${describe(event)}`)
    const analysis = await queue.result(tenant, job)
    if (analysis) lines.push(`${job.slice(0, 8)} ${analysis.report.split('\n')[0]}`)
  }
  stop.abort() // a graceful stop: the worker finishes the jobs in hand
  await worker
  return lines
}

function describe(event: JobEvent): string {
  switch (event.type) {
    case 'started':
      return `attempt ${event.attempt} started`
    case 'analysis':
      return event.event.type
    case 'attempt_failed':
      return `attempt ${event.attempt} failed: ${event.error}`
    case 'finished':
      return event.status
  }
}

if (require.main === module) {
  main(process.argv[2] ?? 'postgres://finops:finops@127.0.0.1/finops_test', process.argv[3]).then(
    (lines) => console.log(lines.join('\n')),
    (e: unknown) => {
      console.error(e)
      process.exitCode = 1
    },
  )
}
