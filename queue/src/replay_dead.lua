-- Puts one dead-lettered task back on its queue as a fresh push leaves it: in the scheduled set,
-- due now (where apalis-redis' push puts every task), metadata back to Pending with no attempt
-- made, its idempotency key claimed for it again. It leaves the dead set, and the finished set
-- too, so the retention sweep does not forget a task that waits to run.
--
-- KEYS[1]: the dead set   KEYS[2]: the finished set   KEYS[3]: the scheduled set
-- KEYS[4]: the task data hash
-- ARGV[1]: the task id   ARGV[2]: now (unix seconds)   ARGV[3]: the metadata prefix
-- ARGV[4]: the idempotency prefix   ARGV[5]: the idempotency TTL in seconds (0: none)
-- Returns {'replayed'}, {'not_dead'}, {'no_data'} or {'key_taken', other task id}.
local id = ARGV[1]
if redis.call('SISMEMBER', KEYS[1], id) == 0 then
    return {'not_dead'}
end
if redis.call('HEXISTS', KEYS[4], id) == 0 then
    return {'no_data'}
end
local meta = ARGV[3] .. ':' .. id
local key = redis.call('HGET', meta, 'idempotency_key')
if key and #key > 0 then
    local claim = ARGV[4] .. ':' .. key
    local holder = redis.call('GET', claim)
    -- The claim expired and a new request with the same key was queued since: running this
    -- one as well would do the request twice.
    if holder and holder ~= id then
        return {'key_taken', holder}
    end
    if tonumber(ARGV[5]) > 0 then
        redis.call('SET', claim, id, 'EX', ARGV[5])
    else
        redis.call('SET', claim, id)
    end
end
redis.call('SREM', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
redis.call('HDEL', meta, 'result', 'done_at')
redis.call('HSET', meta, 'status', 'Pending', 'attempts', 0)
redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), id)
return {'replayed'}
