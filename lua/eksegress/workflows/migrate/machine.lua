--- One cluster's migration, as a step machine over the journal:
--
--     planned -> checked -> intent -> sent -> done
--        \          \           \        \-> failed
--         \-> refused \-> refused \-> failed (EKS refused the request)
--
-- apply and resume drive the same machine: whatever state the journal left a
-- cluster in, `run(ctx, c)` takes it from there to a terminal state, or
-- leaves it where an outcome cannot be known yet (the service unreachable
-- after every retry, Ctrl-C), for a later resume. The rules that make it
-- exactly-once:
--   * the intent (with its clientRequestToken) is on disk before the request
--     is sent; a journal that cannot be written stops the cluster first;
--   * a request is only ever sent with the token the plan derived, so EKS
--     answers a repeat with the same update, never a second one;
--   * when the response to the request is lost (a crash, a dropped
--     connection), EKS is asked first: an egress update the cluster did not
--     have when it was checked (the check record lists those it had), or the
--     mode already CUSTOMER_ROUTED; the request is sent again, with the same
--     token, only when EKS shows no sign of it, and never when EKS could not
--     be asked;
--   * the only request that changes anything is the plan's own, checked
--     against the plan byte for byte before it goes.
local document = require "eksegress.workflows.migrate.document"
local errors = require "eksegress.errors"
local canonical = require "eksegress.canonical"

local M = {}

local EGRESS_UPDATE = "ControlPlaneEgressUpdate"

--- The error a step returns when Ctrl-C ended it early (the cluster stays
-- where the journal says; a resume continues it).
M.STOPPED = "stopped"
local STOPPED = M.STOPPED

-- ctx (built by run.lua): plan, journal (writer), client(entry), emit(ev),
-- sleep(seconds) (returns early on Ctrl-C), now(), interrupted(),
-- stopping(), stop(reason, kind), stop_kind(), opts = {poll_seconds,
-- in_flight_timeout, verify_attempts, attempts, preflight, no_wait}.

local function emit(ctx, c, what, extra)
  local ev = { type = "cluster", key = c.key, name = c.entry.name, state = c.state, what = what }
  for k, v in pairs(extra or {}) do ev[k] = v end
  ctx.emit(ev)
end

-- Journal a record for c; a failure stops everything (nothing may go on
-- that the journal does not know).
local function record(ctx, c, rec)
  rec.key = c.key
  local ok, err = ctx.journal:append(rec)
  if not ok then
    ctx.stop("the journal cannot be written: " .. tostring(err and err.message or err), "journal")
    return nil, err
  end
  return true
end

local function list_of(v)
  local out = canonical.array()
  for i, x in ipairs(type(v) == "table" and v or {}) do out[i] = x end
  return out
end

local function region_opts(c)
  return { region = c.entry.region }
end

-- Errors worth trying again after a pause (eksegress.errors.transient).
local transient = errors.transient
M.transient = transient

