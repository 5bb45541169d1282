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
--     account is read with the caller's credentials), with a session name
--     that says eksegress and a source identity naming the caller. Accounts
--     that are not active are listed as skipped with their state; an account
--     whose role cannot be assumed is listed as an error and the others go on.
--
-- Every account ends in `accounts` with an outcome; every account that could
-- not be read also has an entry in `errors`. Nothing is dropped silently.
--
-- Regions: "all" is what each account has enabled (EC2 DescribeRegions with
-- AllRegions, so the regions that are not enabled are seen too). Opt-in
-- regions the account never enabled are left out (listed on the account as
-- `regions_not_enabled`); a region that needs no opt-in but is not enabled
-- (disabled) is an error, as is a region asked for by name that the account
-- has not enabled: clusters there cannot be read, and saying nothing would
-- drop them silently.
local role = require "eksegress.credentials.role"
local errors = require "eksegress.errors"
local parallel = require "eksegress.parallel"

local M = {}

-- Where an account's DescribeRegions goes when the caller configured no
-- region: the partition's first region.
local HOME_REGION = { aws = "us-east-1", ["aws-cn"] = "cn-north-1", ["aws-us-gov"] = "us-gov-west-1" }

-- The regions that need no opt-in: every region launched before 20 March
-- 2019, and only those, since every later region is opt-in (AWS General
-- Reference, "Enable or disable AWS Regions"). The set is closed: it can
-- never grow. One of these reported "not-opted-in" has been disabled.
local NO_OPT_IN = {}
for _, r in ipairs{ "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1",
                    "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "ap-south-1",
                    "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2",
                    "ap-northeast-3", "sa-east-1", "cn-north-1", "cn-northwest-1", "us-gov-west-1",
                    "us-gov-east-1" } do
  NO_OPT_IN[r] = true
end
M.NO_OPT_IN = NO_OPT_IN

M.SESSION_NAME = "eksegress-audit"

--- An entry of the report's `errors`: `fields` (target, account, region,
-- cluster, profile) and what the error says (code, message, and where known
-- the HTTP status and the request id, for AWS support).
function M.error_entry(fields, err)
  local e = {}
  for k, v in pairs(fields) do e[k] = v end
  if type(err) == "table" then
    e.code, e.message = err.code or "Error", tostring(err.message)
    e.status, e.request_id = err.status, err.request_id
  else
    e.code, e.message = "Error", tostring(err)
  end
  return e
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

--- The source identity an organization audit sets on each AssumeRole, from
-- the caller's ARN: an IAM user's name, a role session's name (an SSO
-- user's), or "root"; characters AssumeRole does not accept become "_", and
-- it is cut to 64. nil when nothing of 2 characters or more is left.
function M.source_identity(arn)
  if type(arn) ~= "string" then return nil end
  local name = arn:match("^arn:[%w%-]+:sts::%d+:assumed%-role/[^/]+/(.+)$")
    or arn:match("^arn:[%w%-]+:iam::%d+:user/.-([^/]+)$")
    or (arn:find("^arn:[%w%-]+:iam::%d+:root$") and "root")
  if not name then return nil end
  name = name:gsub("[^%w+=,.@_%-]", "_"):sub(1, 64)
  if #name < 2 then return nil end
  return name
end

-- Ask STS who a client is; the account id it returns is the key of the
-- target (a profile may name any account).
local function identify(client)
  local who, err = client:whoami()
  if not who then return nil, err end
  return who
end

