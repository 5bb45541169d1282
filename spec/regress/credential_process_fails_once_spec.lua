-- Regression (issue 16, chaos): a credential_process that fails once (an SSO
-- helper's network blip) no longer fails the whole run. A helper that exits
-- non-zero is run once more after a pause (the context's sleep, so other
-- tasks go on); a timeout, an output over the cap or output that is not
-- credentials is not retried (a second run cannot change it, or would double
-- the wait).
local process = require "eksegress.credentials.process"

local function script(body)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(body)
  f:close()
  return path
end

local function calls(counter)
  local f = io.open(counter)
  if not f then return 0 end
  local n = tonumber(f:read("a")) or 0
  f:close()
  return n
end

-- A helper that counts its calls in COUNTER and fails on the calls listed.
local HELPER = [[
n=$(cat "$1" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$1"
case " $2 " in *" $n "*) echo "helper: identity provider unavailable" >&2; exit 1;; esac
if [ "$3" = "bad" ]; then echo 'not json'; exit 0; fi
printf '%s' '{"Version": 1, "AccessKeyId": "AKIDPROC00000000", "SecretAccessKey": "ps", "SessionToken": "pt"}'
]]

describe("regression: credential_process that fails once", function()
  local helper, counter
  before_each(function()
    helper = script(HELPER)
    counter = os.tmpname()
    os.remove(counter)
  end)
  after_each(function()
    os.remove(helper)
    os.remove(counter)
  end)

  it("regression: a helper that fails on its first call is run again and its credentials are used", function()
    local slept = {}
    local p = process.new{ command = ("/bin/sh %s %s '1'"):format(helper, counter), profile = "p" }
    local c, err = p:resolve({ sleep = function(s) slept[#slept + 1] = s end })
    assert.is_nil(err)
    assert.same({ "AKIDPROC00000000", "ps", "pt" }, { c:unwrap() })
    assert.equal(2, calls(counter))
    assert.same({ 1 }, slept, "one pause, through the context's sleep")
  end)

  it("regression: a helper that keeps failing is run twice, and the error names the last failure", function()
    local p = process.new{ command = ("/bin/sh %s %s '1 2 3'"):format(helper, counter), profile = "p" }
    local c, err = p:resolve({ sleep = function() end })
    assert.is_nil(c)
    assert.equal("CredentialProcessError", err.code)
    assert.matches("exited with status 1: helper: identity provider unavailable", err.message)
    assert.equal(2, calls(counter))
  end)

  it("regression: output that is not credentials is not retried", function()
    local p = process.new{ command = ("/bin/sh %s %s '' bad"):format(helper, counter), profile = "p" }
    local c, err = p:resolve({ sleep = function() end })
    assert.is_nil(c)
    assert.matches("output is not a JSON object", err.message)
    assert.equal(1, calls(counter))
  end)

  it("regression: a helper that does not finish in time is not run again", function()
    local runs = 0
    local p = process.new{ command = "helper", profile = "p", timeout_ms = 300,
      run = function()
        runs = runs + 1
        return nil, { code = "ProcessTimeout", message = "timeout" }
      end }
    local c, err = p:resolve({ sleep = function() end })
    assert.is_nil(c)
    assert.matches("did not finish within 0.3 s", err.message)
    assert.equal(1, runs)
  end)
end)
