-- HTTP/2 when the server offers it (issue 2, section 3): the engine talks to
-- nghttpd (nghttp2's server) over TLS on 127.0.0.1, negotiates h2 by ALPN, and
-- multiplexes concurrent requests over one connection.
local core = require "eksegress.core"

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  return out
end

local have_nghttpd = sh("command -v nghttpd || true") ~= ""

describe("HTTP/2", function()
  if not have_nghttpd then
    pending("nghttpd (Debian package nghttp2-server) is not installed; tools/setup.sh installs it")
    return
  end

  local dir, port, pid
  setup(function()
    dir = sh("mktemp -d"):gsub("%s+$", "")
    local py = os.getenv("EKSEGRESS_PYTHON") or "python3"
    -- The fault server's throwaway test certificate (127.0.0.1, localhost).
    assert(os.execute(("%s -c \"import sys; sys.path.insert(0, 'csrc/tests'); import faultserver as f; "
      .. "open('%s/cert.pem', 'w').write(f.TEST_CERT); open('%s/key.pem', 'w').write(f.TEST_KEY)\"")
      :format(py, dir, dir)))
    local f = assert(io.open(dir .. "/hello.txt", "w"))
    f:write("hello over h2\n")
    f:close()
    -- A free port is picked, closed, then handed to nghttpd: another process may
    -- take it in between, and nghttpd then exits. Start again on a fresh port
    -- until one is ours (regression: a taken port failed the whole spec).
    local function start_on_free_port()
      port = tonumber(sh(py .. " -c \"import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); "
        .. "print(s.getsockname()[1]); s.close()\""))
      -- $PPID is this Lua process: the server stops when it is gone.
      pid = sh(("nghttpd -a 127.0.0.1 -d %s %d %s/key.pem %s/cert.pem >/dev/null 2>&1 </dev/null & s=$!; "
        .. "(while kill -0 $PPID 2>/dev/null; do sleep 1; done; kill $s 2>/dev/null) >/dev/null 2>&1 & echo $s")
        :format(dir, port, dir, dir)):gsub("%s+$", "")
    end
    local function alive() return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true end
    -- Wait until it accepts connections (a hang guard of 60 s, not a speed test).
    local e = core.engine_new{ max_attempts = 1, ca_bundle = dir .. "/cert.pem" }
    local starts, deadline = 0, core.monotime() + 60
    while true do
      if starts == 0 or not alive() then
        assert(starts < 5, "nghttpd did not start on any of 5 free ports")
        start_on_free_port()
        starts = starts + 1
      end
      e:submit{ method = "GET", url = ("https://127.0.0.1:%d/hello.txt"):format(port) }
      local r
      for _ = 1, 100 do
        e:step(20)
        r = e:next_done()
        if r then break end
      end
      if r and r.status == 200 then break end
      assert(core.monotime() < deadline, "nghttpd did not answer within 60 s")
      core.sleep_ms(50)
    end
    e:close()
  end)
  teardown(function()
    os.execute("kill " .. pid .. " 2>/dev/null")
    os.execute("rm -rf '" .. dir .. "'")
  end)

  local function run_all(e, n)
    local out = {}
    for i = 1, n do
      e:submit{ method = "GET", url = ("https://127.0.0.1:%d/hello.txt"):format(port), user_id = i }
    end
    local done = 0
    for _ = 1, 10000 do
      e:step(20)
      while true do
        local r = e:next_done()
        if not r then break end
        out[r.user_id] = r
        done = done + 1
      end
      if done == n then break end
    end
    return out
  end

  it("negotiates h2 over TLS and verifies the certificate with the given CA", function()
    local e = assert(core.engine_new{ max_attempts = 1, ca_bundle = dir .. "/cert.pem" })
    local r = run_all(e, 1)[1]
    assert.is_nil(r.error)
    assert.are.equal(200, r.status)
    assert.are.equal(20, r.http_version)
    assert.are.equal("hello over h2\n", r.body)
    e:close()
  end)

  it("multiplexes concurrent requests over one connection", function()
    local e = assert(core.engine_new{ max_attempts = 1, ca_bundle = dir .. "/cert.pem" })
    local rs = run_all(e, 20)
    local new_conns = 0
    for i = 1, 20 do
      assert.are.equal(200, rs[i].status)
      assert.are.equal(20, rs[i].http_version)
      if rs[i].attempt_log[1].new_connection then new_conns = new_conns + 1 end
    end
    assert.are.equal(1, new_conns)
    e:close()
  end)

  it("refuses the server without its CA (verification is on by default)", function()
    local e = assert(core.engine_new{ max_attempts = 1 })
    local r = run_all(e, 1)[1]
    assert.are.equal("TlsError", r.error.code)
    e:close()
  end)
end)
