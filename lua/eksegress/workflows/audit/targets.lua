--- Who and where an audit reads: the accounts (one client each) and, per
-- account, the regions.
--
-- Three ways to name accounts:
--   * nothing: the caller's own account (the factory's default client);
--   * profiles: one client per profile; two profiles that land in the same
--     account are audited once (the second is listed as skipped), so no
--     cluster can appear twice;
--   * an organization: Organizations ListAccounts from the caller's account,
--     then AssumeRole into `role_name` in each active member (the caller's own
--     account is read with the caller's credentials). Accounts that are not
--     active are listed as skipped with their state; an account whose role
--     cannot be assumed is listed as an error and the others go on.
--
-- Every account ends in `accounts` with an outcome; every account that could
-- not be read also has an entry in `errors`. Nothing is dropped silently.
local role = require "eksegress.credentials.role"
local parallel = require "eksegress.parallel"

local M = {}

-- Where an account's DescribeRegions goes when the caller configured no
-- region: the partition's first region.
local HOME_REGION = { aws = "us-east-1", ["aws-cn"] = "cn-north-1", ["aws-us-gov"] = "us-gov-west-1" }

local function err_fields(err)
  if type(err) ~= "table" then return "Error", tostring(err) end
  return err.code or "Error", err.message or tostring(err)
end

-- Organizations reports an account's life in `State` (ACTIVE, SUSPENDED,
-- PENDING_CLOSURE, CLOSED) since the older `Status` field was retired in
-- September 2026; older responses carry only `Status`.
local function account_state(acct)
  local s = acct.State
  if type(s) ~= "string" or s == "" then s = acct.Status end
  if type(s) ~= "string" or s == "" then return "UNKNOWN" end
  return s
end
M.account_state = account_state

local function set_of(list)
  local s = {}
  for _, v in ipairs(list or {}) do s[v] = true end
  return s
end

local function partition_of(arn)
  return type(arn) == "string" and arn:match("^arn:([%w%-]+):") or "aws"
end

-- Ask STS who a client is; the account id it returns is the key of the
-- target (a profile may name any account).
local function identify(client)
  local who, err = client:whoami()
  if not who then return nil, err end
  return who
end

