-- wrk: an 80/20 mix of v1 session-property reads and writes.
-- Four in five requests GET one session property; the fifth PATCHes the
-- session's properties (two small ones, overwritten each time, so the
-- session stays the same size and the GET answer never changes).
-- The API key comes from wrk's -H "maven-api-key: ..." (wrk.headers).
local base = "/v1/account/le12345678/myNamespace/mySessionId/properties"
local get_request
local patch_headers = {}
local n = 0

function init(args)
  -- wrk.format takes its headers instead of wrk.headers, not with them.
  for name, value in pairs(wrk.headers) do
    patch_headers[name] = value
  end
  patch_headers["Content-Type"] = "application/json"
  get_request = wrk.format("GET", base .. "/myProperty1")
end

function request()
  n = n + 1
  if n % 5 == 0 then
    return wrk.format("PATCH", base, patch_headers,
      '{"tier":"gold","turn":' .. (n % 1000) .. '}')
  end
  return get_request
end
