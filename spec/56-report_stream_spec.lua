-- Streaming reports (report.stream, report.export, report.sink): the json
-- and csv writers hand their bytes on a chunk at a time instead of building
-- one string, and must write exactly the bytes of the encoder they replaced
-- (golden/*: written by that encoder, before it streamed); a report file
-- that fails half way is never left behind, whole or in part.
local cjson = require "cjson"
local report = require "eksegress.report"
local json = require "eksegress.report.json"
local sink = require "eksegress.report.sink"
local fx = require "helpers.fixtures"
local R = require "helpers.reports"

local GOLDEN = R.DIR .. "golden/"
local fleet = dofile(R.DIR .. "make_fleet.lua")

-- name -> {kind, format, document, options}
local CASES = {
  ["fleet.json"] = { "audit", "json", fleet, nil },
  ["fleet.compact.json"] = { "audit", "json", fleet, { pretty = false } },
  ["fleet.indent0.json"] = { "audit", "json", fleet, { indent = 0 } },
  ["fleet.csv"] = { "audit", "csv", fleet, nil },
  ["audit.json"] = { "audit", "json", function() return R.load("audit.json") end, nil },
  ["audit.csv"] = { "audit", "csv", function() return R.load("audit.json") end, nil },
  ["preflight.json"] = { "preflight", "json", function() return R.load("preflight.json") end, nil },
  ["preflight.csv"] = { "preflight", "csv", function() return R.load("preflight.json") end, nil },
}
local NAMES = {}
for name in pairs(CASES) do NAMES[#NAMES + 1] = name end
table.sort(NAMES)

-- Streams a case with chunks of `size` bytes; returns the text and the chunks.
local function stream(case, size)
  local saved = sink.SIZE
  sink.SIZE = size or saved
  local chunks = {}
  local ok, err = pcall(report.stream, case[1], case[2], case[3](), case[4], function(chunk)
    chunks[#chunks + 1] = chunk
    return true
  end)
  sink.SIZE = saved
  assert(ok, err)
  return table.concat(chunks), chunks
end

describe("report streaming", function()
  for _, name in ipairs(NAMES) do
    it(name .. ": render and stream write the golden bytes, whatever the chunk size", function()
      local case, golden = CASES[name], fx.read(GOLDEN .. name)
      assert.are.equal(golden, report.render(case[1], case[2], case[3](), case[4]))
      for _, size in ipairs{ 1, 7, 4096, sink.SIZE } do
        local text = stream(case, size)
        assert.are.equal(golden, text, ("chunk size %d"):format(size))
      end
    end)
  end

  it("json.encode with script_safe (the HTML report's embedded document) writes the golden bytes", function()
    assert.are.equal(fx.read(GOLDEN .. "fleet.script_safe.json"),
      json.encode(fleet(), { pretty = false, script_safe = true }))
  end)

  it("never holds the report as one string: chunks stay near the chunk size", function()
    local text, chunks = stream(CASES["fleet.json"], 1024)
    assert.is_true(#chunks >= #text // 2048, ("%d chunks for %d bytes"):format(#chunks, #text))
    for i, c in ipairs(chunks) do
      -- A chunk closes once it reaches the size; the piece that crossed it
      -- (one quoted value at most) is all that can be over.
      assert.is_true(#c < 1024 + 512, ("chunk %d is %d bytes"):format(i, #c))
    end
  end)

  it("stops at the first failed write and returns its error", function()
    local saved, calls = sink.SIZE, 0
    sink.SIZE = 512
    local ok, err = report.stream("audit", "json", fleet(), nil, function()
      calls = calls + 1
      if calls == 3 then return nil, "No space left on device", 28 end
      return true
    end)
    sink.SIZE = saved
    assert.is_nil(ok)
    assert.are.equal("No space left on device", err)
    assert.are.equal(3, calls)
  end)

  it("raises, as render does, on a document it cannot encode", function()
    local doc = fleet()
    doc.clusters[30].status = function() end
    local ok, err = pcall(report.stream, "audit", "json", doc, nil, function() return true end)
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("cannot encode a function", 1, true), tostring(err))
    assert.has_error(function() report.stream("audit", "json", doc, nil, "stdout") end,
      "report.stream: write must be a function")
  end)
end)

describe("report files written a chunk at a time", function()
  local dir
  before_each(function() dir = R.temp_dir() end)
  after_each(function() R.remove_dir(dir) end)

  local function listing()
    local p = assert(io.popen("ls -A " .. dir))
    local names = p:read("a")
    p:close()
    return (names:gsub("%s+$", ""))
  end

  it("export writes the golden bytes (json and csv)", function()
    for _, name in ipairs{ "fleet.json", "fleet.csv" } do
      local saved = sink.SIZE
      sink.SIZE = 100
      local ok, err = report.export(dir .. "/" .. name, "audit", fleet())
      sink.SIZE = saved
      assert.is_true(ok, err)
      assert.are.equal(fx.read(GOLDEN .. name), fx.read(dir .. "/" .. name))
    end
    assert.are.equal("fleet.csv\nfleet.json", listing())
  end)

  it("a document that raises half way leaves the old report and no temporary file", function()
    local path = dir .. "/fleet.json"
    local f = assert(io.open(path, "wb"))
    f:write("the previous report")
    f:close()
    local doc = fleet()
    doc.errors[1].retryable = function() end -- after every cluster: chunks were written
    local saved = sink.SIZE
    sink.SIZE = 100
    local ok, err = pcall(report.export, path, "audit", doc)
    sink.SIZE = saved
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("cannot encode a function", 1, true), tostring(err))
    assert.are.equal("the previous report", fx.read(path))
    assert.are.equal("fleet.json", listing())
  end)

  it("a full disk (a 16 KiB tmpfs) fails the export with ExportFailed and leaves no file", function()
    local probe = io.popen("unshare -m true 2>&1; echo rc=$?")
    local can = probe:read("a"):find("rc=0", 1, true)
    probe:close()
    if not can then return pending("unshare -m is not available") end
    -- The golden fleet report is 31 KB: it cannot fit, so the writer fails
    -- part way, after chunks of it reached the disk.
    local script = ([[
      local report = require "eksegress.report"
      local sink = require "eksegress.report.sink"
      sink.SIZE = 4096
      local ok, err = report.export(%q, "audit", dofile(%q)())
      io.write(tostring(ok), "\n", err and err.code or "", "\n", err and err.message or "", "\n")
    ]]):format(dir .. "/mnt/fleet.json", R.DIR .. "make_fleet.lua")
    local script_path = dir .. "/export.lua"
    local sf = assert(io.open(script_path, "wb"))
    sf:write(script)
    sf:close()
    assert(os.execute("mkdir " .. dir .. "/mnt"))
    local cmd = ("unshare -m sh -c 'mount -t tmpfs -o size=16k tmpfs %s/mnt && "
      .. "LUA_PATH=\"lua/?.lua;lua/?/init.lua;;\" lua5.4 %s; echo files:; ls -A %s/mnt' 2>&1")
      :format(dir, script_path, dir)
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    p:close()
    local lines = {}
    for line in out:gmatch("[^\n]*") do lines[#lines + 1] = line end
    assert.are.equal("nil", lines[1], out)
    assert.are.equal("ExportFailed", lines[2], out)
    assert.is_truthy(out:find("No space left on device", 1, true), out)
    assert.is_truthy(out:find("files:\n$", 1) or out:find("files:$", 1), "a file was left behind: " .. out)
    -- Outside the namespace the folder was never written to.
    assert.are.equal("export.lua\nmnt", listing())
  end)
end)

describe("report.sink", function()
  it("collect joins every chunk; run passes write's error and re-raises others", function()
    local saved = sink.SIZE
    sink.SIZE = 3
    assert.are.equal("abcdefg", sink.collect(function(s)
      for c in ("abcdefg"):gmatch(".") do sink.put(s, c) end
    end))
    local seen = {}
    assert.is_true(sink.run(function(chunk) seen[#seen + 1] = chunk return true end, function(s)
      for c in ("abcdefg"):gmatch(".") do sink.put(s, c) end
    end))
    sink.SIZE = saved
    assert.are.same({ "abc", "def", "g" }, seen)
    local ok, err = sink.run(function() return nil end, function(s) sink.put(s, "x") end)
    assert.is_nil(ok)
    assert.are.equal("write failed", err)
    assert.has_error(function() sink.run(function() return true end, function() error("boom", 0) end) end, "boom")
  end)

  it("the streamed document decodes to the document", function()
    local text = stream(CASES["audit.json"], 64)
    assert.are.same(cjson.decode(fx.read(GOLDEN .. "audit.json")), cjson.decode(text))
  end)
end)