local function add_error(res, e)
  res.errors[#res.errors + 1] = e
end

local function from_profiles(factory, opts, res)
  local seen = {}
  local candidates = {}
  for _, name in ipairs(opts.profiles) do
    local client, cerr = factory{ profile = name }
    if not client then
      local code, msg = err_fields(cerr)
      res.accounts[#res.accounts + 1] = { id = nil, name = name, profile = name, state = "UNKNOWN",
        outcome = "error", reason = msg }
      add_error(res, { target = "profile", profile = name, code = code, message = msg })
    else
      candidates[#candidates + 1] = { profile = name, client = client }
    end
  end
  local whos, errs = parallel(candidates, function(c) return identify(c.client) end,
    { concurrency = opts.concurrency, runtime = opts.runtime })
  for i, c in ipairs(candidates) do
    local who = whos[i]
    if not who then
      local code, msg = err_fields(errs[i])
      res.accounts[#res.accounts + 1] = { name = c.profile, profile = c.profile, state = "UNKNOWN",
        outcome = "error", reason = msg }
      add_error(res, { target = "profile", profile = c.profile, code = code, message = msg })
    elseif seen[who.Account] then
      res.accounts[#res.accounts + 1] = { id = who.Account, name = c.profile, profile = c.profile,
        state = "ACTIVE", outcome = "skipped",
        reason = "same account as profile " .. seen[who.Account] }
    else
      seen[who.Account] = c.profile
      res.targets[#res.targets + 1] = { account = who.Account, profile = c.profile, client = c.client,
        partition = partition_of(who.Arn), access = { profile = c.profile } }
      res.accounts[#res.accounts + 1] = { id = who.Account, name = c.profile, profile = c.profile,
        state = "ACTIVE", outcome = "audited", access = { profile = c.profile } }
    end
  end
  return true
end

local function from_organization(factory, opts, res)
  local org = opts.organization
  local base, berr = factory{}
  if not base then return nil, berr end
  local me, merr = identify(base)
  if not me then return nil, merr end
  local partition = partition_of(me.Arn)
  local accounts, lerr = base:collect("organizations", "ListAccounts", {})
  if not accounts then return nil, lerr end

  local only, exclude = org.accounts and set_of(org.accounts), set_of(org.exclude_accounts)
  local wanted = {}
  for _, acct in ipairs(accounts) do
    local id = acct.Id
    local state = account_state(acct)
    local entry = { id = id, name = acct.Name, state = state }
    if (only and not only[id]) or exclude[id] then
      entry.outcome, entry.reason = "skipped", "excluded by the account filter"
      res.accounts[#res.accounts + 1] = entry
    elseif state ~= "ACTIVE" then
      entry.outcome, entry.reason = "skipped", "account is " .. state
      res.accounts[#res.accounts + 1] = entry
    else
      wanted[#wanted + 1] = entry
    end
  end
  -- Named accounts that Organizations does not list are errors, not silence.
  if only then
    local listed = {}
    for _, acct in ipairs(accounts) do listed[acct.Id] = true end
    for _, id in ipairs(org.accounts) do
      if not listed[id] then
        res.accounts[#res.accounts + 1] = { id = id, state = "UNKNOWN", outcome = "error",
          reason = "not a member of the organization" }
        add_error(res, { target = "account", account = id, code = "AccountNotFound",
          message = "account " .. id .. " is not listed by Organizations ListAccounts" })
      end
    end
  end

  local clients = {}
  for i, entry in ipairs(wanted) do
    if entry.id == me.Account then
      clients[i] = base
      entry.access = {}
    else
      local role_arn = ("arn:%s:iam::%s:role/%s"):format(partition, entry.id, org.role_name)
      entry.access = { role_arn = role_arn }
      local c, cerr = factory{ account = entry.id, credentials = role.new{
        source = base.credentials, role_arn = role_arn,
        session_name = org.session_name or "eksegress-audit",
        source_identity = org.source_identity, external_id = org.external_id,
      } }
      clients[i] = c or cerr
    end
  end
  local whos, errs = parallel(wanted, function(_, i)
    local c = clients[i]
    if type(c) ~= "table" or not c.whoami then return nil, c end
    return identify(c)
  end, { concurrency = opts.concurrency, runtime = opts.runtime })
  for i, entry in ipairs(wanted) do
    local who = whos[i]
    if who and who.Account == entry.id then
      entry.outcome = "audited"
      res.targets[#res.targets + 1] = { account = entry.id, client = clients[i], partition = partition,
        access = entry.access }
    else
      local code, msg
      if who then
        code, msg = "AccountMismatch", ("the role answered as account %s"):format(tostring(who.Account))
      else
        code, msg = err_fields(errs[i])
      end
      entry.outcome, entry.reason = "error", msg
      add_error(res, { target = "account", account = entry.id, code = code, message = msg })
    end
    res.accounts[#res.accounts + 1] = entry
  end
  return true
end

local function from_default(factory, opts, res)
  local client, cerr = factory{}
  if not client then return nil, cerr end
  local who, err = identify(client)
  if not who then return nil, err end
  res.targets[1] = { account = who.Account, client = client, partition = partition_of(who.Arn), access = {} }
  res.accounts[1] = { id = who.Account, state = "ACTIVE", outcome = "audited", access = {} }
  local _ = opts
  return true
end

--- Resolve the accounts.
-- @tparam function factory client factory (see eksegress.workflows.audit)
-- @tparam table opts profiles | organization {role_name, accounts,
--   exclude_accounts, session_name, source_identity, external_id},
--   concurrency, runtime
-- @treturn table {targets = {{account, client, profile?}}, accounts, errors},
--   or nil, err when not even the caller's account can be read
function M.accounts(factory, opts)
  local res = { targets = {}, accounts = {}, errors = {} }
  local ok, err
  if opts.organization then
    ok, err = from_organization(factory, opts, res)
  elseif opts.profiles and #opts.profiles > 0 then
    ok, err = from_profiles(factory, opts, res)
  else
    ok, err = from_default(factory, opts, res)
  end
  if not ok then return nil, err end
  table.sort(res.accounts, function(a, b)
    return tostring(a.id or a.name) < tostring(b.id or b.name)
  end)
  return res
end

--- The regions of one target: the list given, or with "all" the regions the
-- account has enabled (EC2 DescribeRegions without AllRegions lists exactly
-- those; opt-in regions that are not enabled are left out by EC2 itself).
-- @treturn table list of region names, or nil, err
function M.regions(target, wanted)
  if wanted ~= "all" then return wanted end
  local out, err = target.client:call("ec2", "DescribeRegions", {}, {
    region = target.client.region or HOME_REGION[target.partition] or HOME_REGION.aws,
  })
  if not out then return nil, err end
  local list = {}
  for _, r in ipairs(out.regionInfo or {}) do
    if type(r.regionName) == "string" then list[#list + 1] = r.regionName end
  end
  table.sort(list)
  return list
end

return M
