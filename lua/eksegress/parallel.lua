--- Run a function over many items concurrently, in coroutines over one engine.
--
--     local results, errs = eksegress.parallel(regions, function(region)
--       return client:call("eks", "ListClusters", {}, { region = region })
--     end, { concurrency = 16 })
--
-- `fn(item, index)` may return `value` or `nil, err`, or raise. Each item's
-- outcome is kept: results[i] holds the value, errs[i] the error (a raised
-- error becomes {code = "TaskError"}). One failure never loses the others.
--
-- The tasks run on `opts.runtime`, else on the runtime of the task calling
-- parallel (a nested parallel), else on runtime.default(): the runtime every
-- client shares unless it was given another, so client calls inside the tasks
-- overlap. A call on a client of another runtime raises in its task (see
-- eksegress.runtime) instead of blocking the scheduler.
local runtime = require "eksegress.runtime"
local errors = require "eksegress.errors"

local OPTIONS = { concurrency = true, runtime = true }

local function parallel(items, fn, opts)
  if opts ~= nil and type(opts) ~= "table" then errors.misuse("parallel: options must be a table", 2) end
  opts = opts or {}
  for k in pairs(opts) do
    if not OPTIONS[k] then
      errors.misuse(("parallel: unknown option '%s' (options: concurrency, runtime)"):format(tostring(k)), 2)
    end
  end
  if type(items) ~= "table" then errors.misuse("parallel: items must be a list", 2) end
  if type(fn) ~= "function" then errors.misuse("parallel: fn must be a function", 2) end
  local concurrency = opts.concurrency or 16
  if math.type(concurrency) ~= "integer" or concurrency < 1 then
    errors.misuse("parallel: concurrency must be a positive integer", 2)
  end
  if opts.runtime ~= nil and not runtime.is_runtime(opts.runtime) then
    errors.misuse("parallel: runtime must be a runtime from eksegress.runtime", 2)
  end
  local rt = opts.runtime or runtime.current() or runtime.default()
  local results, errs = {}, {}
  local n = #items
  local next_index = 1

  local function worker()
    while next_index <= n do
      local i = next_index
      next_index = i + 1
      local ok, value, err = pcall(fn, items[i], i)
      if not ok then
        errs[i] = errors.is(value) and value or errors.new("TaskError", tostring(value))
      elseif value == nil and err ~= nil then
        errs[i] = err
      else
        results[i] = value
      end
    end
  end

  local tasks = {}
  for _ = 1, math.min(concurrency, n) do
    tasks[#tasks + 1] = rt:spawn(worker)
  end
  local _, err = rt:join(tasks)
  -- An item with neither a result nor an error (the scheduler failed, or a
  -- worker was killed by a stray yield) is reported, never silently dropped.
  for i = 1, n do
    if results[i] == nil and errs[i] == nil then
      errs[i] = err or errors.new("TaskError", "item was not completed")
    end
  end
  return results, errs
end

return parallel
