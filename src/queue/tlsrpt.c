/*
 * TLS-RPT counting on the loop (tlsrpt.h): each result adds one to a
 * row in memory; once a second the rows go to the store in one worker
 * transaction (added up there, store_tlsrpt.h), so a busy queue does not
 * write per session and a restart loses at most a second of counts. At
 * the turn of a UTC day (and once at start) the reports of the days
 * before are queued by a worker job (tlsrpt_report.c).
 */
#include "tlsrpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "../store/store.h"
#include "../store/store_tlsrpt.h"

struct tlsrpt_pending {
	int64_t day;
	char domain[256];
	char mx[256];
	char result[32];
	int64_t count;
	char policy[1024 + MTA_STS_MX_MAX * 300];
	char rua[TLSRPT_RUA_MAX];
};

struct tlsrpt {
	struct server *srv;
	struct tlsrpt_pending *rows;
	size_t n, cap;
	unsigned busy;           /* worker jobs in flight */
	bool freed;              /* tlsrpt_free came while busy */
	bool reporting;
	int64_t last_day;        /* the day whose reports were sent */
};

struct tlsrpt_job {
	struct tlsrpt *t;
	const struct config *cfg;
	struct tlsrpt_pending *rows;
	size_t n;
	int64_t day_max;         /* reports: days <= day_max */
};

static void
tlsrpt_destroy(struct tlsrpt *t)
{
	free(t->rows);
	free(t);
}

static void flush(struct tlsrpt *t);

static void
job_done(void *arg)
{
	struct tlsrpt_job *j = arg;
	struct tlsrpt *t = j->t;

	if (j->rows == NULL)
		t->reporting = false;
	free(j->rows);
	free(j);
	if (--t->busy == 0 && t->freed)
		tlsrpt_destroy(t);
}

static void
flush_work(void *arg)
{
	struct tlsrpt_job *j = arg;
	struct store *st = store_thread_handle(j->cfg);
	const char *err = NULL;
	size_t i;

	if (st == NULL || store_begin(st, &err) < 0)
		goto fail;
	for (i = 0; i < j->n; i++) {
		struct tlsrpt_pending *p = &j->rows[i];
		struct store_tlsrpt_row r = {
			.day = p->day, .domain = p->domain, .mx = p->mx,
			.result = p->result, .count = p->count,
			.policy_type = "sts", .policy_string = p->policy,
			.rua = p->rua,
		};
		if (store_tlsrpt_add(st, &r, &err) < 0)
			break;
	}
	if (i == j->n && store_commit(st, &err) == 0)
		return;
	store_rollback(st);
fail:
	log_error(NULL, "tlsrpt_store", " rows=%zu reason=%s", j->n,
		  log_qs(err != NULL ? err : "no store handle"));
}

void
tlsrpt_flush(struct tlsrpt *t)
{
	if (t != NULL)
		flush(t);
}

static void
flush(struct tlsrpt *t)
{
	struct tlsrpt_job *j;

	if (t->n == 0 || t->srv->workers == NULL ||
	    (j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->t = t;
	j->cfg = &t->srv->cfg;
	j->rows = t->rows;
	j->n = t->n;
	t->rows = NULL;
	t->n = t->cap = 0;
	t->busy++;
	workers_submit(t->srv->workers, flush_work, job_done, j);
}

static void
report_work(void *arg)
{
	struct tlsrpt_job *j = arg;
	struct store *st = store_thread_handle(j->cfg);
	const char *err = NULL;
	unsigned sent = 0;

	if (st == NULL ||
	    tlsrpt_send_reports(j->cfg, st, j->day_max, &sent, &err) < 0)
		log_error(NULL, "tlsrpt_report", " reason=%s",
			  log_qs(err != NULL ? err : "no store handle"));
}

void
tlsrpt_tick(struct tlsrpt *t)
{
	int64_t today = tlsrpt_day((int64_t)time(NULL));
	struct tlsrpt_job *j;

	if (t == NULL)
		return;
	flush(t);
	/* RFC 8460 §4.1: one report per day, covering the UTC day. */
	if (t->last_day == today || t->reporting ||
	    t->srv->workers == NULL || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	t->last_day = today;
	t->reporting = true;
	j->t = t;
	j->cfg = &t->srv->cfg;
	j->day_max = today - 86400;
	t->busy++;
	workers_submit(t->srv->workers, report_work, job_done, j);
}

void
tlsrpt_count(struct tlsrpt *t, const char *domain,
	     const struct mta_sts_answer *a, const char *rua, const char *mx,
	     enum mta_sts_result r)
{
	int64_t day = tlsrpt_day((int64_t)time(NULL));
	const char *res = mta_sts_result_name(r);
	struct tlsrpt_pending *p = NULL;
	int len;

	if (t == NULL || rua == NULL || rua[0] == '\0')
		return;
	for (size_t i = 0; i < t->n && p == NULL; i++)
		if (t->rows[i].day == day &&
		    strcmp(t->rows[i].domain, domain) == 0 &&
		    strcmp(t->rows[i].mx, mx) == 0 &&
		    strcmp(t->rows[i].result, res) == 0)
			p = &t->rows[i];
	if (p == NULL) {
		if (t->n >= TLSRPT_PENDING_MAX)
			flush(t);
		if (t->n == t->cap) {
			/* Most seconds see a handful of keys: grow as
			 * needed (a row is a few KB with its policy). */
			size_t nc = t->cap ? 2 * t->cap : 8;
			void *nr = realloc(t->rows, nc * sizeof(*t->rows));
			if (nr == NULL)
				return;
			t->rows = nr;
			t->cap = nc;
		}
		p = &t->rows[t->n++];
		memset(p, 0, sizeof(*p));
		p->day = day;
		snprintf(p->domain, sizeof(p->domain), "%s", domain);
		snprintf(p->mx, sizeof(p->mx), "%s", mx);
		snprintf(p->result, sizeof(p->result), "%s", res);
	}
	p->count++;
	snprintf(p->rua, sizeof(p->rua), "%s", rua);
	/* The policy in force; none when it could not be had. */
	len = a->policy.mode != MTA_STS_NONE || a->id[0] != '\0'
	      ? mta_sts_policy_format(&a->policy, p->policy,
				      sizeof(p->policy)) : 0;
	if (len <= 0)
		p->policy[0] = '\0';
	else if (p->policy[len - 1] == '\n')
		p->policy[len - 1] = '\0';
}

struct tlsrpt *
tlsrpt_new(struct server *srv)
{
	struct tlsrpt *t = calloc(1, sizeof(*t));

	if (t != NULL)
		t->srv = srv;
	return t;
}

void
tlsrpt_free(struct tlsrpt **tp)
{
	struct tlsrpt *t = *tp;

	if (t == NULL)
		return;
	*tp = NULL;
	flush(t);
	if (t->busy > 0)
		t->freed = true;
	else
		tlsrpt_destroy(t);
}
