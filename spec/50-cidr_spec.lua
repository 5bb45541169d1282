-- IPv4/IPv6 prefix math (eksegress.net.cidr): parsing, text form, containment,
-- subtraction and coverage. Expected values are written out by hand.
local cidr = require "eksegress.net.cidr"

local function text(list)
  local out = {}
  for i, p in ipairs(list) do out[i] = cidr.tostring(p) end
  return out
end

describe("cidr.parse", function()
  it("reads IPv4 and IPv6 blocks and clears host bits", function()
    assert.same({ family = 4, len = 16, words = { 0x0a14, 0x0000 } }, cidr.parse("10.20.3.4/16"))
    assert.same({ family = 6, len = 32, words = { 0x2001, 0x0db8, 0, 0, 0, 0, 0, 0 } }, cidr.parse("2001:db8:ff::1/32"))
    assert.equal("0.0.0.0/0", cidr.tostring(cidr.parse("0.0.0.0/0")))
    assert.equal("::/0", cidr.tostring(cidr.parse("::/0")))
  end)

  it("reads a bare address as a host prefix", function()
    assert.equal("192.0.2.7/32", cidr.tostring(cidr.parse("192.0.2.7")))
    assert.equal("::1/128", cidr.tostring(cidr.parse("::1")))
  end)

  it("reads an embedded IPv4 tail", function()
    assert.equal("::ffff:c000:201/128", cidr.tostring(cidr.parse("::ffff:192.0.2.1")))
  end)

  it("refuses malformed text with a message, never raising", function()
    for _, bad in ipairs({ "10.0.0.256/8", "10.0.0/8", "10.0.0.01/8", "10.0.0.0/33", "10.0.0.0/08", "1::2::3",
                           "1:2:3:4:5:6:7:8:9", "12345::/16", "::/129", "fe80::g", "", "/24", "10.0.0.0/-1" }) do
      local p, err = cidr.parse(bad)
      assert.is_nil(p, bad)
      assert.is_string(err, bad)
    end
    local p, err = cidr.parse(42)
    assert.is_nil(p)
    assert.equal("not a string", err)
  end)
end)

describe("cidr.tostring (RFC 5952)", function()
  it("compresses the longest run of zero words, the first on a tie, never a single word", function()
    assert.equal("2001:db8::1:0:0:1/128", cidr.tostring("2001:db8:0:0:1:0:0:1"))
    assert.equal("fe80::1:0:0:0/128", cidr.tostring("fe80:0:0:0:1:0:0:0"))
    assert.equal("2001:db8:0:1:1:1:1:1/128", cidr.tostring("2001:db8:0:1:1:1:1:1"))
    assert.equal("1:0:0:1::/128", cidr.tostring("1:0:0:1:0:0:0:0"))
    assert.equal("2600:1f18:abc:de00::/56", cidr.tostring("2600:1F18:0ABC:DE00:0:0:0:0/56"))
  end)

  it("raises for text that is not a prefix (misuse)", function()
    assert.has_error(function() cidr.tostring("nope") end)
  end)
end)

describe("cidr.contains / overlaps / equal", function()
  it("is containment of address sets, per family", function()
    assert.is_true(cidr.contains("0.0.0.0/0", "10.20.0.0/16"))
    assert.is_true(cidr.contains("10.20.0.0/16", "10.20.255.255"))
    assert.is_false(cidr.contains("10.20.0.0/16", "10.21.0.0/16"))
    assert.is_false(cidr.contains("10.20.0.0/16", "10.0.0.0/8"))
    assert.is_false(cidr.contains("0.0.0.0/0", "::/0"))
    assert.is_true(cidr.contains("2600:1f18::/32", "2600:1f18:abc:de00::/56"))
  end)

  it("overlaps when either contains the other", function()
    assert.is_true(cidr.overlaps("10.0.0.0/8", "10.1.0.0/16"))
    assert.is_true(cidr.overlaps("10.1.0.0/16", "10.0.0.0/8"))
    assert.is_false(cidr.overlaps("10.0.0.0/8", "11.0.0.0/8"))
    assert.is_false(cidr.overlaps("::/0", "0.0.0.0/0"))
  end)

  it("equal ignores host bits", function()
    assert.is_true(cidr.equal("10.0.0.1/8", "10.0.0.0/8"))
    assert.is_false(cidr.equal("10.0.0.0/8", "10.0.0.0/9"))
  end)
end)

describe("cidr.subtract and cidr.covers", function()
  it("splits a block around a hole into its siblings", function()
    assert.same({ "128.0.0.0/1", "64.0.0.0/2", "32.0.0.0/3", "16.0.0.0/4", "0.0.0.0/5", "12.0.0.0/6",
                  "8.0.0.0/7", "11.0.0.0/8" }, text(cidr.subtract("0.0.0.0/0", "10.0.0.0/8")))
    assert.same({}, text(cidr.subtract("10.1.0.0/16", "10.0.0.0/8")))
    assert.same({ "11.0.0.0/8" }, text(cidr.subtract("11.0.0.0/8", "10.0.0.0/8")))
    assert.same({ "8000::/1" }, text(cidr.subtract("::/0", "::/1")))
  end)

  it("covers a block with pieces that add up to it, and not with a gap", function()
    assert.is_true(cidr.covers({ "0.0.0.0/1", "128.0.0.0/1" }, "0.0.0.0/0"))
    assert.is_false(cidr.covers({ "0.0.0.0/1", "128.0.0.0/2" }, "0.0.0.0/0"))
    assert.is_true(cidr.covers({ "10.0.0.0/8" }, "10.20.0.0/16"))
    assert.is_false(cidr.covers({}, "10.20.0.0/16"))
    assert.is_false(cidr.covers({ "0.0.0.0/0" }, "::/0"))
    assert.is_true(cidr.covers({ "::/1", "8000::/1" }, "::/0"))
  end)

  it("subtract_all leaves exactly the uncovered addresses", function()
    assert.same({ "10.0.128.0/17" }, text(cidr.subtract_all({ "10.0.0.0/16" }, { "10.0.0.0/17" })))
  end)
end)

describe("cidr helpers", function()
  it("any and family", function()
    assert.equal("0.0.0.0/0", cidr.any(4))
    assert.equal("::/0", cidr.any(6))
    assert.equal(6, cidr.family("::/0"))
    assert.equal(4, cidr.family("10.0.0.0/8"))
    assert.is_nil(cidr.family("x"))
  end)
end)
