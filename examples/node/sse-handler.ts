// Streaming an analysis to a browser with server-sent events (the seed platform streamed over WebSocket).
// `analysisEvents(fo, load)` is a plain (req, res) handler: it works with node:http, Express and Fastify's raw
// request/response. A browser reads it with `new EventSource('/analyses/stream?client=...&question=...')`.
// When the browser goes away, the loop ends and the analysis stops.
import * as http from 'node:http'
import { Finops, FinopsError, type AnalysisEvent, type StatementsSource } from 'finops'
import { dataFile } from './example'

export type LoadStatements = (client: string) => Promise<StatementsSource>

export function analysisEvents(fo: Finops, load: LoadStatements) {
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const question = url.searchParams.get('question') ?? ''
    const client = url.searchParams.get('client') ?? ''
    let statements: StatementsSource
    try {
      statements = await load(client)
    } catch {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `unknown client ${client}` }))
      return
    }
    let events: AsyncIterableIterator<AnalysisEvent>
    try {
      events = fo.stream({ statements, question, client })
    } catch (e) {
      // Bad input fails before streaming starts: a 400 naming the field.
      const err = e instanceof FinopsError ? { code: e.code, field: e.field, reason: e.reason } : { code: 'internal' }
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(err))
      return
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    let open = true
    res.on('close', () => {
      open = false
    })
    for await (const event of events) {
      if (!open) break // leaving the loop closes the stream, which stops the analysis
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)
    }
    res.end()
  }
}

if (require.main === module) {
  const handler = analysisEvents(new Finops(), async (client) => {
    if (client !== 'bistro') throw new Error('unknown')
    return dataFile('bistro-saint-denis.json')
  })
  http.createServer((req, res) => void handler(req, res)).listen(8787, () => console.log('http://localhost:8787/?client=bistro&question=...'))
}
