//! The Lua scripts that change a job's state atomically (a job's hash, its stream entry and its idempotency key
//! together).

/// An ended job (KEYS[1], its stream KEYS[2]): its entry leaves the stream, and its hash and idempotency key expire
/// after the retention (ARGV[1] seconds); ARGV[2] is its entry id ('' when it has none).
pub(super) const FORGET_LATER: &str = r"
redis.call('EXPIRE', KEYS[1], ARGV[1])
local ikey = redis.call('HGET', KEYS[1], 'ikey')
if ikey then
  redis.call('EXPIRE', ikey, ARGV[1])
end
if ARGV[2] ~= '' then
  redis.call('XDEL', KEYS[2], ARGV[2])
end
return 1
";

/// Marks a job done only if `worker` still holds it, acknowledges its entry, and lets the job expire after the
/// retention (ARGV[3] seconds).
pub(super) const COMPLETE: &str = r"
if redis.call('HGET', KEYS[1], 'worker') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'status') ~= 'running' then
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'succeeded', 'result_id', ARGV[2])
redis.call('HDEL', KEYS[1], 'error')
local msg = redis.call('HGET', KEYS[1], 'msg')
redis.call('XACK', KEYS[2], 'workers', msg)
redis.call('XDEL', KEYS[2], msg)
redis.call('EXPIRE', KEYS[1], ARGV[3])
local ikey = redis.call('HGET', KEYS[1], 'ikey')
if ikey then
  redis.call('EXPIRE', ikey, ARGV[3])
end
return 1
";

/// Moves a claimed entry's job to `running` unless it was cancelled (or ended) meanwhile; the attempt number, or -1.
pub(super) const START: &str = r"
local s = redis.call('HGET', KEYS[1], 'status')
if s ~= 'queued' and s ~= 'running' then
  return -1
end
local n = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', 'running', 'worker', ARGV[1], 'msg', ARGV[2])
return n
";

/// Cancels a queued or running job of tenant ARGV[2]: false when there is no such job, else its status after. A
/// cancelled job expires after the retention (ARGV[3] seconds).
pub(super) const CANCEL: &str = r"
if redis.call('HGET', KEYS[1], 'tenant') ~= ARGV[2] then
  return false
end
local s = redis.call('HGET', KEYS[1], 'status')
if s ~= 'queued' and s ~= 'running' then
  return s
end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'error', 'cancelled')
redis.call('ZREM', KEYS[3], ARGV[1])
local msg = redis.call('HGET', KEYS[1], 'msg')
if msg then
  redis.call('XACK', KEYS[2], 'workers', msg)
  redis.call('XDEL', KEYS[2], msg)
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
local ikey = redis.call('HGET', KEYS[1], 'ikey')
if ikey then
  redis.call('EXPIRE', ikey, ARGV[3])
end
redis.call('PUBLISH', KEYS[4], ARGV[1])
return 'cancelled'
";
