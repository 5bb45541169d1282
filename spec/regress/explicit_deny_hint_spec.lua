-- The one-line error of an access denied by an SCP's explicit deny: the hint
-- must not tell the user to grant a permission (no grant overrides an
-- explicit deny), while a plain denial keeps the grant hint.
local cli_errors = require "eksegress.cli.errors"

describe("cli errors: access denied", function()
  it("regression: a denial by a service control policy's explicit deny does not say 'grant the permission'", function()
    local line = cli_errors.line("audit", { code = "AccessDeniedException", status = 403,
      message = "User: arn:aws:iam::111122223333:user/ops is not authorized to perform: eks:ListClusters on "
        .. "resource: * with an explicit deny in a service control policy" }, "region sa-east-1")
    assert.is_nil(line:lower():find("grant the permission", 1, true), line)
    assert.matches("explicit deny %(a service control policy", line)
    assert.matches("ask the organization's administrators", line, 1, true)
    assert.is_nil(line:find("\n", 1, true))
  end)

  it("a plain denial (no explicit deny) keeps the hint to grant the permission", function()
    local line = cli_errors.line("audit", { code = "AccessDeniedException", status = 403,
      message = "User: arn:aws:iam::111122223333:user/ops is not authorized to perform: eks:ListClusters" })
    assert.matches("Grant the permission named in the message", line, 1, true)
  end)

  it("an error's own hint wins over both", function()
    local line = cli_errors.line(nil, { code = "AccessDenied", message = "explicit deny", hint = "do X" })
    assert.matches("Do X$", line)
  end)
end)
