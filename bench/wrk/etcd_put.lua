-- POST /v3/kv/put through etcd's gRPC gateway: a 32-byte key /registry/svc-NNNN/instance-000I and a
-- 256-byte JSON value, cycling over 3,000 distinct keys (copied from ../shared/anchors/anchor_etcd_write.sh).
local b='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local function b64(data)
  return ((data:gsub('.', function(x)
    local r, byte = '', x:byte()
    for i = 8, 1, -1 do r = r .. (byte % 2^i - byte % 2^(i-1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
    if #x < 6 then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2^(6-i) or 0) end
    return b:sub(c+1, c+1)
  end) .. ({ '', '==', '=' })[#data % 3 + 1])
end
local bodies, n = {}, 0
function init(args)
  for i = 0, 2999 do
    local s, k = math.floor(i / 3), i % 3
    local key = string.format('/registry/svc-%04d/instance-%04d', s, k)          -- 32 bytes
    local val = string.format('{"ID":"svc-%04d-%d","Service":"svc-%04d","Address":"10.0.%d.%d","Port":%d,"Tags":["v1","primary"],"Meta":{"version":"1.0.0","zone":"z1"},"Check":"passing","Pad":"',
                              s, k, s, math.floor(i / 250), i % 250 + 1, 8000 + k)
    val = val .. string.rep('x', 254 - #val) .. '"}'                                -- 256 bytes
    bodies[#bodies + 1] = '{"key":"' .. b64(key) .. '","value":"' .. b64(val) .. '"}'
  end
  n = math.random(0, 2999)
end
function request()
  n = n + 1
  return wrk.format('POST', '/v3/kv/put', { ['Content-Type'] = 'application/json' }, bodies[(n % 3000) + 1])
end
