-- The Lua layers, proved from the sources (as `make check-layers` proves the C
-- boundary): every `require` of every module under lua/eksegress/, the lazy ones
-- inside functions included, is read and checked against the layer order
--
--   cli -> workflows -> client (with the facade and parallel) -> settings,
--   config, endpoints, credentials, services, protocols -> runtime -> base
--   modules -> core
--
-- Nothing requires a module of a higher layer; report/ is pure (only report/
-- and the base modules); no require cycle exists, hidden or not; every
-- eksegress module required exists. New folders are covered the day they
-- appear: a module this spec cannot place fails it, naming the file.

-- Layers, highest first. A module's layer is the first rule its name matches.
local LAYERS = {
  { rank = 6, name = "cli", match = "^eksegress%.cli$", prefix = "eksegress.cli." },
  { rank = 5, name = "workflows", match = "^eksegress%.workflows$", prefix = "eksegress.workflows." },
  { rank = 4, name = "client", names = { "eksegress", "eksegress.client", "eksegress.parallel", "eksegress.k8s" } },
  { rank = 3, name = "configuration and wire", names = { "eksegress.settings", "eksegress.options",
      "eksegress.config", "eksegress.endpoints" },
    prefixes = { "eksegress.credentials", "eksegress.services", "eksegress.protocols" } },
  { rank = 2, name = "runtime", names = { "eksegress.runtime" } },
  { rank = 2, name = "report", match = "^eksegress%.report$", prefix = "eksegress.report.", pure = true },
  { rank = 1, name = "base", names = { "eksegress.errors", "eksegress.secret", "eksegress.timeutil",
      "eksegress.envvar", "eksegress.sigv4", "eksegress.guard", "eksegress.canonical", "eksegress.base64" },
    prefixes = { "eksegress.net" } },
  { rank = 0, name = "core", names = { "eksegress.core" } },
}

-- The facade's `__index` loads `eksegress.<name>` on a caller's first use of
-- `eksegress.<name>`: the caller's dependency, not the facade's.
local ACCESSORS = { ["eksegress"] = { ["eksegress."] = true } }

