'use strict'
// The Node guide's samples (docs/guide/node.md, the mdBook): each TypeScript block is type-checked against the
// package's types and run, from the repository's root, so none rots.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const ts = require('typescript')

const ROOT = path.join(__dirname, '..', '..')
const GUIDE = path.join(ROOT, 'docs', 'guide', 'node.md')
const samples = [...fs.readFileSync(GUIDE, 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1])

test('the guide has its samples', () => {
  assert.ok(samples.length >= 5, `${samples.length} samples`)
})

test('every sample type-checks against the package types', () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'finops-guide-'))
  const files = samples.map((code, i) => {
    const file = path.join(dir, `sample${i + 1}.ts`)
    // Each sample is a module of its own (top-level await allowed in ES2022 modules).
    fs.writeFileSync(file, `${code}\nexport {}\n`)
    return file
  })
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    noEmit: true,
    types: ['node'],
    typeRoots: [path.join(__dirname, '..', 'node_modules', '@types')],
    paths: { finops: [path.join(__dirname, '..', 'index.d.ts')] },
  })
  const problems = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : ''
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
  })
  fs.rmSync(dir, { recursive: true, force: true })
  assert.deepEqual(problems, [])
})

for (const [i, code] of samples.entries()) {
  test(`sample ${i + 1} runs`, async () => {
    const js = ts.transpileModule(code, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS },
    }).outputText
    const cwd = process.cwd()
    process.chdir(ROOT)
    const log = console.log
    console.log = () => {}
    try {
      const run = new Function('require', 'exports', `return (async () => {\n${js}\n})()`)
      await run(require, {})
    } finally {
      console.log = log
      process.chdir(cwd)
    }
  })
}
