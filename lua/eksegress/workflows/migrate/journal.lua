--- The migration journal: the only Lua user of the core's durable writer.
--
-- Append-only JSON lines ("schema": "eksegress/journal/1" on the first;
-- docs/schemas/journal.schema.json), each written with one write() and
-- fsync'd before the step it records goes on, under an exclusive lock so two
-- applies can never share a journal. The first line embeds the whole plan,
-- so a journal alone is enough to resume and nothing outside the plan can
-- ever be sent.
--
-- Record types, per cluster key:
--   check    {outcome = "ok"|"stale"|"blocked"|"gone"|"busy", detail,
--             changes, egress_before}   re-read before sending; egress_before
--             lists the egress updates the cluster already had, so a resume
--             never mistakes an old one for the update this run sent
--   waiting  {update_id}             an update in flight is waited out
--   intent   {token, request}        BEFORE the request is sent
--   sent     {update_id, status}     the response to the request
--   unsent   {code, message}         EKS refused it (nothing was started)
--   adopted  {update_id | done}      EKS showed the update (or the mode) after
--                                    a response was lost
--   status   {update_id, status, errors}   each status seen while waiting
--   verified {mode, status}          DescribeCluster after Successful: done
--   failed   {reason, errors}        this cluster failed (stops new starts)
-- and run-level: begin {plan, options}, stop {reason, kind}, resume
-- {torn_bytes}, end {summary}.
--
-- replay(records) rebuilds each cluster's state from these records; it is
-- pure and never raises: a torn last line (a crash mid-write) is dropped by
-- the reader, anything else malformed is an InvalidJournal error naming the
-- record.
local cjson = require "cjson"
local canonical = require "eksegress.canonical"

local M = {}

M.SCHEMA = "eksegress/journal/1"

-- States of a cluster, in order. Terminal: done, failed, refused.
M.STATES = { "planned", "checked", "intent", "sent", "done", "failed", "refused" }

local TERMINAL = { done = true, failed = true, refused = true }
M.TERMINAL = TERMINAL

-- Stops that hold for every later resume: a cluster failed, or the guard
-- refused. An interruption, a journal that could not be written and a canary
-- that has not finished yet are taken up again by resume.
M.STICKY_STOPS = { failure = true, guard = true }

local function now_rfc3339(clock)
  local t = clock and clock() or os.time()
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

local Writer = {}
Writer.__index = Writer

--- Open (create) a journal for writing: locked, append-only, fsync per line.
-- @treturn writer, or nil, err (JournalLocked, IoError, NotARegularFile)
function M.open(path, opts)
  opts = opts or {}
  local core = require "eksegress.core"
  local j, err = core.journal_open(path, { sync = opts.sync ~= false })
  if not j then return nil, err end
  return setmetatable({ j = j, path = path, seq = opts.seq or 0, clock = opts.clock }, Writer)
end

--- Append one record (a table); it is on disk when this returns true.
-- The sequence number advances only when the line is written, so a failed
-- append never leaves a gap that would make the journal unreadable.
-- @treturn true, or nil, err (the caller must stop: nothing may be sent
--   that could not be journaled first)
function Writer:append(rec)
  rec.seq = self.seq + 1
  rec.time = rec.time or now_rfc3339(self.clock)
  local ok, line = pcall(canonical.encode, rec)
  if not ok then return nil, { code = "JournalError", message = "cannot encode a journal record: " .. line } end
  local wok, werr = self.j:append(line)
  if not wok then return nil, werr end
  self.seq = rec.seq
  return true
end

function Writer:close()
  if self.j then self.j:close() end
end