local function starts(s, p) return s:sub(1, #p) == p end

local function layer_of(mod)
  for _, l in ipairs(LAYERS) do
    if l.match and mod:find(l.match) then return l end
    if l.prefix and starts(mod, l.prefix) then return l end
    for _, n in ipairs(l.names or {}) do
      if mod == n then return l end
    end
    for _, p in ipairs(l.prefixes or {}) do
      if mod == p or starts(mod, p .. ".") then return l end
    end
  end
  return nil
end

-- Remove comments: long ones (--[[ ]], --[==[ ]==]) and, on each line, from a
-- "--" that is not inside a quoted string.
local function strip_comments(src)
  src = src:gsub("%-%-%[(=*)%[.-%]%1%]", "")
  local out = {}
  for line in (src .. "\n"):gmatch("(.-)\n") do
    local quote, i, cut = nil, 1, nil
    while i <= #line do
      local c = line:sub(i, i)
      if quote then
        if c == "\\" then i = i + 1 elseif c == quote then quote = nil end
      elseif c == '"' or c == "'" then
        quote = c
      elseif line:sub(i, i + 1) == "--" then
        cut = i
        break
      end
      i = i + 1
    end
    out[#out + 1] = cut and line:sub(1, cut - 1) or line
  end
  return table.concat(out, "\n")
end

--- The requires of a source: { static = {name...}, optional = {name = true},
-- prefixes = {prefix...} }. optional: names loaded through pcall(require, ...),
-- which may be absent; prefixes: require("eksegress.protocols." .. name) and
-- the like.
local function requires_of(src)
  src = strip_comments(src)
  local static, optional, prefixes = {}, {}, {}
  for name in src:gmatch("require%s*%(?%s*[\"']([%w%._]+)[\"']") do
    -- A name ending in "." is the start of a prefix require (below).
    if name:sub(-1) ~= "." then static[#static + 1] = name end
  end
  for name in src:gmatch("pcall%(%s*require%s*,%s*[\"']([%w%._]+)[\"']") do
    static[#static + 1] = name
    optional[name] = true
  end
  for prefix in src:gmatch("require%s*%(%s*[\"']([%w%._]+%.)[\"']%s*%.%.") do prefixes[#prefixes + 1] = prefix end
  return { static = static, optional = optional, prefixes = prefixes }
end

local function module_name(path)
  local rel = path:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
  return rel
end

--- Read every module under root: { [module] = { path, requires } }.
local function read_tree(root)
  local p = assert(io.popen("find '" .. root .. "' -name '*.lua' | sort"))
  local mods = {}
  for path in p:lines() do
    local f = assert(io.open(path, "rb"))
    local src = f:read("a")
    f:close()
    mods[module_name(path)] = { path = path, requires = requires_of(src) }
  end
  p:close()
  return mods
end

--- The edges between eksegress modules: { {from, to, how} }, with prefix
-- requires expanded to the modules they can load; and the names required that
-- do not exist (an optional one, through pcall, may be absent).
local function edges_of(mods)
  local edges, missing = {}, {}
  local known = { ["eksegress.core"] = true }
  for m in pairs(mods) do known[m] = true end
  for from, info in pairs(mods) do
    for _, to in ipairs(info.requires.static) do
      if starts(to, "eksegress") and (to == "eksegress" or starts(to, "eksegress.")) then
        if known[to] then
          edges[#edges + 1] = { from, to, "require" }
        elseif not info.requires.optional[to] then
          missing[#missing + 1] = info.path .. " requires " .. to .. ", which does not exist"
        end
      end
    end
    for _, prefix in ipairs(info.requires.prefixes) do
      if not (ACCESSORS[from] and ACCESSORS[from][prefix]) then
        for to in pairs(known) do
          if starts(to, prefix) then edges[#edges + 1] = { from, to, "require(\"" .. prefix .. "\" .. x)" } end
        end
      end
    end
  end
  table.sort(edges, function(a, b) return a[1] .. a[2] < b[1] .. b[2] end)
  table.sort(missing)
  return edges, missing
end

--- Layer violations: unplaced modules, upward edges, impure report edges.
local function violations(mods, edges)
  local out = {}
  for m, info in pairs(mods) do
    if not layer_of(m) then out[#out + 1] = info.path .. ": module " .. m .. " has no layer (classify it)" end
  end
  for _, e in ipairs(edges) do
    local a, b = layer_of(e[1]), layer_of(e[2])
    if a and b then
      if b.rank > a.rank then
        out[#out + 1] = ("%s (%s) requires %s (%s, a higher layer) via %s"):format(e[1], a.name, e[2], b.name, e[3])
      elseif a.pure and b ~= a and b.rank > 1 then
        out[#out + 1] = ("%s is pure (%s) but requires %s (%s)"):format(e[1], a.name, e[2], b.name)
      end
    end
  end
  table.sort(out)
  return out
end

--- Every cycle of the graph, as module lists (Tarjan's strongly connected
-- components; a component of one module counts when it requires itself).
local function cycles(edges)
  local adj, nodes = {}, {}
  for _, e in ipairs(edges) do
    adj[e[1]] = adj[e[1]] or {}
    table.insert(adj[e[1]], e[2])
    nodes[e[1]], nodes[e[2]] = true, true
  end
  local index, low, on, stack, n, out = {}, {}, {}, {}, 0, {}
  local function visit(v)
    n = n + 1
    index[v], low[v] = n, n
    stack[#stack + 1], on[v] = v, true
    for _, w in ipairs(adj[v] or {}) do
      if not index[w] then
        visit(w)
        low[v] = math.min(low[v], low[w])
      elseif on[w] then
        low[v] = math.min(low[v], index[w])
      end
    end
    if low[v] == index[v] then
      local comp = {}
      repeat
        local w = table.remove(stack)
        on[w] = false
        comp[#comp + 1] = w
      until w == v
      local self_loop = false
      for _, w in ipairs(adj[v] or {}) do if w == v then self_loop = true end end
      if #comp > 1 or self_loop then
        table.sort(comp)
        out[#out + 1] = table.concat(comp, " <-> ")
      end
    end
  end
  local sorted = {}
  for v in pairs(nodes) do sorted[#sorted + 1] = v end
  table.sort(sorted)
  for _, v in ipairs(sorted) do
    if not index[v] then visit(v) end
  end
  return out
end

describe("Lua layers", function()
  local mods = read_tree("lua/eksegress")
  local edges, missing = edges_of(mods)

  it("reads the whole tree and its lazy requires", function()
    assert.is_table(mods["eksegress.client"])
    assert.is_table(mods["eksegress.credentials.imds"])
    local n = 0
    for _ in pairs(mods) do n = n + 1 end
    assert.is_true(n >= 35, "modules found: " .. n)
    -- A require inside a function is an edge like any other.
    local lazy = false
    for _, e in ipairs(edges) do
      if e[1] == "eksegress.credentials.profile_plain" and e[2] == "eksegress.credentials.process" then
        lazy = true
      end
    end
    assert.is_true(lazy, "profile_plain's lazy require of credentials.process is seen")
  end)

  it("every eksegress module required exists", function()
    assert.same({}, missing)
  end)

  it("nothing requires a module of a higher layer; report/ is pure; every module has a layer", function()
    assert.same({}, violations(mods, edges))
  end)

  it("no require cycle, hidden or not (settings <-> credentials.imds, profile <-> assume_role are gone)", function()
    assert.same({}, cycles(edges))
  end)

  it("the checks can fail: an upward edge, an impure report, a cycle and a comment are told apart", function()
    local fake = {
      ["eksegress.runtime"] = { path = "runtime.lua", requires = requires_of([[
        local c = require "eksegress.client"   -- upward
        -- require "eksegress.cli" (a comment: ignored)
      ]]) },
      ["eksegress.client"] = { path = "client.lua", requires = requires_of([[
        local function lazy() return require("eksegress.runtime") end
      ]]) },
      ["eksegress.report.table"] = { path = "report/table.lua", requires = requires_of([[
        local ok, rt = pcall(require, "eksegress.runtime")
      ]]) },
      ["eksegress.mystery"] = { path = "mystery.lua", requires = requires_of("") },
      ["eksegress.services"] = { path = "services/init.lua", requires = requires_of([[
        return require("eksegress.services." .. name)
      ]]) },
      ["eksegress.services.ec2"] = { path = "services/ec2.lua", requires = requires_of([[
        local s = require "eksegress.services"
      ]]) },
    }
    fake["eksegress.errors"] = { path = "errors.lua", requires = requires_of([[
      local ok, later = pcall(require, "eksegress.not_yet")
      local gone = require "eksegress.gone"
    ]]) }
    local e, absent = edges_of(fake)
    assert.same({ "errors.lua requires eksegress.gone, which does not exist" }, absent)
    local v = violations(fake, e)
    assert.same({
      "eksegress.report.table is pure (report) but requires eksegress.runtime (runtime)",
      "eksegress.runtime (runtime) requires eksegress.client (client, a higher layer) via require",
      "mystery.lua: module eksegress.mystery has no layer (classify it)",
    }, v)
    assert.same({ "eksegress.client <-> eksegress.runtime", "eksegress.services <-> eksegress.services.ec2" },
      cycles(e))
  end)
end)
