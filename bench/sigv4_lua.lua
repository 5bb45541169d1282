--- bench/sigv4_lua.lua: SigV4 signatures per second through the Lua API.
--
--     LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' \
--       lua5.4 bench/sigv4_lua.lua [seconds] [rounds]
--
-- Signs the same request as bench/sigv4_bench.c (the typical EKS call:
-- POST /clusters/prod/update-config, a 200-byte JSON body, headers Host and
-- Content-Type, a 900-character session token, a fixed X-Amz-Date so the
-- derived key stays cached) through require("eksegress.sigv4").sign{...}.
-- Every call builds its argument table and header list afresh, as a caller
-- does, so the figure includes building the arguments, the binding's
-- argument checks, the C signing and the result table (and the garbage
-- collection all of that causes).
--
-- After a short warm-up, each round runs for `seconds` (default 2) and the
-- best round is kept. Output is "key value" lines, like sigv4_bench:
--   sigv4_lua_per_sec N
--   signature HEX          (compared with the C bench's: same request)
--   lua_version / curl_version / openssl_version TEXT
-- Lines starting with '#' are comments. Exits 1 if signing fails.
local sigv4 = require "eksegress.sigv4"
local core = require "eksegress.core"

local secs = tonumber(arg and arg[1]) or 2.0
local rounds = math.tointeger(tonumber(arg and arg[2]) or 1) or 1
if secs <= 0 then secs = 2.0 end
if rounds < 1 then rounds = 1 end

-- Byte for byte the workload of bench/sigv4_bench.c.
local BODY = '{"resourcesVpcConfig":{"controlPlaneEgressMode":"PRIVATE","endpointPrivateAccess":'
  .. 'true,"endpointPublicAccess":false},"clientRequestToken":"8f14e45f-ceea-467f-a0e6-'
  .. '1b2c3d4e5f60","tags":{"a":"b"}      }'
local TOKEN = string.rep("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLXdlc3QtMiJHMEUCIQDexample+token/part==", 12)
local TARGET = "/clusters/prod/update-config"
local HOST = "eks.us-west-2.amazonaws.com"
local CTYPE = "application/json"
local AMZ_DATE = "20260314T092653Z"
local AKID = "AKIDEXAMPLE"
local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

assert(#BODY == 200 and #TOKEN == 900, "workload differs from bench/sigv4_bench.c")

local sign = sigv4.sign
local monotime = core.monotime

local function sign_once()
  return sign{
    method = "POST",
    target = TARGET,
    headers = { { "Host", HOST }, { "Content-Type", CTYPE } },
    body = BODY,
    region = "us-west-2",
    service = "eks",
    time = AMZ_DATE,
    access_key_id = AKID,
    secret_access_key = SECRET,
    session_token = TOKEN,
  }
end

-- Signatures per second over about `d` seconds; the clock is read every 256
-- signatures so reading it costs nothing measurable.
local function run(d)
  local n = 0
  local t0 = monotime()
  local t
  repeat
    for _ = 1, 256 do
      sign_once()
    end
    n = n + 256
    t = monotime() - t0
  until t >= d
  return n / t
end

local first = sign_once()
if type(first.signature) ~= "string" or not first.signature:match("^%x+$") or #first.signature ~= 64 then
  io.stderr:write("sigv4_lua: signing returned no signature\n")
  os.exit(1)
end
io.write(string.format("# body %d bytes, canonical request %d bytes, token %d bytes\n",
  #BODY, #first.canonical_request, #TOKEN))

run(secs / 10)
local best = 0
for _ = 1, rounds do
  local r = run(secs)
  if r > best then best = r end
end

io.write(string.format("sigv4_lua_per_sec %.0f\n", best))
io.write("signature ", first.signature, "\n")
io.write("lua_version ", _VERSION, "\n")
io.write("curl_version ", tostring(core.curl_version), "\n")
io.write("openssl_version ", tostring(core.openssl_version), "\n")
