--- The migration journal: the only Lua user of the core's durable writer.
--
-- Append-only JSON lines ("schema": "eksegress/journal/1" on the first),
-- each written with one write() and fsync'd before the step it records goes
-- on, under an exclusive lock so two applies can never share a journal. The
-- first line embeds the whole plan, so a journal alone is enough to resume
-- and nothing outside the plan can ever be sent.
--
-- Record types, per cluster key:
--   check    {outcome = "ok"|"stale"|"blocked"|"gone", detail}   re-read before sending
--   waiting  {update_id}             an update in flight is waited out
--   intent   {token, request}        BEFORE the request is sent
--   sent     {update_id, status}     the response to the request
--   unsent   {code, message}         EKS refused it (nothing was started)
--   adopted  {update_id | done}      resume found the update (or the mode) in EKS
--   status   {update_id, status, errors}   each status seen while waiting
--   verified {mode, status}          DescribeCluster after Successful: done
--   failed   {reason, errors}        this cluster failed (stops new starts)
-- and run-level: begin {plan, options}, stop {reason}, end {summary}.
--
-- replay(lines) rebuilds each cluster's state from these records; it is pure
-- and tolerant: a torn last line (a crash mid-write) is dropped, anything
-- else malformed is an InvalidJournal error naming the line.
local cjson = require "cjson"
local canonical = require "eksegress.canonical"

local M = {}

M.SCHEMA = "eksegress/journal/1"

-- States of a cluster, in order. Terminal: done, failed, refused.
M.STATES = { "planned", "checked", "intent", "sent", "done", "failed", "refused" }

local TERMINAL = { done = true, failed = true, refused = true }
M.TERMINAL = TERMINAL

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
-- @treturn true, or nil, err (the caller must stop: nothing may be sent
--   that could not be journaled first)
function Writer:append(rec)
  self.seq = self.seq + 1
  rec.seq = self.seq
  rec.time = rec.time or now_rfc3339(self.clock)
  local ok, line = pcall(canonical.encode, rec)
  if not ok then return nil, { code = "JournalError", message = "cannot encode a journal record: " .. line } end
  local wok, werr = self.j:append(line)
  if not wok then return nil, werr end
  return true
end

function Writer:close()
  if self.j then self.j:close() end
end

--- Read a journal's records.
-- @treturn table {records = {...}, torn = bool}, or nil, err
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

local function bad(i, msg)
  return nil, { code = "InvalidJournal", message = ("record %d: %s"):format(i, msg) }
end

--- Rebuild the run from its records (pure).
-- @treturn table {plan, options, clusters = {key -> state}, order = {keys},
--   stopped = reason|nil, ended = bool, last_seq}, or nil, err
function M.replay(records)
  local first = records[1]
  if type(first) ~= "table" or first.type ~= "begin" then
    return bad(1, "a journal starts with a begin record")
  end
  if first.schema ~= M.SCHEMA then
    return bad(1, ("schema %q; this eksegress reads %q"):format(tostring(first.schema), M.SCHEMA))
  end
  if type(first.plan) ~= "table" then return bad(1, "the begin record has no plan") end
  local run = { plan = first.plan, options = first.options or {}, clusters = {}, order = {},
                last_seq = first.seq or 1, ended = false }
  for _, c in ipairs(first.plan.clusters or {}) do
    if c.action == "migrate" then
      run.clusters[c.key] = { key = c.key, state = "planned", entry = c, statuses = {} }
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
    run.last_seq = r.seq or run.last_seq + 1
    if r.type == "stop" then
      run.stopped = r.reason or "stopped"
    elseif r.type == "end" then
      run.ended = true
    elseif r.type == "resume" or r.type == "note" then
      -- informational
    else
      local c = run.clusters[r.key]
      if not c then return bad(i, ("%s record for %s, which the plan does not migrate"):format(r.type, tostring(r.key))) end
      if TERMINAL[c.state] then
        return bad(i, ("%s record for %s after it ended (%s)"):format(r.type, r.key, c.state))
      end
      if r.type == "check" then
        if r.outcome == "ok" then c.state = "checked" else c.state, c.reason = "refused", r.detail or r.outcome end
      elseif r.type == "waiting" then
        c.waited = r.update_id
      elseif r.type == "intent" then
        if type(r.token) ~= "string" then return bad(i, "intent without a token") end
        c.state, c.token = "intent", r.token
      elseif r.type == "sent" or r.type == "adopted" then
        if r.done then
          c.state = "sent"
          c.already_done = true
        else
          if type(r.update_id) ~= "string" then return bad(i, r.type .. " without an update id") end
          c.state, c.update_id = "sent", r.update_id
        end
      elseif r.type == "unsent" then
        c.state, c.reason = "failed", ("%s: %s"):format(tostring(r.code), tostring(r.message))
      elseif r.type == "status" then
        c.statuses[#c.statuses + 1] = r.status
        c.last_status, c.errors = r.status, r.errors
      elseif r.type == "verified" then
        c.state = "done"
      elseif r.type == "failed" then
        c.state, c.reason, c.errors = "failed", r.reason, r.errors
      else
        return bad(i, "unknown record type " .. r.type)
      end
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
