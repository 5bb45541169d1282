-- Regression (issue 16, chaos): a session the service says has expired
-- (ExpiredTokenException) before our clock does -- the service's clock jumped
-- past the credentials' end -- is forgotten and the request sent once more
-- with fresh credentials, instead of failing the call (and stopping an
-- apply). The simulator's log is the witness: the refused request, a second
-- fetch of the container credentials, the request accepted.
local chaos = require "helpers.chaos"

local TOKEN = "ekssim-container-token"

describe("regression: an expired session is refreshed, not fatal", function()
  local sim
  setup(function()
    sim = chaos.start_fleet("clusters=4,accounts=1,regions=us-east-1,seed=5,defects=0", "--time-scale 0",
      { container_credentials = { token = TOKEN, account = "111122223333", role_name = "EksEgressAdmin",
                                  duration = 900 } })
  end)
  teardown(function() sim:stop() end)

  local function ops(since)
    local n = {}
    for _, q in ipairs(sim:admin("GET", "/_sim/log?since=" .. since).requests) do
      local k = q.operation .. (type(q.error) == "string" and (":" .. q.error) or "")
      n[k] = (n[k] or 0) + 1
    end
    return n
  end

  it("regression: ExpiredTokenException makes the client fetch new credentials and send again", function()
    local c = sim:client{ env_extra = { AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false,
      AWS_CONTAINER_CREDENTIALS_FULL_URI = sim.url .. "/v1/credentials",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = TOKEN } }
    assert(c:call("eks", "ListClusters", {}))
    local seq = math.tointeger(sim:admin("GET", "/_sim/log").last_seq)
    -- 16 minutes later by the service's clock: the 15-minute session is over
    -- (and every signature is 16 minutes old until the engine learns that).
    sim:admin("POST", "/_sim/faults", { reset = true, clock_skew = 960 })
    local out, err = c:call("eks", "ListClusters", {})
    sim:admin("POST", "/_sim/faults", { reset = true })
    assert.is_nil(err)
    assert.are.equal(4, #out.clusters)
    local n = ops(seq)
    assert.are.equal(1, n["ListClusters:ExpiredTokenException"], "the expired session was refused once")
    assert.are.equal(1, n["ContainerCredentials"], "new credentials were fetched")
    assert.are.equal(1, n["ListClusters"], "and the request accepted with them")
  end)
end)