-- The cluster's updates, as DescribeUpdate returns them: those InProgress,
-- every ControlPlaneEgressUpdate, and all of them by id.
local function updates_of(client, c)
  local ids, err = client:collect("eks", "ListUpdates", { name = c.entry.name }, region_opts(c))
  if not ids then return nil, err end
  local res = { in_flight = {}, egress = {}, by_id = {} }
  for _, id in ipairs(ids) do
    local out, derr = client:call("eks", "DescribeUpdate", { name = c.entry.name, updateId = id }, region_opts(c))
    if not out then return nil, derr end
    local u = out.update
    if type(u) == "table" and type(u.id) == "string" then
      res.by_id[u.id] = u
      if u.status == "InProgress" then res.in_flight[#res.in_flight + 1] = u end
      if u.type == EGRESS_UPDATE then res.egress[#res.egress + 1] = u end
    end
  end
  return res
end

local function describe(client, c)
  local out, err = client:call("eks", "DescribeCluster", { name = c.entry.name }, region_opts(c))
  if not out then return nil, err end
  if type(out.cluster) ~= "table" then return nil, errors.new("ParseError", "DescribeCluster returned no cluster") end
  return out.cluster
end

local mode_of = document.mode_of

local function ids_of(updates)
  local out = canonical.array()
  for i, u in ipairs(updates) do out[i] = u.id end
  return out
end

-- What changed since the plan (nil when nothing did), allowing for the
-- updates the plan itself showed in flight (see document.expected_state).
local function changes_since_plan(c, cluster, ups)
  local now = document.state_of(cluster, ids_of(ups.in_flight))
  local ended = {}
  for _, id in ipairs(c.entry.state.updates_in_flight or {}) do
    local u = ups.by_id[id]
    if u and u.status ~= "InProgress" then ended[#ended + 1] = u end
  end
  local expected = document.expected_state(c.entry.state, ended)
  if document.fingerprint(now) == document.fingerprint(expected) then return nil end
  return document.diff(expected, now)
end

-- c ends refused (journaled as a check record with that outcome).
local function refuse(ctx, c, outcome, detail, changes)
  c.state, c.reason = "refused", detail
  emit(ctx, c, outcome, { changes = changes })
  return record(ctx, c, { type = "check", outcome = outcome, detail = detail,
                          changes = changes and canonical.array(changes) or nil })
end

-- Read the cluster and its updates until nothing is in flight, refusing the
-- cluster when it is gone, no longer what the plan saw, or busy past the
-- limit. Returns "ok", cluster, updates | "refused" | nil, err.
local function settle(ctx, c, client)
  local deadline = ctx.now() + ctx.opts.in_flight_timeout
  while true do
    local cluster, err = describe(client, c)
    if not cluster then
      if err.code == "ResourceNotFoundException" then
        local ok, rerr = refuse(ctx, c, "gone", "the cluster no longer exists")
        if not ok then return nil, rerr end
        return "refused"
      end
      return nil, err
    end
    local ups, uerr = updates_of(client, c)
    if not ups then return nil, uerr end
    -- UPDATING with no update InProgress: an update ended between the two
    -- reads (the status follows a moment later). Read again; only past the
    -- deadline does that status count as a change.
    local settling = cluster.status == "UPDATING" and #ups.in_flight == 0 and ctx.now() < deadline
    local changes = not settling and changes_since_plan(c, cluster, ups)
    if changes then
      local ok, rerr = refuse(ctx, c, "stale", "stale plan: " .. table.concat(changes, "; "), changes)
      if not ok then return nil, rerr end
      return "refused"
    end
    if #ups.in_flight == 0 and not settling then return "ok", cluster, ups end
    local id = ups.in_flight[1] and ups.in_flight[1].id
    if id and c.waited ~= id then
      if not record(ctx, c, { type = "waiting", update_id = id }) then return nil, "journal" end
      c.waited = id
      emit(ctx, c, "waiting", { update_id = id })
    end
    if id and ctx.now() >= deadline then
      local ok, rerr = refuse(ctx, c, "busy", ("update %s was still in progress after %d s"):format(
        id, ctx.opts.in_flight_timeout))
      if not ok then return nil, rerr end
      return "refused"
    end
    if ctx.interrupted() then return nil, STOPPED end
    ctx.sleep(ctx.opts.poll_seconds)
  end
end

local function run_preflight(ctx, c, client, cluster)
  local ok, pf, perr = pcall(ctx.opts.preflight, client, c.entry, cluster)
  if not ok then return nil, errors.new("PreflightError", "the preflight failed: " .. tostring(pf)) end
  return pf, perr
end

-- planned | checked -> checked | refused: the cluster is read again and must
-- still be what the plan saw, with nothing in flight and no new blocking
-- preflight finding.
local function check(ctx, c, client)
  local how, cluster, ups = settle(ctx, c, client)
  if how == "refused" then return true end
  if how ~= "ok" then return nil, cluster end
  if ctx.opts.preflight then
    local pf, perr = run_preflight(ctx, c, client, cluster)
    if not pf then return nil, perr end
    if (tonumber(pf.blocking) or 0) > 0 then
      return refuse(ctx, c, "blocked", "new blocking preflight findings: "
        .. table.concat(type(pf.blocking_ids) == "table" and pf.blocking_ids or {}, ", "))
    end
  end
  c.state, c.egress_before = "checked", ids_of(ups.egress)
  emit(ctx, c, "checked")
  return record(ctx, c, { type = "check", outcome = "ok", egress_before = c.egress_before })
end

-- The request about to go must be the plan's, exactly (behind any path
-- prefix of the configured endpoint URL).
local function matches_plan(prepared, c)
  local want = c.entry.request
  if prepared.method ~= want.method or prepared.path:sub(-#want.path) ~= want.path then return false end
  local ok, body = pcall(require("cjson").decode, prepared.body or "")
  if not ok or type(body) ~= "table" then return false end
  return canonical.encode(body) == canonical.encode(want.body)
end

local function fail(ctx, c, reason, kind, extra)
  c.state, c.reason = "failed", reason
  ctx.stop(reason, kind or "failure")
  emit(ctx, c, "failed", { reason = reason })
  local rec = { type = "failed", reason = reason }
  for k, v in pairs(extra or {}) do rec[k] = v end
  return record(ctx, c, rec)
end

-- EKS's own verdicts on a request: nothing was started, and sending it again
-- cannot change the answer.
local VERDICTS = { InvalidParameterException = true, InvalidRequestException = true,
                   ResourceNotFoundException = true, ResourceLimitExceededException = true,
                   ClientException = true }

-- Send the plan's request (intent already journaled). Returns true when the
-- outcome is known and journaled, or nil, err, how: how = "uncertain" (the
-- update may or may not exist), "busy" (another update is in flight), or nil
-- (nothing was started, and trying again now would not help).
local function send(ctx, c, client)
  local prepared, perr = client:prepare("eks", "UpdateClusterConfig", {
    name = c.entry.name,
    resourcesVpcConfig = { controlPlaneEgressMode = document.TARGET_MODE },
    clientRequestToken = c.token,
  }, { region = c.entry.region, acknowledge = c.entry.name })
  if not prepared then return nil, perr end
  if not matches_plan(prepared, c) then
    return fail(ctx, c, "the request built for this cluster differs from the plan's")
  end
  local out, err = client:send(prepared)
  if out and out.noop then
    -- The guard saw the cluster already CUSTOMER_ROUTED: nothing was sent.
    c.state, c.already_done = "sent", true
    emit(ctx, c, "adopted", { note = "already " .. document.TARGET_MODE })
    return record(ctx, c, { type = "adopted", done = true, note = "already " .. document.TARGET_MODE })
  end
  if out then
    local u = out.update
    if type(u) ~= "table" or type(u.id) ~= "string" then
      return nil, errors.new("ParseError", "UpdateClusterConfig returned no update id"), "uncertain"
    end
    c.state, c.update_id = "sent", u.id
    emit(ctx, c, "sent", { update_id = u.id })
    return record(ctx, c, { type = "sent", update_id = u.id, status = u.status })
  end
  if err.guard then
    c.guard = true
    return fail(ctx, c, "refused by the guard: " .. tostring(err.message), "guard", { code = err.code, guard = true })
  end
  if err.code == "ResourceInUseException" then return nil, err, "busy" end
  if VERDICTS[err.code] then
    c.state, c.reason = "failed", ("%s: %s"):format(tostring(err.code), tostring(err.message))
    ctx.stop("EKS refused the update of " .. c.key .. ": " .. c.reason, "failure")
    emit(ctx, c, "failed", { reason = c.reason })
    return record(ctx, c, { type = "unsent", code = err.code, message = err.message })
  end
  if transient(err) or not err.status then return nil, err, "uncertain" end
  -- Any other answer (credentials, permissions): nothing was started, but it
  -- says nothing about the cluster. The intent stays; fix the cause and
  -- resume (which asks EKS first). No new update starts meanwhile.
  ctx.stop(("cannot update %s: %s"):format(c.key, tostring(err.message)), "error")
  return nil, err
end

local function created(u)
  local t = u.createdAt
  return tonumber(t) or (type(t) == "string" and t) or 0
end

-- intent without a known outcome (a crash, a lost response): ask EKS before
-- sending anything, then send again with the same token only if it shows no
-- sign of the update.
local function reconcile(ctx, c, client)
  local cluster, err = describe(client, c)
  if not cluster then return nil, err end
  local ups, uerr = updates_of(client, c)
  if not ups then return nil, uerr end
  local before = {}
  for _, id in ipairs(c.egress_before or {}) do before[id] = true end
  local new = {}
  for _, u in ipairs(ups.egress) do
    if not before[u.id] then new[#new + 1] = u end
  end
  if #new > 0 then
    table.sort(new, function(a, b)
      local ta, tb = created(a), created(b)
      if type(ta) == type(tb) and ta ~= tb then return ta > tb end
      return a.id > b.id
    end)
    c.state, c.update_id = "sent", new[1].id
    emit(ctx, c, "adopted", { update_id = c.update_id })
    return record(ctx, c, { type = "adopted", update_id = c.update_id })
  end
  if mode_of(cluster) == document.TARGET_MODE then
    c.state, c.already_done = "sent", true
    emit(ctx, c, "adopted", { note = "already " .. document.TARGET_MODE })
    return record(ctx, c, { type = "adopted", done = true })
  end
  emit(ctx, c, "resending")
  return send(ctx, c, client)
end

-- sent -> done | failed: poll the update, then verify the cluster.
local function finish(ctx, c, client)
  if not c.already_done then
    while true do
      local out, err = client:call("eks", "DescribeUpdate", { name = c.entry.name, updateId = c.update_id },
        region_opts(c))
      if not out then return nil, err end
      local u = type(out.update) == "table" and out.update or {}
      if u.status ~= c.last_status then
        c.last_status = u.status
        emit(ctx, c, "status", { status = u.status })
        if not record(ctx, c, { type = "status", update_id = c.update_id, status = u.status,
                                errors = list_of(u.errors) }) then
          return nil, "journal"
        end
      end
      if u.status == "Successful" then break end
      if u.status == "Failed" or u.status == "Cancelled" then
        local msgs = {}
        for _, e in ipairs(type(u.errors) == "table" and u.errors or {}) do
          if type(e) == "table" then
            msgs[#msgs + 1] = ("%s: %s"):format(tostring(e.errorCode), tostring(e.errorMessage))
          end
        end
        c.errors = list_of(u.errors)
        return fail(ctx, c, "update " .. u.status .. (#msgs > 0 and (": " .. table.concat(msgs, "; ")) or ""),
          "failure", { errors = c.errors, update_id = c.update_id })
      end
      if u.status ~= "InProgress" then
        return nil, errors.new("ParseError", "DescribeUpdate returned status " .. tostring(u.status))
      end
      if ctx.interrupted() then return nil, STOPPED end
      ctx.sleep(ctx.opts.poll_seconds)
    end
  end
  -- Verify: the mode read back, and the cluster ACTIVE again (both are
  -- eventually consistent after the update ends).
  local mode
  for attempt = 1, ctx.opts.verify_attempts do
    local cluster, err = describe(client, c)
    if not cluster then return nil, err end
    mode = mode_of(cluster)
    if mode == document.TARGET_MODE and cluster.status == "ACTIVE" then
      c.state = "done"
      emit(ctx, c, "done")
      return record(ctx, c, { type = "verified", mode = mode, status = cluster.status })
    end
    if ctx.interrupted() then return nil, STOPPED end
    if attempt < ctx.opts.verify_attempts then ctx.sleep(ctx.opts.poll_seconds) end
  end
  if mode ~= document.TARGET_MODE then
    return fail(ctx, c, ("verification: the cluster's mode is %s after a successful update"):format(tostring(mode)))
  end
  return nil, errors.new("VerifyTimeout", "the cluster did not return to ACTIVE")
end

-- After "busy" (an update started between the check and the send): wait it
-- out, make sure the cluster still is what the plan saw, and go again.
local function after_send(ctx, c, client, ok, err, how)
  if ok then return true end
  if how ~= "busy" then return nil, err, how end
  local s, serr = settle(ctx, c, client)
  if s == "refused" then return true end
  if not s then return nil, serr end
  return nil, err, "again"
end

-- One pass from c's current state as far as it can go.
local function advance(ctx, c, client)
  if c.state == "planned" or c.state == "checked" then
    if ctx.stopping() then return nil, STOPPED end
    local ok, err = check(ctx, c, client)
    if not ok then return nil, err end
    if c.state ~= "checked" then return true end
    if ctx.stopping() then return nil, STOPPED end
    c.token = document.token(ctx.plan.plan_id, c.key)
    local intent = { type = "intent", token = c.token,
                     request = { method = c.entry.request.method, path = c.entry.request.path } }
    if not record(ctx, c, intent) then return nil, "journal" end
    c.state = "intent"
    emit(ctx, c, "intent")
    local sok, serr, how = after_send(ctx, c, client, send(ctx, c, client))
    if not sok then return nil, serr, how end
  elseif c.state == "intent" then
    local sok, serr, how = after_send(ctx, c, client, reconcile(ctx, c, client))
    if not sok then return nil, serr, how end
  end
  if c.state == "sent" then
    if ctx.opts.no_wait and not c.canary then return true end
    return finish(ctx, c, client)
  end
  return true
end

--- Take cluster c as far as it can go: through to a terminal state, or
-- (with no_wait, for all but the canary) to an update sent. Errors that may
-- pass (throttling, 5xx, lost connections, a lost response) are tried again
-- after a pause, from wherever the cluster got to.
-- @treturn true when c reached a terminal state (or sent, with no_wait), or
--   nil, err when it stopped short (c.state says where; a resume continues
--   from there). err is M.STOPPED after Ctrl-C or a stop of the run.
function M.run(ctx, c)
  local err
  for attempt = 1, ctx.opts.attempts do
    local ok, e, how
    local client, cerr = ctx.client(c.entry)
    if client then ok, e, how = advance(ctx, c, client) else e = cerr end
    if ok then return true end
    err = e
    if e == STOPPED or ctx.interrupted() or ctx.stop_kind() == "journal" then break end
    if not (how == "uncertain" or how == "again" or transient(e)) then break end
    if attempt < ctx.opts.attempts then
      emit(ctx, c, "retrying", { error = type(e) == "table" and e.code or tostring(e) })
      if how ~= "again" then ctx.sleep(ctx.opts.poll_seconds * attempt) end
    end
  end
  return nil, err
end

return M