--- Read a journal's records.
-- @treturn table {records = {...}, torn = bool, torn_bytes}, or nil, err
function M.read(path, opts)
  opts = opts or {}
  local core = require "eksegress.core"
  local res, err = core.journal_read(path, { max_bytes = opts.max_bytes or 256 * 1024 * 1024 })
  if not res then return nil, err end
  local records = {}
  for i, line in ipairs(res.lines) do
    local ok, rec = pcall(cjson.decode, line)
    if not ok or type(rec) ~= "table" then
      return nil, { code = "InvalidJournal", message = ("%s: line %d is not a JSON object"):format(path, i) }
    end
    records[#records + 1] = rec
  end
  return { records = records, torn = res.torn, torn_bytes = res.torn_bytes }
end

-- Run-level records that change no cluster's state.
local INFORMATIONAL = { ["end"] = true, resume = true, note = true }

local function bad(i, msg)
  return nil, { code = "InvalidJournal", message = ("record %d: %s"):format(i, msg) }
end

local function opt_string(v)
  return v == nil or v == cjson.null or type(v) == "string"
end

local function string_list(v)
  if type(v) ~= "table" then return false end
  for _, x in pairs(v) do if type(x) ~= "string" then return false end end
  return true
end

-- Apply one cluster record r (index i) to c; returns nil or an error message.
local function apply_record(c, r)
  local t = r.type
  if t == "check" then
    if r.outcome == "ok" then
      if c.state ~= "planned" and c.state ~= "checked" then return "check ok after the intent" end
      if r.egress_before ~= nil and not string_list(r.egress_before) then
        return "check with a malformed egress_before"
      end
      c.state, c.egress_before = "checked", r.egress_before or {}
    else
      if not opt_string(r.detail) then return "check with a malformed detail" end
      c.state, c.reason = "refused", r.detail or tostring(r.outcome)
    end
  elseif t == "waiting" then
    c.waited = r.update_id
  elseif t == "intent" then
    if type(r.token) ~= "string" then return "intent without a token" end
    c.state, c.token = "intent", r.token
  elseif t == "sent" or t == "adopted" then
    if c.state ~= "intent" then return t .. " record without an intent before it" end
    if r.done == true then
      c.state, c.already_done = "sent", true
    else
      if type(r.update_id) ~= "string" then return t .. " without an update id" end
      c.state, c.update_id = "sent", r.update_id
    end
  elseif t == "unsent" then
    c.state, c.reason = "failed", ("%s: %s"):format(tostring(r.code), tostring(r.message))
  elseif t == "status" then
    if not opt_string(r.status) then return "status with a malformed status" end
    c.last_status, c.errors = r.status, r.errors
  elseif t == "verified" then
    if c.state ~= "sent" then return "verified record for a cluster with no update" end
    c.state = "done"
  elseif t == "failed" then
    if not opt_string(r.reason) then return "failed with a malformed reason" end
    c.state, c.reason, c.errors, c.guard = "failed", r.reason, r.errors, r.guard == true or nil
  else
    return "unknown record type " .. t
  end
  return nil
end

--- Rebuild the run from its records (pure; never raises).
-- @treturn table {plan, options, clusters = {key -> state}, order = {keys},
--   stopped = reason|nil, stop_kind, interrupted, last_seq}, or nil, err
function M.replay(records)
  if type(records) ~= "table" then return bad(1, "no records") end
  local first = records[1]
  if type(first) ~= "table" or first.type ~= "begin" then
    return bad(1, "a journal starts with a begin record")
  end
  if first.schema ~= M.SCHEMA then
    return bad(1, ("schema %q; this eksegress reads %q"):format(tostring(first.schema), M.SCHEMA))
  end
  if type(first.plan) ~= "table" or type(first.plan.clusters) ~= "table" then
    return bad(1, "the begin record has no plan")
  end
  local first_seq = first.seq == nil and 1 or math.tointeger(first.seq)
  if not first_seq then return bad(1, "a malformed sequence number") end
  local options = type(first.options) == "table" and first.options or {}
  local run = { plan = first.plan, options = options, clusters = {}, order = {},
                last_seq = first_seq }
  for i, c in ipairs(first.plan.clusters) do
    if type(c) ~= "table" then return bad(1, ("the plan's cluster #%d is not an object"):format(i)) end
    if c.action == "migrate" then
      if type(c.key) ~= "string" then return bad(1, ("the plan's cluster #%d has no key"):format(i)) end
      if run.clusters[c.key] then return bad(1, "the plan holds " .. c.key .. " twice") end
      run.clusters[c.key] = { key = c.key, state = "planned", entry = c }
      run.order[#run.order + 1] = c.key
    end
  end
  for i = 2, #records do
    local r = records[i]
    if type(r) ~= "table" or type(r.type) ~= "string" then return bad(i, "no type") end
    if r.seq ~= nil and r.seq ~= run.last_seq + 1 then
      return bad(i, ("sequence %s after %s: records are missing or out of order"):format(
        tostring(r.seq), tostring(run.last_seq)))
    end
    run.last_seq = run.last_seq + 1
    if r.type == "stop" then
      if r.kind == "interrupted" then
        run.interrupted = true
      elseif M.STICKY_STOPS[r.kind] then
        run.stopped, run.stop_kind = tostring(r.reason or "stopped"), r.kind
      end
    elseif r.type == "begin" then
      return bad(i, "a second begin record")
    elseif not INFORMATIONAL[r.type] then
      local c = type(r.key) == "string" and run.clusters[r.key] or nil
      if not c then
        return bad(i, ("%s record for %s, which the plan does not migrate"):format(r.type, tostring(r.key)))
      end
      if TERMINAL[c.state] then
        return bad(i, ("%s record for %s after it ended (%s)"):format(r.type, r.key, c.state))
      end
      local why = apply_record(c, r)
      if why then return bad(i, why) end
    end
  end
  return run
end

--- Counts by state, and whether anything is left to do.
function M.summary(run)
  local s = { planned = 0, checked = 0, intent = 0, sent = 0, done = 0, failed = 0, refused = 0 }
  for _, key in ipairs(run.order) do
    local st = run.clusters[key].state
    s[st] = s[st] + 1
  end
  s.total = #run.order
  s.open = s.total - s.done - s.failed - s.refused
  return s
end

return M
