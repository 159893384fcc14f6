-- PUT /v1/agent/service/register: the registration that etcd_put.lua stores as its value, in
-- Consul's form (ID, Name, Address, Port, Tags, Meta), padded to a 256-byte body; cycling over
-- 3,000 distinct instance IDs (svc-NNNN-K, 1,000 services x 3) exactly like etcd_put.lua's keys.
local bodies, n = {}, 0
function init(args)
  for i = 0, 2999 do
    local s, k = math.floor(i / 3), i % 3
    local b = string.format('{"ID":"svc-%04d-%d","Name":"svc-%04d","Address":"10.0.%d.%d","Port":%d,"Tags":["v1","primary"],"Meta":{"version":"1.0.0","zone":"z1","pad":"',
                            s, k, s, math.floor(i / 250), i % 250 + 1, 8000 + k)
    b = b .. string.rep('x', 253 - #b) .. '"}}'                                        -- 256 bytes
    bodies[#bodies + 1] = b
  end
  n = math.random(0, 2999)
end
function request()
  n = n + 1
  return wrk.format('PUT', '/v1/agent/service/register', { ['Content-Type'] = 'application/json' }, bodies[(n % 3000) + 1])
end
