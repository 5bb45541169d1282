-- Regressions (issue 8, items 11 and 16): a service that hands out a fresh
-- page token forever cannot keep paginate/collect running (max_pages,
-- max_items, PaginationLimit), and a 2xx response whose members the library
-- relies on have the wrong type is a ParseError naming the member, never a
-- success.
local eksegress = require "eksegress"
local services = require "eksegress.services"
local scripted = require "helpers.scripted"

local KEYS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

describe("regressions: endless listings and wrongly typed members (issue 8)", function()
  local srv, client
  setup(function()
    srv = scripted.start()
    client = assert(eksegress.client{ region = "us-east-1", endpoint_url = srv.url, credentials = KEYS,
      env = function() return nil end, max_attempts = 1 })
  end)
  teardown(function() srv:stop() end)

  -- A fresh token on every page. (After 2,000 pages the script gives up and
  -- sends a last page, so a client without limits fails these tests instead
  -- of hanging them.)
  local ENDLESS = {
    { path = "/clusters", status = 200, body = '{"clusters": ["c{n}"], "nextToken": "t{n}"}', limit = 2000 },
    { path = "/clusters", status = 200, body = '{"clusters": ["last"]}' },
  }

  it("regression: a fresh nextToken on every page ends in PaginationLimit after max_pages", function()
    srv:script(ENDLESS)
    local pages, last_err = 0, nil
    for page, err in client:paginate("eks", "ListClusters", {}, { max_pages = 25 }) do
      if not page then
        last_err = err
        break
      end
      pages = pages + 1
      assert.is_true(pages <= 2001, "paginate did not stop")
    end
    assert.are.equal(25, pages)
    assert.are.equal("PaginationLimit", last_err.code)
    assert.matches("stopped after 25 pages", last_err.message)
    assert.are.equal(25, #srv:requests())
    local all, err = client:collect("eks", "ListClusters", {}, { max_pages = 10 })
    assert.is_nil(all)
    assert.are.equal("PaginationLimit", err.code)
  end)

  it("regression: max_items bounds what collect gathers, and the defaults are high but finite", function()
    srv:script(ENDLESS)
    local all, err = client:collect("eks", "ListClusters", {}, { max_items = 30 })
    assert.is_nil(all)
    assert.are.equal("PaginationLimit", err.code)
    assert.matches("stopped after 30 items", err.message)
    assert.are.equal(10000, client.settings.max_pages)
    assert.are.equal(1000000, client.settings.max_items)
    local small = assert(eksegress.client{ region = "us-east-1", endpoint_url = srv.url, credentials = KEYS,
      env = function() return nil end, max_pages = 3 })
    local _, serr = small:collect("eks", "ListClusters", {})
    assert.are.equal("PaginationLimit", serr.code)
  end)

  it("regression: {\"cluster\":\"prod\"} and {\"clusters\":\"prod\"} are ParseErrors naming the member", function()
    srv:script{
      { path = "/clusters/prod", status = 200, body = '{"cluster": "prod"}' },
      { path = "/clusters/nostatus", status = 200, body = '{"cluster": {"name": "nostatus", "status": 5}}' },
      { path = "/clusters/missing", status = 200, body = '{}' },
      { path = "/clusters", status = 200, body = '{"clusters": "prod"}' },
    }
    local out, err = client:call("eks", "DescribeCluster", { name = "prod" })
    local _
    assert.is_nil(out)
    assert.are.equal("ParseError", err.code)
    assert.matches("member 'cluster' must be an object %(got a string %(\"prod\"%)%)", err.message)
    assert.are.equal("DescribeCluster", err.operation)
    _, err = client:call("eks", "DescribeCluster", { name = "nostatus" })
    assert.matches("member 'cluster.status' must be a string %(got number 5%)", err.message)
    _, err = client:call("eks", "DescribeCluster", { name = "missing" })
    assert.matches("member 'cluster' is missing", err.message)
    _, err = client:call("eks", "ListClusters", {})
    assert.matches("member 'clusters' must be a list", err.message)
    local all
    all, err = client:collect("eks", "ListClusters", {})
    assert.is_nil(all)
    assert.are.equal("ParseError", err.code)
  end)

  it("regression: list elements, STS and Organizations members are checked too", function()
    srv:script{
      { path = "/clusters", status = 200, body = '{"clusters": ["a", 3]}' },
      { method = "POST", path = "/", headers = { ["Content-Type"] = "text/xml" },
        body = "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>111122223333</Account>"
          .. "</GetCallerIdentityResult></GetCallerIdentityResponse>" },
    }
    local _, err = client:call("eks", "ListClusters", {})
    assert.matches("member 'clusters' must be a list of strings %(item 2 is number 3%)", err.message)
    _, err = client:call("sts", "GetCallerIdentity", {})
    assert.are.equal("ParseError", err.code)
    assert.matches("member 'Arn' is missing", err.message)
    srv:script{ { method = "POST", path = "/", headers = { ["Content-Type"] = "application/x-amz-json-1.1" },
                  body = '{"Accounts": "all of them"}' } }
    _, err = client:call("organizations", "ListAccounts", {})
    assert.are.equal("ParseError", err.code)
    assert.matches("member 'Accounts' must be a list", err.message)
  end)

  it("the output_types mechanism: optional members, null, nested paths, parents first", function()
    local op = { name = "X", output_types = { a = "table", ["a.b"] = "string?", ["a.c"] = "list<table>?",
                                             d = "integer?" } }
    assert.is_true(services.check_output(op, { a = {} }))
    assert.is_true(services.check_output(op, { a = { b = require("cjson").null } }))
    assert.is_true(services.check_output(op, { a = { c = { {}, { x = 1 } } }, d = 3 }))
    assert.matches("member 'a' must be an object", select(2, services.check_output(op, { a = { 1, 2 } })))
    assert.matches("'a.c' must be a list of tables", select(2, services.check_output(op, { a = { c = { 1 } } })))
    assert.matches("'d' must be an integer", select(2, services.check_output(op, { a = {}, d = 1.5 })))
    assert.has_error(function() services.check_output({ name = "Y", output_types = { a = "strin" } }, {}) end)
    -- the models declare them for what the library and examples read
    local eks = services.get("eks").operations
    assert.are.equal("table", eks.DescribeCluster.output_types.cluster)
    assert.are.equal("list<string>", eks.ListClusters.output_types.clusters)
    assert.are.equal("string", eks.UpdateClusterConfig.output_types["update.id"])
  end)
end)
