--- The shared AWS config and credentials files: parsing, merging, locations.
--
-- Follows the cross-SDK rules (smithy-rs `aws-config` profile parser, checked by
-- spec/fixtures/sdk-config/profile-parser-tests.json and file-location-tests.json):
--
-- * Config-file sections are `[default]`, `[profile NAME]`, `[sso-session NAME]`
--   and `[services NAME]`; other config sections are ignored. If a config file
--   has `[profile default]`, its `[default]` sections are ignored.
-- * Credentials-file sections are `[NAME]`; a name with whitespace (so also
--   `[profile x]`) is ignored.
-- * Profile and property names are validated ([A-Za-z0-9_-/.%@:+]); invalid
--   ones are dropped, not errors. Property names are case-insensitive (lowered).
-- * `#` and `;` start a comment at the start of a line, anywhere in a section
--   line, and after whitespace in a property line; a value continuation line
--   keeps them.
-- * An indented line continues the previous value ("\n" + trimmed line); under
--   an empty value it is a sub-property `key = value` (see `subproperties`).
-- * Duplicate sections merge, the last duplicate property wins; across files
--   the credentials file wins.
--
--     local config = require "eksegress.config"
--     local view, err = config.load{ env = os.getenv }
--     local p = view:profile("default")       -- { region = "...", ... } or nil
--
-- In a view (not in `parse`/`merge` results) the secret properties
-- (aws_secret_access_key, aws_session_token, aws_security_token) are wrapped
-- with eksegress.secret.wrap: tostring gives "<redacted>" and only
-- `secret.reveal(v)` reads them, so a client's settings never hold a secret
-- in a plain field.
local core = require "eksegress.core"
local errors = require "eksegress.errors"
local secret = require "eksegress.secret"

local M = {}

-- "" counts as unset: the one rule, in eksegress.envvar.
local getenv = require("eksegress.envvar").get

--- The most a config or credentials file may hold (16 MiB: real files are a few
-- kilobytes; a path naming /dev/zero or a log file must not exhaust memory).
M.MAX_FILE_BYTES = 16 * 1024 * 1024

local function trim(s)
  return (s:gsub("^[ \t]+", ""):gsub("[ \t]+$", ""))
end

local function is_space(c)
  return c == " " or c == "\t" or c == "\r" or c == "\n" or c == "\v" or c == "\f"
end

-- Trim, then cut a comment: in section lines any '#'/';' starts one, in
-- property lines only one that follows whitespace.
local function prepare_line(line, comments_need_whitespace)
  line = trim(line)
  local prev_ws = false
  for i = 1, #line do
    local c = line:sub(i, i)
    if (c == "#" or c == ";") and (prev_ws or not comments_need_whitespace) then
      return trim(line:sub(1, i - 1))
    end
    prev_ws = is_space(c)
  end
  return line
end

-- "k = v" -> k, v; or nil, reason ("noequals" | "noname").
local function parse_property(line)
  line = prepare_line(line, true)
  local eq = line:find("=", 1, true)
  if not eq then return nil, "noequals" end
  local k, v = trim(line:sub(1, eq - 1)), trim(line:sub(eq + 1))
  if k == "" then return nil, "noname" end
  return k, v
end

local function valid_identifier(s)
  return s ~= "" and s:find("^[%w_%-/%.%%@:+]+$") ~= nil
end
M.valid_identifier = valid_identifier

-- ---------------------------------------------------------------------------
-- Raw pass: sections and properties as written, in order of first appearance.

