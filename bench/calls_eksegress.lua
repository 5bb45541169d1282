-- bench/calls_eksegress.lua N CONCURRENCY: N DescribeCluster calls through
-- eksegress.parallel, written as a user writes it: a client from the
-- environment (AWS_ENDPOINT_URL, AWS_REGION, keys), no option but the
-- concurrency. Prints one JSON line: calls, errors, wall_s and cpu_s of the
-- call phase alone (os.clock: the process's user+sys time).
local eksegress = require "eksegress"

local n, concurrency = tonumber(arg[1]) or 2000, math.tointeger(tonumber(arg[2]) or 32)
local names = {}
for i = 1, n do names[i] = ("cl-%05d"):format(i) end

local client = assert(eksegress.client())
local core = require "eksegress.core"
local t0, c0 = core.monotime(), os.clock()
local results, errs = eksegress.parallel(names, function(name)
  return client:call("eks", "DescribeCluster", { name = name })
end, { concurrency = concurrency })
local t1, c1 = core.monotime(), os.clock()

local bad, first = 0, nil
for i = 1, n do
  if errs[i] or not results[i] or results[i].cluster.name ~= names[i] then
    bad = bad + 1
    first = first or tostring(errs[i])
  end
end
print(('{"calls":%d,"errors":%d,"wall_s":%.6f,"cpu_s":%.6f%s}'):format(n, bad, t1 - t0, c1 - c0,
  first and (',"first_error":%q'):format(first) or ""))
