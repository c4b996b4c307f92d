/*
 * Unit tests for the TLSA record parser and the DANE record set
 * (src/queue/tls_policy.h): wire rdata to records, which records RFC 7672
 * lets SMTP use (DANE-TA, DANE-EE; PKIX usages unusable), digest lengths,
 * the copyable block of usable records, and the policy's names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queue/smtpc.h"
#include "queue/tls_policy.h"

/* rdata: usage, selector, mtype, then n octets of v. */
static size_t
mk(unsigned char *out, int u, int s, int m, size_t n, unsigned char v)
{
	out[0] = (unsigned char)u;
	out[1] = (unsigned char)s;
	out[2] = (unsigned char)m;
	memset(out + 3, v, n);
	return n + 3;
}

static void
test_parse(void **state)
{
	unsigned char rd[80];
	struct tls_tlsa r;
	size_t n = mk(rd, 3, 1, 1, 32, 0xab);

	(void)state;
	assert_int_equal(tls_tlsa_parse(rd, n, &r), 0);
	assert_int_equal(r.usage, 3);
	assert_int_equal(r.selector, 1);
	assert_int_equal(r.mtype, 1);
	assert_int_equal(r.len, 32);
	assert_ptr_equal(r.data, rd + 3);
	assert_true(tls_tlsa_usable(&r));
	/* Too short: the head alone, or less. */
	assert_int_equal(tls_tlsa_parse(rd, 3, &r), -1);
	assert_int_equal(tls_tlsa_parse(rd, 2, &r), -1);
	assert_int_equal(tls_tlsa_parse(rd, 0, &r), -1);
	assert_int_equal(tls_tlsa_parse(NULL, 10, &r), -1);
}

static void
test_parse_limit(void **state)
{
	unsigned char *rd = malloc(TLS_TLSA_DATA_MAX + 4);
	struct tls_tlsa r;

	(void)state;
	assert_non_null(rd);
	mk(rd, 3, 0, 0, TLS_TLSA_DATA_MAX + 1, 1);
	assert_int_equal(tls_tlsa_parse(rd, TLS_TLSA_DATA_MAX + 3, &r), 0);
	assert_int_equal(tls_tlsa_parse(rd, TLS_TLSA_DATA_MAX + 4, &r), -1);
	free(rd);
}

static void
test_usable(void **state)
{
	/* usage, selector, mtype, data length, usable */
	static const struct {
		int u, s, m;
		size_t n;
		bool ok;
	} cases[] = {
		/* RFC 7672 §3.1: PKIX-TA(0), PKIX-EE(1) unusable for SMTP. */
		{ 0, 1, 1, 32, false },
		{ 1, 1, 1, 32, false },
		{ 2, 0, 1, 32, true },
		{ 3, 1, 1, 32, true },
		{ 4, 1, 1, 32, false },
		/* Selector 2 and matching type 3 are unknown. */
		{ 3, 2, 1, 32, false },
		{ 3, 1, 3, 32, false },
		/* Digests of the wrong length (RFC 6698 §2.1.3). */
		{ 3, 1, 1, 31, false },
		{ 3, 1, 2, 64, true },
		{ 3, 1, 2, 32, false },
		/* Full data (matching type 0): any length. */
		{ 3, 1, 0, 70, true },
	};
	unsigned char rd[80];
	struct tls_tlsa r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = mk(rd, cases[i].u, cases[i].s, cases[i].m,
			      cases[i].n, 1);

		assert_int_equal(tls_tlsa_parse(rd, n, &r), 0);
		assert_int_equal(tls_tlsa_usable(&r), cases[i].ok);
	}
}

static void
test_dane_set(void **state)
{
	unsigned char a[40], b[40], c[80], d[2];
	const unsigned char *rd[4] = { a, b, c, d };
	size_t len[4];
	size_t seen;
	bool oom;
	struct tls_dane *set, *copy;

	(void)state;
	len[0] = mk(a, 1, 1, 1, 32, 0x11);  /* PKIX-EE: unusable */
	len[1] = mk(b, 3, 1, 1, 32, 0x22);
	len[2] = mk(c, 2, 0, 2, 64, 0x33);
	len[3] = 2;                         /* malformed */
	set = tls_dane_new("mx.example.org", rd, len, 4, &seen, &oom);
	assert_non_null(set);
	assert_false(oom);
	assert_int_equal(seen, 3);
	assert_int_equal(set->n, 2);
	assert_string_equal(set->base, "mx.example.org");
	assert_int_equal(set->rr[0].usage, 3);
	assert_int_equal(set->rr[0].len, 32);
	assert_int_equal(set->rr[1].usage, 2);
	assert_int_equal(set->rr[1].mtype, 2);
	/* The copy is whole: its records point into itself. */
	copy = tls_dane_dup(set);
	free(set);
	assert_non_null(copy);
	assert_int_equal(((unsigned char *)copy)[copy->rr[0].off], 0x22);
	assert_int_equal(((unsigned char *)copy)[copy->rr[1].off + 63],
			 0x33);
	free(copy);
	/* Only unusable records: none, but seen. */
	set = tls_dane_new("mx", rd, len, 1, &seen, &oom);
	assert_null(set);
	assert_int_equal(seen, 1);
	assert_false(oom);
	assert_null(tls_dane_new("mx", rd + 3, len + 3, 1, &seen, &oom));
	assert_int_equal(seen, 0);
	assert_null(tls_dane_dup(NULL));
}

