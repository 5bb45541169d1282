--- The `eksegress` command line: parse, call a workflow, render, exit code.
--
--     os.exit(require("eksegress.cli").main(arg, { stdout = io.stdout, stderr = io.stderr, env = os.getenv }))
--
-- Global options have the AWS CLI's names and meaning and are accepted before
-- or after the subcommand, as the AWS CLI accepts them. Each subcommand is a
-- module under eksegress.cli.commands; this file knows none of their details.
-- main() never raises and never calls os.exit: it returns the exit code
-- (eksegress.cli.exit), so a host can run the CLI in-process.
local argparse = require "argparse"
local exit = require "eksegress.cli.exit"
local output = require "eksegress.cli.output"
local context = require "eksegress.cli.context"

local M = {}

--- The subcommands, in the order --help lists them.
M.COMMANDS = { "audit", "preflight", "create", "plan", "apply", "resume", "token", "scp", "reach" }

local GLOBAL_HELP = [[
Global options (before or after the command):
   --profile PROFILE          AWS config profile (repeatable for audit)
   --region REGION            AWS region
   --endpoint-url URL         send every request to URL (e.g. a local simulator)
   --output FORMAT            stdout format: table (default on a terminal), json (default otherwise)
   --export PATH              also write a report file; the format comes from the extension
                              (.json .csv .md .html .junit.xml .sarif); repeatable
   --no-color                 no ANSI colour (also NO_COLOR=1)
   --debug                    log every request and response on stderr (secrets redacted)
   --cli-read-timeout S       per-attempt timeout in seconds (0: none; default 60)
   --cli-connect-timeout S    connect timeout in seconds (0: none; default 60)
   --ca-bundle PATH           CA certificates for TLS verification
   --max-connections N        connections open at once (default: 64 per host, more when
                              --concurrency asks for more)]]

-- Sentinel raised by the help and version actions: argparse would call
-- os.exit itself, and main() must return a code instead.
local STOP = setmetatable({}, { __tostring = function() return "eksegress: stop" end })

