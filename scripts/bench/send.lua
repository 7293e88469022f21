-- wrk script of scripts/bench/bench-webhooks: SEND a text into one of the
-- conversations of BENCH_CONVERSATIONS (comma-separated ids), round robin,
-- so that every conversation (every delivery lane) is busy. The -H headers
-- (the AppJWT and ConsumerJWS) are kept.
local ids = {}
for id in string.gmatch(os.getenv("BENCH_CONVERSATIONS") or "", "[^,]+") do
    ids[#ids + 1] = id
end
local n = 0
local headers = {}

init = function(args)
    for name, value in pairs(wrk.headers) do
        headers[name] = value
    end
    headers["Content-Type"] = "application/json"
end

request = function()
    n = n + 1
    local id = ids[(n % #ids) + 1]
    local body = '{"kind":"req","id":"' .. n .. '","type":"ms.PublishEvent","body":{"dialogId":"'
        .. id .. '","event":{"type":"ContentEvent","contentType":"text/plain","message":"Hello from the bench"}}}'
    return wrk.format("POST", nil, headers, body)
end