/* What a connection to each host must do (tls_policy_target) and which
 * hosts wait (tls_policy_host_blocked), from the lookups' outcomes. */
static void
test_target(void **state)
{
	unsigned char rd[40];
	const unsigned char *rdp[1] = { rd };
	size_t len[1], seen;
	bool oom;
	struct tls_policy p;
	struct smtpc_target t;
	struct smtpc_reply why;

	(void)state;
	memset(&p, 0, sizeof(p));
	len[0] = mk(rd, 3, 1, 1, 32, 7);
	p.base = CONFIG_TLS_MAY;
	p.n_hosts = 4;
	p.hosts[0].st = TLS_HOST_DANE;
	p.hosts[0].dane = tls_dane_new("mx1", rdp, len, 1, &seen, &oom);
	p.hosts[1].st = TLS_HOST_UNUSABLE;
	p.hosts[2].st = TLS_HOST_FAIL;
	snprintf(p.hosts[2].name, sizeof(p.hosts[2].name), "mx3");
	snprintf(p.hosts[2].why, sizeof(p.hosts[2].why), "DNSSEC bogus");
	p.hosts[3].st = TLS_HOST_PLAIN;
	assert_non_null(p.hosts[0].dane);

	memset(&t, 0, sizeof(t));
	t.tls = CONFIG_TLS_MAY;
	tls_policy_target(&p, 0, &t);
	assert_int_equal(t.tls, CONFIG_TLS_VERIFY);
	assert_ptr_equal(t.dane, p.hosts[0].dane);
	t.tls = CONFIG_TLS_MAY;
	tls_policy_target(&p, 1, &t);
	assert_int_equal(t.tls, CONFIG_TLS_ENCRYPT);
	assert_null(t.dane);
	t.tls = CONFIG_TLS_MAY;
	tls_policy_target(&p, 3, &t);
	assert_int_equal(t.tls, CONFIG_TLS_MAY);
	assert_null(t.dane);
	/* Out of range (the relayhost has no policy): unchanged. */
	tls_policy_target(&p, 9, &t);
	assert_int_equal(t.tls, CONFIG_TLS_MAY);

	assert_false(tls_policy_host_blocked(&p, 0, &why));
	assert_true(tls_policy_host_blocked(&p, 2, &why));
	assert_int_equal(why.code, 451);
	assert_string_equal(why.status, "4.7.5");
	assert_non_null(strstr(why.text, "_25._tcp.mx3"));
	assert_non_null(strstr(why.text, "DNSSEC bogus"));
	assert_false(tls_policy_host_blocked(&p, 9, &why));

	/* tls_policy none: no DANE at all. */
	p.base = CONFIG_TLS_NONE;
	t.tls = CONFIG_TLS_NONE;
	tls_policy_target(&p, 0, &t);
	assert_int_equal(t.tls, CONFIG_TLS_NONE);
	assert_null(t.dane);
	tls_policy_clear(&p);
	assert_int_equal(p.n_hosts, 0);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(tls_policy_mode_name(TLS_POLICY_DANE), "dane");
	assert_string_equal(tls_policy_mode_name(TLS_POLICY_OPPORTUNISTIC),
			    "opportunistic");
	/* RFC 8460 §4.3 result types. */
	assert_string_equal(tls_result_name(TLS_RESULT_VALIDATION_FAILURE),
			    "validation-failure");
	assert_string_equal(tls_result_name(
				    TLS_RESULT_STARTTLS_NOT_SUPPORTED),
			    "starttls-not-supported");
	assert_string_equal(tls_result_name(TLS_RESULT_OK), "success");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_limit),
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_dane_set),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
