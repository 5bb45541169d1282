-- `make docs`: the LDoc API reference of the public modules (config.ld),
-- built into a temporary folder. The generated HTML is not committed
-- (docs/api/ is ignored), so what is tested is that it builds, completely,
-- and that no doc comment contradicts its function.
local core = require "eksegress.core"
local fixtures = require "helpers.fixtures"
local exists, read = fixtures.exists, fixtures.read

-- LDoc warnings that do not make the reference wrong: a module documented in
-- its header alone (eksegress.parallel is a function), an argument without a
-- line of its own, an assignment LDoc's parser skips. Every other warning
-- (a @param naming no argument, an unknown tag, a module LDoc cannot name)
-- fails, and so does LDoc exiting non-zero (it then writes nothing).
local HARMLESS = { "contains no items", "undocumented formal argument", "definition cannot be parsed" }

local function harmless(line)
  for _, h in ipairs(HARMLESS) do
    if line:find(h, 1, true) then return true end
  end
  return false
end

describe("API reference (make docs, LDoc)", function()
  local dir, cleanup, result
  setup(function()
    dir, cleanup = fixtures.tmpdir()
    result = assert(core.run_process({ "make", "--no-print-directory", "-s", "docs-run", "DOCS_DIR=" .. dir },
      { timeout_ms = 300000 }))
  end)
  teardown(function() cleanup() end)

  it("builds without a warning that matters", function()
    assert.are.equal(0, result.status, result.stdout .. result.stderr)
    local bad = {}
    for line in (result.stdout .. result.stderr):gmatch("[^\n]+") do
      if not harmless(line) and not line:find("^reading configuration") and not line:find("^output written") then
        bad[#bad + 1] = line
      end
    end
    assert.are.same({}, bad)
  end)

  it("has a page for every module config.ld lists, with the module's own name", function()
    local env = {}
    assert(load(read("config.ld"), "@config.ld", "t", env))()
    assert.is_true(#env.file >= 15)
    for _, path in ipairs(env.file) do
      local name = path:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
      assert.is_true(exists(dir .. "/modules/" .. name .. ".html"), name)
    end
    assert.is_true(exists(dir .. "/index.html"))
  end)

  it("documents the client's calls with their parameters", function()
    local html = read(dir .. "/modules/eksegress.client.html")
    for _, fn in ipairs{ "Client:call", "Client:prepare", "Client:send", "Client:paginate", "Client:collect",
                         "Client:wait", "Client:presign" } do
      assert.is_truthy(html:find(fn, 1, true), fn)
    end
    -- Markdown keeps option names whole (no emphasis inside audit_path).
    assert.is_truthy(html:find("audit_path", 1, true))
    assert.is_nil(html:find("audit<em>", 1, true))
  end)

  it("the generated reference is not committed", function()
    local p = assert(io.popen("git check-ignore -q docs/api/index.html && echo ignored"))
    local out = p:read("a")
    p:close()
    assert.are.equal("ignored\n", out)
  end)
end)
