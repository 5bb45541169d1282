--- AWS Signature Version 4, as implemented by the C core.
--
--     local out = require("eksegress.sigv4").sign{
--       method = "GET", target = "/path?query",
--       headers = { {"Host", "example.amazonaws.com"} },
--       body = "", region = "us-east-1", service = "service",
--       time = "20150830T123600Z",
--       access_key_id = "...", secret_access_key = "...", session_token = nil,
--       placement = "header",   -- or "query" (presigned URL)
--       expires = 3600,         -- query placement only
--       normalize_path = true, double_encode = true,
--       sign_body = false, omit_session_token = false,
--     }
--     -- out.canonical_request, out.string_to_sign, out.signature, out.amz_date,
--     -- out.headers (header placement) or out.target (query placement)
--
-- Misuse (a missing field, a wrong type, an expiry outside 1..604800) raises.
-- The signer (with its derived-key cache) is per lua_State.
local core = require "eksegress.core"

local M = {}

--- Sign a request; see the module description for the fields.
M.sign = core.sigv4_sign

--- UriEncode a string by the AWS rules (keep_slash keeps '/').
M.uri_encode = core.uri_encode

--- Format a UNIX time as an X-Amz-Date value (YYYYMMDDTHHMMSSZ).
M.amz_date = core.format_amz_date

return M
