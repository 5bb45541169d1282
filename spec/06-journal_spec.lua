-- The durable append-only journal through the binding (issue 9.3):
-- core.journal_open / j:append / j:sync / j:close / core.journal_read.
local core = require "eksegress.core"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -m 700 " .. d))
  return d
end

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

describe("journal", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  it("appends lines that journal_read returns in order", function()
    local path = dir .. "/j.jsonl"
    local j = assert(core.journal_open(path, { sync = true }))
    assert.is_true(j:append('{"step":1}'))
    assert.is_true(j:append(""))
    assert.is_true(j:append('{"step":"a\0b"}'))
    assert.is_true(j:sync())
    assert.are.equal(path, j:path())
    assert.matches("^eksegress.journal %(open%): ", tostring(j))
    assert.is_true(j:close())
    assert.is_true(j:close())              -- idempotent
    assert.is_true(j:is_closed())
    assert.are.equal(path, j:path())       -- still known once closed
    assert.error_matches(function() j:append("x") end, "attempt to use a closed journal", 1, true)
    local r = assert(core.journal_read(path))
    assert.are.same({ '{"step":1}', "", '{"step":"a\0b"}' }, r.lines)
    assert.is_false(r.torn)
    assert.are.equal(0, r.torn_bytes)
  end)

  it("reports a torn last line instead of returning it", function()
    local path = dir .. "/torn.jsonl"
    write_file(path, '{"n":1}\n{"n":2}\n{"n":')
    local r = assert(core.journal_read(path))
    assert.are.same({ '{"n":1}', '{"n":2}' }, r.lines)
    assert.is_true(r.torn)
    assert.are.equal(5, r.torn_bytes)
    -- a writer appending after a torn line would glue onto it: the lines it
    -- writes are whole, but the reader sees them after the fragment
    write_file(path, "")
    assert.are.same({ lines = {}, torn = false, torn_bytes = 0 }, assert(core.journal_read(path)))
  end)

  it("lets only one writer hold a file, also within one process", function()
    local path = dir .. "/locked.jsonl"
    local a = assert(core.journal_open(path))
    local b, err = core.journal_open(path)
    assert.is_nil(b)
    assert.are.equal("JournalLocked", err.code)
    assert.matches(path, err.message, 1, true)
    local s, serr = core.journal_open(path, { shared = true })
    assert.is_nil(s)
    assert.are.equal("JournalLocked", serr.code)
    a:close()
    local s1 = assert(core.journal_open(path, { shared = true }))
    local s2 = assert(core.journal_open(path, { shared = true }))
    assert.is_true(s1:append("one"))
    assert.is_true(s2:append("two"))
    local x, xerr = core.journal_open(path)
    assert.is_nil(x)
    assert.are.equal("JournalLocked", xerr.code)
    s1:close()
    s2:close()
    do
      local c <close> = assert(core.journal_open(path))
      assert.is_true(c:append("three"))
    end
    -- the <close> variable released the lock
    assert(core.journal_open(path)):close()
    assert.are.same({ "one", "two", "three" }, assert(core.journal_read(path)).lines)
  end)

  it("refuses FIFOs, devices and directories at once, and names unwritable paths", function()
    local fifo = dir .. "/fifo"
    assert(os.execute("mkfifo " .. fifo))
    local j, err = core.journal_open(fifo)
    assert.is_nil(j)
    assert.are.equal("NotARegularFile", err.code)
    assert.matches(fifo, err.message, 1, true)
    local r, rerr = core.journal_read(fifo)
    assert.is_nil(r)
    assert.are.equal("NotARegularFile", rerr.code)
    -- a device only read: opening one for writing would create a file if it went missing
    assert.are.equal("NotARegularFile", select(2, core.journal_read("/dev/zero")).code)
    assert.are.equal("NotARegularFile", select(2, core.journal_open(dir)).code)
    local n, nerr = core.journal_open("/dev/null/x.jsonl")
    assert.is_nil(n)
    assert.are.equal("IoError", nerr.code)
    assert.matches('cannot open "/dev/null/x.jsonl": Not a directory', nerr.message, 1, true)
    assert.matches("^IoError: ", tostring(nerr))
  end)

  it("reads within a size limit and says when a file is missing", function()
    local path = dir .. "/big.jsonl"
    write_file(path, "0123456789\n")
    assert.are.same({ "0123456789" }, assert(core.journal_read(path, { max_bytes = 11 })).lines)
    local r, err = core.journal_read(path, { max_bytes = 10 })
    assert.is_nil(r)
    assert.are.equal("FileTooLarge", err.code)
    local m, merr = core.journal_read(dir .. "/missing.jsonl")
    assert.is_nil(m)
    assert.are.equal("NotFound", merr.code)
  end)

  it("raises on misuse", function()
    local path = dir .. "/m.jsonl"
    local j = assert(core.journal_open(path))
    assert.error_matches(function() j:append("a\nb") end, "must not contain a newline", 1, true)
    assert.error_matches(function() j:append() end, "string expected")
    assert.error_matches(function() j.append("x") end, "journal expected")
    j:close()
    assert.error_matches(function() core.journal_open(path, { synk = true }) end,
      "journal_open: unknown option 'synk'", 1, true)
    assert.error_matches(function() core.journal_open(path, { sync = "yes" }) end,
      "field 'sync' must be a boolean", 1, true)
    assert.error_matches(function() core.journal_open(path .. "\0x") end,
      "field 'path' must not contain a NUL byte", 1, true)
    assert.error_matches(function() core.journal_read(path, { max_bytes = 0 }) end,
      "max_bytes must be a positive integer", 1, true)
    assert.error_matches(function() core.journal_read(path, { max_bytes = "1" }) end,
      "field 'max_bytes' must be an integer", 1, true)
    assert.error_matches(function() core.journal_open() end, "string expected")
  end)
end)

describe("the binding's userdata (issue 9.4)", function()
  it("keeps one metatable per type across a re-require", function()
    local dir = tmpdir()
    finally(function() os.execute("rm -rf " .. dir) end)
    local j = assert(core.journal_open(dir .. "/a.jsonl"))
    local e = assert(core.engine_new{})
    local mj, me = getmetatable(j), getmetatable(e)
    package.loaded["eksegress.core"] = nil
    local again = require "eksegress.core"
    package.loaded["eksegress.core"] = core
    local j2 = assert(again.journal_open(dir .. "/b.jsonl"))
    local e2 = assert(again.engine_new{})
    assert.are.equal(mj, getmetatable(j2))
    assert.are.equal(me, getmetatable(e2))
    assert.are.equal("eksegress.journal", mj.__name)
    assert.are.equal("eksegress.engine", me.__name)
    -- the first objects still work
    assert.is_true(j:append("x"))
    for _, o in ipairs({ j, j2, e, e2 }) do o:close() end
  end)

  it("has one version, from the core", function()
    assert.matches("^%d+%.%d+%.%d+$", core.version)
  end)
end)