-- Record a target that could not be read; returns its message (the
-- account's reason).
local function add_error(res, fields, err)
  local e = M.error_entry(fields, err)
  res.errors[#res.errors + 1] = e
  return e.message
end

local function from_profiles(factory, opts, res)
  local seen = {}
  local candidates = {}
  for _, name in ipairs(opts.profiles) do
    local client, cerr = factory{ profile = name }
    if not client then
      res.accounts[#res.accounts + 1] = { id = nil, name = name, profile = name, state = "UNKNOWN",
        outcome = "error", reason = add_error(res, { target = "profile", profile = name }, cerr) }
    else
      candidates[#candidates + 1] = { profile = name, client = client }
    end
  end
  local whos, errs = parallel(candidates, function(c) return identify(c.client) end,
    { concurrency = opts.concurrency, runtime = opts.runtime })
  for i, c in ipairs(candidates) do
    local who = whos[i]
    if not who then
      res.accounts[#res.accounts + 1] = { name = c.profile, profile = c.profile, state = "UNKNOWN",
        outcome = "error", reason = add_error(res, { target = "profile", profile = c.profile }, errs[i]) }
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
        add_error(res, { target = "account", account = id }, errors.new("AccountNotFound",
          "account " .. id .. " is not listed by Organizations ListAccounts"))
      end
    end
  end

  local source_identity = org.source_identity
  if source_identity == nil then source_identity = M.source_identity(me.Arn) end
  local clients = {}
  for i, entry in ipairs(wanted) do
    if entry.id == me.Account then
      clients[i] = base
      entry.access = {}
    else
      local role_arn = ("arn:%s:iam::%s:role/%s"):format(partition, entry.id, org.role_name)
      local session_name = org.session_name or M.SESSION_NAME
      entry.access = { role_arn = role_arn, session_name = session_name, source_identity = source_identity or nil }
      local c, cerr = factory{ account = entry.id, credentials = role.new{
        source = base.credentials, role_arn = role_arn, session_name = session_name,
        source_identity = source_identity or nil, external_id = org.external_id,
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
      local err = errs[i]
      if who then
        err = errors.new("AccountMismatch", ("the role answered as account %s"):format(tostring(who.Account)))
      end
      entry.outcome = "error"
      entry.reason = add_error(res, { target = "account", account = entry.id }, err)
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

local function region_error(code, message)
  return errors.new(code, message)
end

--- The regions of one target.
-- @tparam table target {account, client, partition}
-- @param wanted "all" or a list of region names
-- @treturn table {read = regions to read (sorted), not_enabled = opt-in
--   regions left out (with "all"), unreadable = {{region, err}}: regions
--   that are not enabled (disabled, or named but not enabled) or unknown}, or nil, err
--   when "all" cannot be resolved. With a list, a failed DescribeRegions
--   is no error: every region named is then read, and a region that is not
--   enabled fails there.
function M.regions(target, wanted)
  local out, err = target.client:call("ec2", "DescribeRegions", { AllRegions = true }, {
    region = target.client.region or HOME_REGION[target.partition] or HOME_REGION.aws,
  })
  local status = {}
  for _, r in ipairs(out and out.regionInfo or {}) do
    if type(r.regionName) == "string" then status[r.regionName] = r.optInStatus or "" end
  end
  local res = { read = {}, not_enabled = {}, unreadable = {} }
  if wanted ~= "all" then
    for _, name in ipairs(wanted) do
      if status[name] == "not-opted-in" then
        res.unreadable[#res.unreadable + 1] = { region = name, err = region_error("RegionNotEnabled",
          ("region %s is not enabled for account %s (DescribeRegions: not-opted-in); enable it, or leave it "
            .. "out of --regions"):format(name, tostring(target.account))) }
      elseif out and status[name] == nil then
        res.unreadable[#res.unreadable + 1] = { region = name, err = region_error("UnknownRegion",
          ("%s is not a region of account %s's partition (DescribeRegions lists every region)")
            :format(name, tostring(target.account))) }
      else
        res.read[#res.read + 1] = name
      end
    end
    return res
  end
  if not out then return nil, err end
  for name, st in pairs(status) do
    if st ~= "not-opted-in" then
      -- opt-in-not-required, opted-in, or a status EC2 adds later: read it
      -- (a failure there is an error, never a silent gap).
      res.read[#res.read + 1] = name
    elseif NO_OPT_IN[name] then
      res.unreadable[#res.unreadable + 1] = { region = name, err = region_error("RegionDisabled",
        ("region %s needs no opt-in but is not enabled for account %s (DescribeRegions: not-opted-in): "
          .. "clusters there cannot be read"):format(name, tostring(target.account))) }
    else
      res.not_enabled[#res.not_enabled + 1] = name
    end
  end
  table.sort(res.read)
  table.sort(res.not_enabled)
  table.sort(res.unreadable, function(a, b) return a.region < b.region end)
  return res
end

return M
