-- Network ACL evaluation exactly as EC2 does it (checks.nacl_decision): the
-- entries of one direction and address family, in rule-number order, first match
-- wins, the implicit deny last; a requirement holds when every packet it
-- describes (ports x addresses) is allowed.
local checks = require "eksegress.workflows.preflight.checks"

local function e(n, proto, action, egress, block, from, to)
  local t = { RuleNumber = n, Protocol = proto, RuleAction = action, Egress = egress }
  if block:find(":", 1, true) then t.Ipv6CidrBlock = block else t.CidrBlock = block end
  if from then t.PortRange = { From = from, To = to or from } end
  return t
end

local function allowed(entries, egress, target, lo, hi)
  return checks.nacl_decision(entries, egress, target, lo, hi or lo).allowed
end

describe("checks.nacl_decision", function()
  it("a deny numbered before an allow decides", function()
    local entries = { e(100, "6", "allow", true, "0.0.0.0/0", 443), e(90, "6", "deny", true, "0.0.0.0/0", 443) }
    local d = checks.nacl_decision(entries, true, "0.0.0.0/0", 443, 443)
    assert.is_false(d.allowed)
    assert.equal(90, d.decided_by.RuleNumber)
  end)

  it("an allow numbered before a deny decides, whatever the list order", function()
    local entries = { e(110, "6", "deny", true, "0.0.0.0/0", 443), e(100, "6", "allow", true, "0.0.0.0/0", 443) }
    local d = checks.nacl_decision(entries, true, "0.0.0.0/0", 443, 443)
    assert.is_true(d.allowed)
    assert.equal(100, d.allowed_by[1].RuleNumber)
  end)

  it("no matching entry is the implicit deny", function()
    local d = checks.nacl_decision({ e(100, "6", "allow", true, "10.0.0.0/8", 443) }, true, "0.0.0.0/0", 443, 443)
    assert.is_false(d.allowed)
    assert.equal("implicit deny", d.decided_by)
  end)

  it("a deny that hits only part of the traffic still blocks that part", function()
    local entries = { e(90, "6", "deny", true, "192.0.2.0/24", 443), e(100, "-1", "allow", true, "0.0.0.0/0") }
    assert.is_false(allowed(entries, true, "0.0.0.0/0", 443))
    -- but not traffic it cannot touch
    assert.is_true(allowed(entries, true, "10.0.0.0/16", 443))
  end)

  it("a deny after an earlier allow covered the same packets changes nothing", function()
    local entries = { e(50, "6", "allow", true, "10.0.0.0/8", 443), e(60, "6", "deny", true, "10.0.0.0/8", 443),
                      e(100, "6", "allow", true, "0.0.0.0/0", 443) }
    assert.is_true(allowed(entries, true, "0.0.0.0/0", 443))
  end)

  it("allows that together cover the ports and addresses are enough", function()
    local entries = { e(100, "6", "allow", false, "0.0.0.0/1", 1024, 65535),
                      e(101, "6", "allow", false, "128.0.0.0/1", 1024, 40000),
                      e(102, "6", "allow", false, "128.0.0.0/1", 40001, 65535) }
    assert.is_true(allowed(entries, false, "0.0.0.0/0", 1024, 65535))
    table.remove(entries, 3)
    assert.is_false(allowed(entries, false, "0.0.0.0/0", 1024, 65535))
  end)

  it("a deny on other ports does not match", function()
    local entries = { e(90, "6", "deny", true, "0.0.0.0/0", 22), e(100, "6", "allow", true, "0.0.0.0/0", 443) }
    assert.is_true(allowed(entries, true, "0.0.0.0/0", 443))
  end)

  it("protocol -1 matches every port even with a port range present; UDP and ICMP never match TCP", function()
    assert.is_true(allowed({ e(100, "-1", "allow", true, "0.0.0.0/0", 53) }, true, "0.0.0.0/0", 443))
    assert.is_false(allowed({ e(100, "17", "allow", true, "0.0.0.0/0", 0, 65535) }, true, "0.0.0.0/0", 443))
    assert.is_true(allowed({ e(90, "1", "deny", true, "0.0.0.0/0"), e(100, "6", "allow", true, "0.0.0.0/0", 443) },
      true, "0.0.0.0/0", 443))
    assert.is_true(allowed({ e(100, "tcp", "allow", true, "0.0.0.0/0", 443) }, true, "0.0.0.0/0", 443))
  end)

  it("keeps the directions apart", function()
    local entries = { e(100, "6", "allow", false, "0.0.0.0/0", 443) }
    assert.is_false(allowed(entries, true, "0.0.0.0/0", 443))
    assert.is_true(allowed(entries, false, "0.0.0.0/0", 443))
  end)

  it("evaluates IPv4 and IPv6 entries separately", function()
    local entries = { e(100, "-1", "allow", true, "0.0.0.0/0"), e(101, "-1", "deny", true, "::/0") }
    assert.is_true(allowed(entries, true, "0.0.0.0/0", 443))
    assert.is_false(allowed(entries, true, "::/0", 443))
    entries[2] = e(101, "6", "allow", true, "::/0", 443)
    assert.is_true(allowed(entries, true, "::/0", 443))
  end)

  it("compares actions case-insensitively and accepts text numbers", function()
    local entries = { { RuleNumber = "90", Protocol = "6", RuleAction = "DENY", Egress = "true",
                        CidrBlock = "0.0.0.0/0", PortRange = { From = "443", To = "443" } },
                      e(100, "6", "allow", true, "0.0.0.0/0", 443) }
    assert.is_false(allowed(entries, true, "0.0.0.0/0", 443))
  end)

  it("raises for a target that is not a CIDR block (misuse)", function()
    assert.has_error(function() checks.nacl_decision({}, true, "nope", 1, 2) end)
  end)
end)
