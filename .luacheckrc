-- luacheck configuration: Lua 5.4 everywhere, busted globals in specs.
std = "lua54"
max_line_length = 120
cache = false
files["spec/**/*_spec.lua"] = { std = "+busted" }
files["spec/helpers/*.lua"] = { std = "+busted" }
exclude_files = { "lua_modules/**", "build/**" }
