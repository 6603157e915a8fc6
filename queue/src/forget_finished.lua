-- Forgets tasks of one queue that ended (done or dead) at or before a cutoff: payload,
-- metadata, membership of the done and dead sets, and the idempotency key, if it still names
-- the task. At most ARGV[2] tasks per call, so no call holds Redis for long.
--
-- KEYS[1]: the finished set ({queue}:finished, scored by end time)
-- KEYS[2]: the task data hash   KEYS[3]: the done set   KEYS[4]: the dead set
-- ARGV[1]: the cutoff (unix seconds)   ARGV[2]: at most this many tasks
-- ARGV[3]: the metadata prefix ({queue}:meta)   ARGV[4]: the idempotency prefix
-- Returns the idempotency keys (the cws job keys) of the tasks forgotten.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local keys = {}
for _, id in ipairs(ids) do
    local meta = ARGV[3] .. ':' .. id
    local key = redis.call('HGET', meta, 'idempotency_key')
    if key and #key > 0 then
        local claim = ARGV[4] .. ':' .. key
        if redis.call('GET', claim) == id then
            redis.call('DEL', claim)
        end
        table.insert(keys, key)
    end
    redis.call('DEL', meta)
    redis.call('HDEL', KEYS[2], id)
    redis.call('SREM', KEYS[3], id)
    redis.call('SREM', KEYS[4], id)
    redis.call('ZREM', KEYS[1], id)
end
return keys