local function load_commands()
  local list = {}
  for _, name in ipairs(M.COMMANDS) do
    list[#list + 1] = require("eksegress.cli.commands." .. name)
  end
  return list
end

local function build_parser(commands, state)
  local p = argparse("eksegress")
    :description("Automate Amazon EKS control plane egress: audit clusters' egress modes, "
      .. "check their networks, migrate them to CUSTOMER_ROUTED safely, and guard the organization.")
    :add_help(false)
    :help_max_width(100)
    :command_target("command")
    :require_command(false)
  p:epilog(exit.help() .. "\n\nRun 'eksegress <command> --help' for a command's options and examples.")
  p:flag("-h --help", "Show this help and exit."):action(function()
    state.help = state.current or p
    error(STOP, 0)
  end)
  p:flag("--version", "Show the version and exit."):action(function()
    state.version = true
    error(STOP, 0)
  end)
  p:option("--profile", "AWS config profile."):count("*")
  p:option("--region", "AWS region.")
  p:option("--endpoint-url", "Endpoint URL for every service.")
  p:option("--output", "stdout format.")
  p:option("--export", "Report file to write (format from the extension)."):count("*")
  p:flag("--no-color", "No ANSI colour.")
  p:flag("--debug", "Log requests and responses on stderr (secrets redacted).")
  p:option("--cli-read-timeout", "Per-attempt timeout in seconds (0: none).")
  p:option("--cli-connect-timeout", "Connect timeout in seconds (0: none).")
  p:option("--ca-bundle", "CA certificate bundle.")
  p:option("--max-connections", "Connections open at once, in total and to any one host.")
  for _, cmd in ipairs(commands) do
    local c = p:command(cmd.name):add_help(false)
    c:summary(cmd.summary)
    c:description(cmd.description or cmd.summary)
    local ep = {}
    if cmd.examples then
      ep[#ep + 1] = "Examples:\n" .. table.concat((function()
        local t = {}
        for _, e in ipairs(cmd.examples) do t[#t + 1] = "   " .. e end
        return t
      end)(), "\n")
    end
    if cmd.outputs then ep[#ep + 1] = "Output formats (--output): " .. table.concat(cmd.outputs, ", ") end
    if cmd.exports then ep[#ep + 1] = "Report files (--export): " .. table.concat(cmd.exports, " ") end
    ep[#ep + 1] = GLOBAL_HELP
    ep[#ep + 1] = exit.help()
    c:epilog(table.concat(ep, "\n\n"))
    c:flag("-h --help", "Show this help and exit."):action(function()
      state.help = c
      error(STOP, 0)
    end)
    cmd.configure(c)
  end
  return p
end

local function parse(parser, argv, state)
  local args = {}
  for i = 1, #argv do args[i] = argv[i] end
  local ok, a, b = pcall(parser.pparse, parser, args)
  if state.help or state.version then return nil, "stop" end
  if not ok then return nil, tostring(a) end
  if not a then return nil, b end
  return b
end

-- Values argparse takes as strings that need checking before anything runs.
local function check_globals(args, cmd, out)
  local function seconds(name, v, max)
    if v == nil then return nil end
    local n = tonumber(v)
    if not n or n < 0 or n > max or n ~= n then
      return nil, ("--%s must be a number of seconds from 0 to %d (got %q)"):format(name, max, v)
    end
    return n
  end
  local err
  if args.region ~= nil then
    local _, rerr = require("eksegress.cli.args").region("--region", args.region)
    if rerr then return nil, rerr end
  end
  args.read_timeout, err = seconds("cli-read-timeout", args.cli_read_timeout, 3600)
  if err then return nil, err end
  args.connect_timeout, err = seconds("cli-connect-timeout", args.cli_connect_timeout, 600)
  if err then return nil, err end
  if args.max_connections ~= nil then
    local n = math.tointeger(tonumber(args.max_connections))
    if not n or not args.max_connections:find("^%d+$") or n < 1 or n > 100000 then
      return nil, ("--max-connections must be an integer from 1 to 100000 (got %q)"):format(args.max_connections)
    end
    args.max_connections = n
  end
  local formats = cmd.outputs or { "table", "json" }
  if args.output then
    local okf = false
    for _, f in ipairs(formats) do if f == args.output then okf = true end end
    if not okf then
      return nil, ("--output must be one of %s for %s (got %q)"):format(table.concat(formats, ", "),
        cmd.name, args.output)
    end
  else
    args.output = out:default_format()
  end
  if #args.profile > 1 and not cmd.many_profiles then
    return nil, "--profile may be given once for " .. cmd.name
  end
  args.profiles = args.profile
  args.profile = args.profile[1]
  for _, path in ipairs(args.export) do
    local report = require "eksegress.report"
    local fmt = report.for_extension(path)
    local okx = false
    for _, f in ipairs(cmd.export_formats or {}) do if f == fmt then okx = true end end
    if not okx then
      return nil, ("--export %s: %s writes %s"):format(path, cmd.name,
        cmd.exports and table.concat(cmd.exports, " ") or "no report files")
    end
  end
  return true
end

--- A message as one sentence: newlines folded, a final full stop (unless
-- it already ends in punctuation).
function M.sentence(msg)
  msg = tostring(msg):gsub("%s*[\r\n]+%s*", " "):gsub("%s+$", "")
  if not msg:find("[.?!]$") then msg = msg .. "." end
  return msg
end

--- The one line of a usage error of a command.
function M.usage_line(name, msg)
  return ("eksegress: %s: usage: %s Try 'eksegress %s --help'."):format(name, M.sentence(msg), name)
end

--- Run the command line.
-- @tparam table argv the arguments (arg)
-- @tparam[opt] table io_ stdout, stderr, env, tty = {stdout=, stderr=},
--   no_signals (in-process hosts and tests)
-- @treturn integer the exit code
function M.main(argv, io_)
  io_ = io_ or {}
  local out = output.new(io_, {})
  local debug_on = false
  for _, a in ipairs(argv or {}) do if a == "--debug" then debug_on = true end end
  local traceback
  local ok, code = xpcall(M.run, function(e)
    traceback = debug.traceback(tostring(e), 2)
    return e
  end, argv or {}, io_)
  if ok then return code end
  if type(code) == "table" and code.usage then
    out:line("eksegress: usage: " .. M.sentence(code.message) .. " Try 'eksegress --help'.")
    return exit.USAGE
  end
  out:clear_status()
  out:line("eksegress: internal error: " .. M.sentence(code))
  if debug_on and traceback then out:line(traceback) else
    out:line("eksegress: rerun with --debug for details, and please report it")
  end
  return exit.INTERNAL
end

-- The body of main(): raises only for bugs (main() turns them into one line).
function M.run(argv, io_)
  local state = {}
  local commands = load_commands()
  local by_name = {}
  for _, c in ipairs(commands) do by_name[c.name] = c end
  local parser = build_parser(commands, state)
  local pre = output.new(io_, {})
  local args, perr = parse(parser, argv, state)
  if state.version then
    local core = require "eksegress.core"
    pre:result(("eksegress %s (Lua %s; %s; %s)"):format(require("eksegress").version,
      _VERSION:gsub("^Lua ", ""), core.curl_version, core.openssl_version))
    return exit.OK
  end
  if state.help then
    pre:result(state.help:get_help())
    return exit.OK
  end
  if not args then
    pre:line("eksegress: usage: " .. M.sentence(perr) .. " Try 'eksegress --help'.")
    return exit.USAGE
  end
  if not args.command then
    pre:line(parser:get_usage())
    pre:line("eksegress: usage: a command is required. Try 'eksegress --help'.")
    return exit.USAGE
  end
  local cmd = by_name[args.command]
  local out = output.new(io_, { no_color = args.no_color })
  local function usage(msg)
    out:line(M.usage_line(cmd.name, msg))
    return exit.USAGE
  end
  local ok, cerr = check_globals(args, cmd, out)
  if not ok then return usage(cerr) end

  local ctx = context.new(args, io_, out)
  local run_ok, res = pcall(cmd.run, ctx, args)
  local interrupted = ctx:interrupted()
  ctx:close()
  if not run_ok then
    if type(res) == "table" and res.usage then return usage(res.message) end
    error(res, 0)
  end
  out:clear_status()
  if interrupted then return exit.INTERRUPTED end
  return res
end

return M
