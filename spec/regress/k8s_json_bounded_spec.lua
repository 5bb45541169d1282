-- Bodies from a cluster's Kubernetes API are decoded within the same bounds
-- as AWS responses: before, k8s.lua used cjson.safe directly, so a small
-- body of many tiny values expanded into hundreds of MB of Lua tables.
local k8s = require "eksegress.k8s"

describe("k8s JSON bodies", function()
  it("regression: a body of more than a million values is refused before it is decoded", function()
    local body = "{\"items\":[" .. string.rep("0,", 1200000) .. "0]}"
    local v, err = k8s.decode_json(body)
    assert.is_nil(v)
    assert.matches("1000000", tostring(err):gsub(",", ""), 1, true)
  end)

  it("regression: nesting deeper than the bound is refused with a message, not a stack error", function()
    local v, err = k8s.decode_json(string.rep("[", 5000) .. string.rep("]", 5000))
    assert.is_nil(v)
    assert.is_string(err)
  end)

  it("an ordinary list decodes, with null members kept for the list code", function()
    local v = assert(k8s.decode_json('{"kind":"List","metadata":{"continue":null},"items":[{"a":1}]}'))
    assert.are.equal("List", v.kind)
    assert.are.equal(require("cjson.safe").null, v.metadata.continue)
    assert.are.equal(1, v.items[1].a)
  end)

  it("malformed JSON is nil and a message", function()
    local v, err = k8s.decode_json("{nope")
    assert.is_nil(v)
    assert.is_string(err)
  end)
end)
