--- One cluster's migration, as a step machine over the journal:
--
--     planned -> checked -> intent -> sent -> done
--                   \           \        \-> failed
--                    \-> refused  \-> failed (EKS refused the request)
--
-- apply and resume drive the same machine: whatever state the journal left a
-- cluster in, `run(ctx, c)` takes it from there to a terminal state, or
-- leaves it where an outcome cannot be known yet (the service unreachable),
-- for a later resume. The rules that make it exactly-once:
--   * the intent (with its clientRequestToken) is on disk before the request
--     is sent; a journal that cannot be written stops the cluster first;
--   * a request is only ever sent with the token the plan derived, so EKS
--     answers a repeat with the same update, never a second one;
--   * after a crash between intent and response, EKS is asked first (the
--     cluster's mode, its updates); the request is re-sent, with the same
--     token, only when EKS shows no sign of it;
--   * the only request that changes anything is the plan's own, checked
--     against the plan byte for byte before it goes.
local document = require "eksegress.workflows.migrate.document"
local errors = require "eksegress.errors"

local M = {}

local EGRESS_UPDATE = "ControlPlaneEgressUpdate"

-- ctx: {journal, client(entry) -> client, opts = {poll_seconds, in_flight_timeout,
--        verify_attempts, preflight = function(client, entry) -> {blocking, ...} | nil, err},
--        emit(ev), sleep(seconds), stop(reason, kind), stopping() -> bool}

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

local function region_opts(c)
  return { region = c.entry.region }
end

-- The updates of a cluster that are InProgress (ids), and any
-- ControlPlaneEgressUpdate seen (for resume).
local function updates_of(client, c)
  local ids, err = client:collect("eks", "ListUpdates", { name = c.entry.name }, region_opts(c))
  if not ids then return nil, err end
  local in_flight, egress = {}, {}
  for _, id in ipairs(ids) do
    local out, derr = client:call("eks", "DescribeUpdate", { name = c.entry.name, updateId = id }, region_opts(c))
    if not out then return nil, derr end
    local u = out.update
    if type(u) == "table" then
      if u.status == "InProgress" then in_flight[#in_flight + 1] = u.id end
      if u.type == EGRESS_UPDATE then egress[#egress + 1] = u end
    end
  end
  return in_flight, egress
end

local function describe(client, c)
  local out, err = client:call("eks", "DescribeCluster", { name = c.entry.name }, region_opts(c))
  if not out then return nil, err end
  if type(out.cluster) ~= "table" then return nil, errors.new("ParseError", "DescribeCluster returned no cluster") end
  return out.cluster
end

-- Wait until no update of the cluster is InProgress (someone else's, or an
-- automatic platform update), journaling what is waited for.
local function wait_in_flight(ctx, c, client, first_ids)
  local deadline = ctx.now() + ctx.opts.in_flight_timeout
  local ids = first_ids
  while #ids > 0 do
    if c.waited ~= ids[1] then
      if not record(ctx, c, { type = "waiting", update_id = ids[1] }) then return nil end
      c.waited = ids[1]
      emit(ctx, c, "waiting", { update_id = ids[1] })
    end
    if ctx.now() >= deadline then
      return nil, ("update %s was still in progress after %d s"):format(ids[1], ctx.opts.in_flight_timeout)
    end
    if ctx.stopping() then return nil, "stopped" end
    ctx.sleep(ctx.opts.poll_seconds)
    local err
    ids, err = updates_of(client, c)
    if not ids then return nil, "cannot list the cluster's updates: " .. tostring(err and err.message) end
  end
  return true
end

-- planned -> checked | refused: the cluster is read again and must still be
-- what the plan saw (fingerprint), with no new blocking preflight finding.
local function check(ctx, c, client)
  local cluster, err = describe(client, c)
  if not cluster then
    if err and err.code == "ResourceNotFoundException" then
      c.state, c.reason = "refused", "the cluster no longer exists"
      return record(ctx, c, { type = "check", outcome = "gone", detail = c.reason })
    end
    return nil, err
  end
  local in_flight, uerr = updates_of(client, c)
  if not in_flight then return nil, uerr end
  local state = document.state_of(cluster, in_flight)
  if document.fingerprint(state) ~= c.entry.fingerprint then
    local changes = document.diff(c.entry.state, state)
    c.state, c.reason = "refused", "stale plan: " .. table.concat(changes, "; ")
    emit(ctx, c, "stale", { changes = changes })
    return record(ctx, c, { type = "check", outcome = "stale", detail = c.reason, changes = changes })
  end
  if ctx.opts.preflight then
    local pf, perr = ctx.opts.preflight(client, c.entry, cluster)
    if not pf then return nil, perr end
    if (pf.blocking or 0) > 0 then
      c.state, c.reason = "refused", "new blocking preflight findings: " .. table.concat(pf.blocking_ids or {}, ", ")
      return record(ctx, c, { type = "check", outcome = "blocked", detail = c.reason })
    end
  end
  if #in_flight > 0 then
    local ok, werr = wait_in_flight(ctx, c, client, in_flight)
    if not ok then
      if werr == "stopped" or werr == nil then return nil, werr end
      c.state, c.reason = "refused", werr
      return record(ctx, c, { type = "check", outcome = "busy", detail = werr })
    end
  end
  c.state = "checked"
  emit(ctx, c, "checked")
  return record(ctx, c, { type = "check", outcome = "ok" })
end

local function request_params(c)
  return {
    name = c.entry.name,
    resourcesVpcConfig = { controlPlaneEgressMode = document.TARGET_MODE },
    clientRequestToken = c.token,
  }
end

-- The request about to go must be the plan's, exactly.
local function matches_plan(prepared, c)
  local want = c.entry.request
  if prepared.method ~= want.method or prepared.path ~= want.path then return false end
  local cjson = require "cjson"
  local ok, body = pcall(cjson.decode, prepared.body or "")
  if not ok or type(body) ~= "table" then return false end
  local canonical = require "eksegress.canonical"
  return canonical.encode(body) == canonical.encode(want.body)
end

-- Send the plan's request (intent already journaled). Returns true when
-- the outcome is known and journaled, or nil, err, uncertain.
local function send(ctx, c, client)
  local prepared, perr = client:prepare("eks", "UpdateClusterConfig", request_params(c),
    { region = c.entry.region, acknowledge = c.entry.name })
  if not prepared then return nil, perr end
  if not matches_plan(prepared, c) then
    c.state, c.reason = "failed", "the request built for this cluster differs from the plan's"
    ctx.stop(c.reason, "failure")
    return record(ctx, c, { type = "failed", reason = c.reason })
  end
  local out, err = client:send(prepared)
  if out and out.noop then
    -- The guard saw the cluster already CUSTOMER_ROUTED: nothing was sent.
    c.state, c.already_done = "sent", true
    return record(ctx, c, { type = "adopted", done = true, note = "already " .. document.TARGET_MODE })
  end
  if out then
    local u = out.update
    if type(u) ~= "table" or type(u.id) ~= "string" then
      return nil, errors.new("ParseError", "UpdateClusterConfig returned no update id"), true
    end
    c.state, c.update_id = "sent", u.id
    emit(ctx, c, "sent", { update_id = u.id })
    return record(ctx, c, { type = "sent", update_id = u.id, status = u.status })
  end
  if err.guard then
    c.state, c.reason = "failed", "refused by the guard: " .. tostring(err.message)
    c.guard = true
    ctx.stop(c.reason, "guard")
    return record(ctx, c, { type = "failed", reason = c.reason, code = err.code, guard = true })
  end
  if err.code == "ResourceInUseException" then
    return nil, err, "busy"
  end
  if err.status and err.status >= 400 and err.status < 500 and not err.retryable then
    -- EKS answered and started nothing.
    c.state, c.reason = "failed", ("%s: %s"):format(tostring(err.code), tostring(err.message))
    ctx.stop("EKS refused the update of " .. c.key, "failure")
    return record(ctx, c, { type = "unsent", code = err.code, message = err.message })
  end
  -- No answer we can trust (connection lost after retries, 5xx, throttled
  -- to the end): the update may or may not exist.
  return nil, err, true
end

-- intent without an update id (a crash, or a lost response): ask EKS before
-- sending anything, then re-send with the same token only if it shows no sign.
local function reconcile(ctx, c, client)
  local cluster, err = describe(client, c)
  if not cluster then return nil, err end
  local vpc = type(cluster.resourcesVpcConfig) == "table" and cluster.resourcesVpcConfig or {}
  local _, egress = updates_of(client, c)
  if egress and #egress > 0 then
    table.sort(egress, function(a, b) return (tonumber(a.createdAt) or 0) > (tonumber(b.createdAt) or 0) end)
    c.state, c.update_id = "sent", egress[1].id
    emit(ctx, c, "adopted", { update_id = c.update_id })
    return record(ctx, c, { type = "adopted", update_id = c.update_id })
  end
  if vpc.controlPlaneEgressMode == document.TARGET_MODE then
    c.state, c.already_done = "sent", true
    return record(ctx, c, { type = "adopted", done = true })
  end
  emit(ctx, c, "resending")
  return send(ctx, c, client)
end

-- sent -> done | failed: poll the update, then verify the cluster.
local function finish(ctx, c, client)
  if not c.already_done then
    local last = c.last_status
    while true do
      local out, err = client:call("eks", "DescribeUpdate", { name = c.entry.name, updateId = c.update_id },
        region_opts(c))
      if not out then return nil, err end
      local u = out.update or {}
      if u.status ~= last then
        last = u.status
        c.last_status = last
        emit(ctx, c, "status", { status = last })
        if not record(ctx, c, { type = "status", update_id = c.update_id, status = last, errors = u.errors }) then
          return nil
        end
      end
      if u.status == "Successful" then break end
      if u.status == "Failed" or u.status == "Cancelled" then
        local msgs = {}
        for _, e in ipairs(type(u.errors) == "table" and u.errors or {}) do
          msgs[#msgs + 1] = ("%s: %s"):format(tostring(e.errorCode), tostring(e.errorMessage))
        end
        c.state, c.reason, c.errors = "failed", "update " .. u.status .. (#msgs > 0 and (": " .. table.concat(msgs, "; ")) or ""), u.errors
        ctx.stop("the update of " .. c.key .. " ended " .. u.status, "failure")
        return record(ctx, c, { type = "failed", reason = c.reason, errors = u.errors, update_id = c.update_id })
      end
      if u.status ~= "InProgress" then
        return nil, errors.new("ParseError", "DescribeUpdate returned status " .. tostring(u.status))
      end
      ctx.sleep(ctx.opts.poll_seconds)
    end
  end
  -- Verify: the mode read back, and the cluster ACTIVE again (its status
  -- is eventually consistent after the update ends).
  for attempt = 1, ctx.opts.verify_attempts do
    local cluster, err = describe(client, c)
    if not cluster then return nil, err end
    local vpc = type(cluster.resourcesVpcConfig) == "table" and cluster.resourcesVpcConfig or {}
    local mode = vpc.controlPlaneEgressMode
    if mode ~= document.TARGET_MODE then
      c.state, c.reason = "failed", ("verification: the cluster's mode is %s after a successful update"):format(tostring(mode))
      ctx.stop(c.reason, "failure")
      return record(ctx, c, { type = "failed", reason = c.reason })
    end
    if cluster.status == "ACTIVE" then
      c.state = "done"
      emit(ctx, c, "done")
      return record(ctx, c, { type = "verified", mode = mode, status = cluster.status })
    end
    if attempt < ctx.opts.verify_attempts then ctx.sleep(ctx.opts.poll_seconds) end
  end
  return nil, errors.new("VerifyTimeout", "the cluster did not return to ACTIVE")
end

--- Run step(ctx, c, client); when EKS answers ResourceInUseException
-- (another update started between the check and the send), wait that update
-- out and try again, a few times.
function M.with_waits(ctx, c, client, step)
  local ok, err, how
  for _ = 1, 3 do
    ok, err, how = step(ctx, c, client)
    if how ~= "busy" then return ok, err end
    local ids = updates_of(client, c)
    local waited, werr = wait_in_flight(ctx, c, client, ids or {})
    if not waited then return nil, werr end
  end
  return ok, err
end

--- Take cluster c as far as it can go.
-- @treturn true when c reached a terminal state, or nil, err when it stopped
--   short (c.state says where; a resume continues from there)
function M.run(ctx, c)
  local client, cerr = ctx.client(c.entry)
  if not client then return nil, cerr end
  local ok, err
  if c.state == "planned" then
    if ctx.stopping() then return nil, "stopped" end
    ok, err = check(ctx, c, client)
    if not ok then return nil, err end
  end
  if c.state == "checked" then
    if ctx.stopping() then return nil, "stopped" end
    c.token = document.token(ctx.plan.plan_id, c.key)
    local intent = { type = "intent", token = c.token,
                     request = { method = c.entry.request.method, path = c.entry.request.path } }
    if not record(ctx, c, intent) then return nil, "journal" end
    c.state = "intent"
    emit(ctx, c, "intent")
    ok, err = M.with_waits(ctx, c, client, send)
    if not ok then return nil, err end
  elseif c.state == "intent" then
    ok, err = M.with_waits(ctx, c, client, reconcile)
    if not ok then return nil, err end
  end
  if c.state == "sent" then
    ok, err = finish(ctx, c, client)
    if not ok then return nil, err end
  end
  return true
end

return M
