/*
 * guard_gate.c: the guard as the engine runs it on every EKS-bound request:
 * the current mode from the engine's own observations, the decision, and its
 * line in the audit log (see es_guard_gate in guard.h).
 */
#include "guard.h"
#include "guard_internal.h"
#include "es_error.h"

#include <string.h>

const char *es_guard_state_current(struct es_guard_state *st, unsigned long long observed_with,
                                   const char *identity, const char *endpoint, const char *cluster,
                                   time_t now)
{
  if(observed_with)
    return es_guard_state_lookup_observation(st, observed_with, identity, endpoint, cluster, now,
                                             ES_GUARD_MAX_AGE);
  return es_guard_state_lookup(st, identity, endpoint, cluster, now, ES_GUARD_MAX_AGE);
}

/* Append the decision's audit line. Every mode decision must be on record
   before anything is sent: the caller refuses the request when this fails. */
static int audit(struct es_journal *j, const struct es_guard_decision *d, time_t now,
                 const char *identity, int *sys_errno)
{
  struct es_buf line = ES_BUF_INIT;
  int rc = es_guard_audit_line(d, now, identity, &line);
  /* The line ends in '\n'; the journal adds its own. */
  if(rc == ES_OK)
    rc = es_journal_append(j, line.data, line.len - 1);
  if(rc == ES_EIO && sys_errno)
    *sys_errno = es_journal_errno(j);
  es_buf_free(&line);
  return rc;
}

int es_guard_gate(struct es_guard_state *st, struct es_journal *audit_log,
                  const struct es_guard_request *r, time_t now,
                  struct es_guard_decision *d, int *sys_errno)
{
  struct es_guard_input gi;
  char cluster[256];
  int rc;

  if(sys_errno)
    *sys_errno = 0;
  memset(&gi, 0, sizeof(gi));
  if(r) {
    gi.method = r->method;
    gi.target = r->target;
    gi.target_len = r->target_len;
    gi.body = r->body;
    gi.body_len = r->body_len;
    gi.acknowledge = r->acknowledge;
    gi.allow_undocumented = r->allow_undocumented;
    if(r->target && es_guard_target_cluster(r->target, r->target_len, cluster, sizeof(cluster)))
      gi.current_mode = es_guard_state_current(st, r->observed_with, r->access_key_id, r->endpoint,
                                               cluster, now);
  }
  rc = es_guard_check(r ? &gi : NULL, d);
  if(rc != ES_OK)
    return rc;                    /* d already says refuse */
  if(audit_log && (d->touches_mode || d->action != ES_GUARD_ALLOW)) {
    rc = audit(audit_log, d, now, r->identity, sys_errno);
    if(rc != ES_OK)
      return rc;
  }
  /* From the moment a mode change is on its way, what we observed of the
     cluster is history: a second change needs a new DescribeCluster. */
  if(d->action == ES_GUARD_ALLOW && d->touches_mode && d->cluster[0])
    es_guard_state_forget(st, r->access_key_id, r->endpoint, d->cluster);
  return ES_OK;
}
