-- errors.transient is the one verdict on "worth trying again after a pause",
-- shared by the audit's later passes and migrate's uncertain outcomes (it
-- lived in the migration's step machine, which the audit then had to load).
-- A denial or a guard refusal read as transient would make the audit send a
-- request the account refused again, or migrate treat a refusal as a lost
-- answer.
local errors = require "eksegress.errors"
local machine = require "eksegress.workflows.migrate.machine"

describe("errors.transient", function()
  it("is true for what outlived the engine's retries: throttling, 5xx, lost connections, an empty quota, "
    .. "a truncated answer", function()
    for _, e in ipairs{
      errors.new("ThrottlingException", "slow down", { status = 429, throttling = true }),
      errors.new("InternalFailure", "oops", { status = 500 }),
      errors.new("ServiceUnavailable", "later", { status = 503 }),
      errors.new("SomethingNew", "flagged by the engine", { retryable = true }),
      errors.new("ConnectionReset", "peer closed"),
      errors.new("Timeout", "timed out"),
      errors.new("RetryQuotaExceeded", "no quota", { quota_exhausted = true }),
      errors.new("ParseError", "truncated body"),
    } do
      assert.is_true(errors.transient(e), e.code)
    end
  end)

  it("is false for denials, bad requests, guard refusals and non-errors", function()
    for _, e in ipairs{
      errors.new("AccessDeniedException", "no", { status = 403 }),
      errors.new("InvalidParameterException", "bad", { status = 400 }),
      errors.new("ResourceNotFoundException", "gone", { status = 404 }),
      errors.new("IrreversibleTransitionRefused", "never", { guard = true }),
      -- a guard refusal stays final even when something marked it retryable
      errors.new("IrreversibleTransitionRefused", "never", { guard = true, retryable = true, status = 500 }),
    } do
      assert.is_false(errors.transient(e), e.code)
    end
    assert.is_false(errors.transient(nil))
    assert.is_false(errors.transient("Timeout"))
  end)

  it("is the verdict the migration's step machine uses", function()
    assert.are.equal(errors.transient, machine.transient)
  end)
end)