local function parse_raw(text, filename)
  local sections, order = {}, {}
  local current, current_key, is_sub = nil, nil, false
  local lineno = 0
  local function fail(msg)
    return nil, errors.new("ConfigParseError",
      string.format("%s:%d: %s", filename, lineno, msg),
      { file = filename, line = lineno })
  end
  -- Split on LF; a CR before it belongs to a CRLF ending.
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    if line:sub(-1) == "\r" then line = line:sub(1, -2) end
    local first = line:sub(1, 1)
    local skip = line:find("^[ \t]*$") or first == "#" or first == ";" -- blank or comment
    if skip then
      goto continue
    end
    if first == "[" then
      local l = prepare_line(line, false)
      if l:sub(-1) ~= "]" then return fail("Profile definition must end with ']'") end
      local name = l:sub(2, -2)
      if not sections[name] then
        sections[name] = { props = {}, order = {} }
        order[#order + 1] = name
      end
      current, current_key, is_sub = sections[name], nil, false
    elseif first == " " or first == "\t" then
      if not current then return fail("Expected a profile definition") end
      if not current_key then
        return fail("Expected a property definition, found continuation")
      end
      local l = trim(line)
      if is_sub then
        local k, why = parse_property(l)
        if not k then
          if why == "noname" then return fail("Sub-property did not have a name") end
          return fail("Expected an '=' sign defining a sub-property")
        end
      end
      current.props[current_key] = current.props[current_key] .. "\n" .. l
    else
      if not current then return fail("Expected a profile definition") end
      local k, v = parse_property(line)
      if not k then
        if v == "noname" then return fail("Property did not have a name") end
        return fail("Expected an '=' sign defining a property")
      end
      k = k:lower()
      if current.props[k] == nil then current.order[#current.order + 1] = k end
      current.props[k] = v
      current_key, is_sub = k, v == ""
    end
    ::continue::
  end
  return { sections = sections, order = order }
end

-- ---------------------------------------------------------------------------
-- Normalize: section names to (type, name), drop invalid names.

-- Returns type ("profile" | "sso-session" | "services" | nil), name, prefixed.
local function section_key(raw, kind)
  local input = trim(raw)
  if kind == "credentials" then
    if input:find("[ \t]") or not valid_identifier(input) then return nil end
    return "profile", input, false
  end
  local prefix, rest = input:match("^([^ \t]*)[ \t](.*)$")
  if prefix then
    local name = rest:gsub("^%s+", ""):gsub("%s+$", "")
    if not valid_identifier(name) then return nil end
    if prefix == "profile" then return "profile", name, true end
    if prefix == "sso-session" or prefix == "services" then return prefix, name, true end
    return nil
  end
  if input == "default" then return "profile", "default", false end
  return nil
end

local function merge_props(target, props, order)
  for _, k in ipairs(order) do
    if valid_identifier(k) then target[k] = props[k] end
  end
end

--- Parse one file's text.
-- @tparam string text file contents
-- @tparam string kind "config" or "credentials"
-- @tparam[opt] string filename used in error messages
-- @treturn[1] table `{ profiles = {name = {key = value}}, sso_sessions = {...}, services = {...} }`
-- @treturn[2] nil
-- @treturn[2] table error {code = "ConfigParseError", message, file, line}
function M.parse(text, kind, filename)
  if kind ~= "config" and kind ~= "credentials" then
    error("config.parse: kind must be 'config' or 'credentials'", 2)
  end
  local raw, err = parse_raw(text or "", filename or kind)
  if not raw then return nil, err end
  local set = { profiles = {}, sso_sessions = {}, services = {} }
  local keys = {}
  local has_prefixed_default = false
  for i, rawname in ipairs(raw.order) do
    local t, name, prefixed = section_key(rawname, kind)
    keys[i] = { t, name, prefixed }
    if t == "profile" and name == "default" and prefixed then has_prefixed_default = true end
  end
  for i, rawname in ipairs(raw.order) do
    local t, name, prefixed = keys[i][1], keys[i][2], keys[i][3]
    local skip = t == nil
      or (kind == "config" and has_prefixed_default and t == "profile"
          and name == "default" and not prefixed)
    if not skip then
      local bucket = t == "profile" and set.profiles
        or t == "sso-session" and set.sso_sessions or set.services
      bucket[name] = bucket[name] or {}
      local sec = raw.sections[rawname]
      merge_props(bucket[name], sec.props, sec.order)
    end
  end
  return set
end

local function copy_into(dst, src)
  for name, props in pairs(src) do
    local t = dst[name] or {}
    for k, v in pairs(props) do t[k] = v end
    dst[name] = t
  end
end

--- Merge a parsed config file and a parsed credentials file (either may be
-- nil); on conflicts the credentials file wins.
function M.merge(config_set, credentials_set)
  local out = { profiles = {}, sso_sessions = {}, services = {} }
  for _, set in ipairs{ config_set or {}, credentials_set or {} } do
    copy_into(out.profiles, set.profiles or {})
    copy_into(out.sso_sessions, set.sso_sessions or {})
    copy_into(out.services, set.services or {})
  end
  return out
end

--- Parse a sub-property block ("\nname = value\n...") into a table.
-- Invalid names are dropped; keys are lower-cased.
function M.subproperties(value)
  local out = {}
  if type(value) ~= "string" then return out end
  for line in value:gmatch("[^\n]+") do
    local k, v = parse_property(line)
    if k then
      k = k:lower()
      if valid_identifier(k) then out[k] = v end
    end
  end
  return out
end

-- ---------------------------------------------------------------------------
-- File locations.

local function default_platform()
  return package.config:sub(1, 1) == "\\" and "windows" or "linux"
end

--- The user's home directory: HOME, then USERPROFILE, then HOMEDRIVE..HOMEPATH.
-- (On Linux only HOME is normally set; the others are harmless fallbacks.)
function M.home(env)
  local h = getenv(env, "HOME")
  if h then return h end
  h = getenv(env, "USERPROFILE")
  if h then return h end
  local drive, path = getenv(env, "HOMEDRIVE"), getenv(env, "HOMEPATH")
  if drive and path then return drive .. path end
  return nil
end

--- Expand a leading "~" (alone, or followed by / or, on Windows, \).
function M.expand_home(path, home, platform)
  if type(path) ~= "string" or not home then return path end
  if path == "~" then return home end
  local sep = path:sub(2, 2)
  if path:sub(1, 1) == "~" and (sep == "/" or (sep == "\\" and platform == "windows")) then
    return home .. path:sub(2)
  end
  return path
end

--- Which profile to use: explicit option > AWS_PROFILE > AWS_DEFAULT_PROFILE > "default".
-- Returns the name and where it came from ("option" | "env" | "default").
function M.profile_name(opts)
  opts = opts or {}
  if opts.profile and opts.profile ~= "" then return opts.profile, "option" end
  local p = getenv(opts.env, "AWS_PROFILE") or getenv(opts.env, "AWS_DEFAULT_PROFILE")
  if p then return p, "env" end
  return "default", "default"
end

--- Where the files are: explicit paths > AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE
-- > ~/.aws/config and ~/.aws/credentials, with "~" expanded.
-- @tparam table opts env, platform ("linux" | "windows"), home, config_file,
--   credentials_file, profile
-- @treturn table { config_file, credentials_file, profile, profile_source, home }
function M.locations(opts)
  opts = opts or {}
  local env = opts.env
  local platform = opts.platform or default_platform()
  local home = opts.home or M.home(env)
  local sep = platform == "windows" and "\\" or "/"
  local function default(name)
    return (home or "~") .. sep .. ".aws" .. sep .. name
  end
  local cfg = opts.config_file or getenv(env, "AWS_CONFIG_FILE") or default("config")
  local cred = opts.credentials_file or getenv(env, "AWS_SHARED_CREDENTIALS_FILE")
    or default("credentials")
  local profile, source = M.profile_name(opts)
  return {
    config_file = M.expand_home(cfg, home, platform),
    credentials_file = M.expand_home(cred, home, platform),
    profile = profile,
    profile_source = source,
    home = home,
  }
end

-- ---------------------------------------------------------------------------
-- The merged view.

local View = {}
View.__index = View

--- The merged properties of a profile, or nil if no file defines it.
function View:profile(name)
  return self.profiles[name or "default"]
end

--- The properties of a profile as one file has them ("config" | "credentials").
function View:profile_in(kind, name)
  local set = kind == "credentials" and self.credentials or self.config
  return set.profiles[name]
end

--- An [sso-session NAME] section.
function View:sso_session(name)
  return self.sso_sessions[name]
end

--- A [services NAME] section, its sub-properties parsed:
-- { eks = { endpoint_url = "..." }, ... }.
function View:services_section(name)
  local sec = self.services[name]
  if not sec then return nil end
  local out = {}
  for k, v in pairs(sec) do out[k] = M.subproperties(v) end
  return out
end

--- Sorted profile names.
function View:profile_names()
  local names = {}
  for n in pairs(self.profiles) do names[#names + 1] = n end
  table.sort(names)
  return names
end

--- Profile properties whose values are secrets (wrapped in a view).
M.SECRET_PROPERTIES = { aws_secret_access_key = true, aws_session_token = true,
                        aws_security_token = true }

-- A copy of a parsed set whose secret properties are wrapped (the input is
-- left as it is).
local function seal(set)
  local profiles = {}
  for name, props in pairs(set.profiles or {}) do
    local p = {}
    for k, v in pairs(props) do
      if M.SECRET_PROPERTIES[k] and type(v) == "string" and v ~= "" then v = secret.wrap(v) end
      p[k] = v
    end
    profiles[name] = p
  end
  return { profiles = profiles, sso_sessions = set.sso_sessions or {}, services = set.services or {} }
end

--- Build a view from already parsed sets (for tests and embedders).
function M.view(config_set, credentials_set, paths)
  local empty = { profiles = {}, sso_sessions = {}, services = {} }
  config_set, credentials_set = seal(config_set or empty), seal(credentials_set or empty)
  local merged = M.merge(config_set, credentials_set)
  paths = paths or {}
  return setmetatable({
    config = config_set,
    credentials = credentials_set,
    profiles = merged.profiles,
    sso_sessions = config_set.sso_sessions,
    services = config_set.services,
    config_file = paths.config_file,
    credentials_file = paths.credentials_file,
  }, View)
end

-- A missing file is an empty file; anything that is not a regular file (a
-- FIFO, a device, a directory) or is larger than MAX_FILE_BYTES is an error,
-- found without blocking (eksegress.core.read_file).
local function default_read(path)
  local text, err = core.read_file(path, M.MAX_FILE_BYTES)
  if text then return text end
  if err.code == "FileNotFound" then return nil end
  return nil, err
end

--- Load and merge both files.
-- @tparam table opts env, home, platform, config_file, credentials_file,
--   read_file (function(path) -> text | nil (missing) | nil, message or err);
--   by default a file must be a regular file of at most MAX_FILE_BYTES
-- @treturn[1] View with :profile(name), :profile_in(kind, name),
--   :sso_session(name), :services_section(name), :profile_names(); fields
--   config_file, credentials_file
-- @treturn[2] nil, err (code "ConfigParseError" or "ConfigReadError")
function M.load(opts)
  opts = opts or {}
  local loc = M.locations(opts)
  local read = opts.read_file or default_read
  local sets = {}
  for _, kind in ipairs{ "config", "credentials" } do
    local path = loc[kind .. "_file"]
    local text, rerr = read(path)
    if text == nil and rerr ~= nil then
      -- The core's messages name the path already.
      local msg = errors.is(rerr) and rerr.message or (path .. ": " .. tostring(rerr))
      return nil, errors.new("ConfigReadError", "cannot read the " .. kind .. " file: " .. msg,
        { file = path, reason = errors.is(rerr) and rerr.code or nil })
    end
    local set, perr = M.parse(text or "", kind, path)
    if not set then return nil, perr end
    sets[kind] = set
  end
  return M.view(sets.config, sets.credentials, loc)
end

--- Convenience: load the files (opts as for load) and return one profile's
-- merged properties. nil, nil if the profile is absent; nil, err on a bad file.
function M.profile(name, opts)
  local view, err = M.load(opts)
  if not view then return nil, err end
  return view:profile(name or M.profile_name(opts)), nil
end

return M
