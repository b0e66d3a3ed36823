// The ES module entry point (`import { Finops } from 'finops'`): the very objects of the CommonJS one (`index.js`),
// so a process that both imports and requires finops has one set of classes (`instanceof FinopsError` holds
// across both). __test__/esm.test.mjs checks that every CommonJS export is here.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const finops = require('./index.js')

export const {
  Finops,
  Queue,
  Vault,
  JwtVerifier,
  verifyAudit,
  ScriptedProvider,
  computeMetrics,
  readStatements,
  computeMetricsTable,
  screen,
  peerBenchmarks,
  buildStatements,
  evaluate,
  fingerprint,
  FinopsError,
  InvalidStatementsError,
  InvalidExpressionError,
  InvalidArgumentError,
  ProviderError,
  RateLimitedError,
  BudgetExceededError,
  AccessDeniedError,
  InvalidTokenError,
  IntegrityError,
  KeyUnavailableError,
  BackendError,
  CancelledError,
  InternalError,
} = finops
export default finops
