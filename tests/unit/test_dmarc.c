/*
 * DMARC (src/mailauth/dmarc_parse.c, dmarc.c): the policy record parser
 * (RFC 7489 §6.3 and the examples of Appendix B), organisational domains
 * through the Public Suffix List, alignment and the verdict with pct=.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mailauth/dmarc.h"

static int
parse(const char *txt, struct dmarc_record *r)
{
	const char *why = NULL;
	int rc = dmarc_record_parse(txt, strlen(txt), r, &why);

	if (rc < 0)
		assert_non_null(why);
	return rc;
}

static void
test_record_defaults(void **state)
{
	struct dmarc_record r;

	(void)state;
	assert_int_equal(parse("v=DMARC1; p=reject", &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_int_equal(r.sp, DMARC_POLICY_REJECT); /* sp= defaults to p= */
	assert_false(r.adkim_strict);
	assert_false(r.aspf_strict);
	assert_int_equal(r.pct, 100);
	assert_false(r.has_rua);
}

static void
test_record_tags(void **state)
{
	struct dmarc_record r;

	(void)state;
	/* RFC 7489 Appendix B.2.3 style, with FWS around '=' and ';'. */
	assert_int_equal(parse("v=DMARC1; p=quarantine ;sp = none; adkim=s;"
			       " aspf=s; pct=25; rua=mailto:d@example.com;"
			       " ruf=mailto:f@example.com; fo=1; ri=3600;",
			       &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.sp, DMARC_POLICY_NONE);
	assert_true(r.adkim_strict);
	assert_true(r.aspf_strict);
	assert_int_equal(r.pct, 25);
	assert_true(r.has_rua);
	/* Values without case (as OpenDMARC reads them). */
	assert_int_equal(parse("v=DMARC1;p=Reject;pct=0", &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_int_equal(r.pct, 0);
	/* Bad optional values take their defaults (§6.3). */
	assert_int_equal(parse("v=DMARC1; p=none; pct=101; adkim=x", &r), 1);
	assert_int_equal(r.pct, 100);
	assert_false(r.adkim_strict);
	assert_int_equal(parse("v=DMARC1; p=none; pct=-5", &r), 1);
	assert_int_equal(r.pct, 100);
	/* Unknown tags are ignored. */
	assert_int_equal(parse("v=DMARC1; p=none; np=reject; x=y", &r), 1);
}

static void
test_record_not_dmarc(void **state)
{
	struct dmarc_record r;

	(void)state;
	/* Other TXT records at the name: not DMARC records (0). */
	assert_int_equal(parse("v=spf1 -all", &r), 0);
	assert_int_equal(parse("", &r), 0);
	assert_int_equal(parse("p=reject; v=DMARC1", &r), 0); /* v= first */
	assert_int_equal(parse("v=dmarc1; p=reject", &r), 0); /* exact */
	assert_int_equal(parse("v=DMARC2; p=reject", &r), 0);
	assert_int_equal(parse("some text", &r), 0);
}

static void
test_record_broken(void **state)
{
	struct dmarc_record r;

	(void)state;
	assert_int_equal(parse("v=DMARC1", &r), -1);            /* no p= */
	assert_int_equal(parse("v=DMARC1; p=block", &r), -1);
	assert_int_equal(parse("v=DMARC1; p=none; sp=x", &r), -1);
	assert_int_equal(parse("v=DMARC1; p=none; p=reject", &r), -1);
	assert_int_equal(parse("v=DMARC1;; p=none", &r), -1);
	/* §6.6.3 step 6: a bad p= with a usable rua= is p=none. */
	assert_int_equal(parse("v=DMARC1; p=bogus; rua=mailto:a@b.example",
			       &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_NONE);
	assert_int_equal(r.sp, DMARC_POLICY_NONE);
	assert_int_equal(parse("v=DMARC1; rua=mailto:a@b.example", &r), 1);
	assert_int_equal(r.p, DMARC_POLICY_NONE);
}

static void
org(const char *name, const char *want)
{
	char out[256];

	assert_int_equal(dmarc_org_domain(name, out, sizeof(out)),
			 want != NULL ? 0 : -1);
	if (want != NULL)
		assert_string_equal(out, want);
}

static void
test_org_domain(void **state)
{
	(void)state;
	org("example.com", "example.com");
	org("Mail.Example.COM", "example.com");
	org("a.b.example.co.uk", "example.co.uk");
	org("example.co.uk", "example.co.uk");
	org("co.uk", NULL);
	org("com", NULL);
	org("x.y.example.test", "example.test"); /* unlisted TLD: "*" */
	org("example.com.", "example.com");
}

static void
test_alignment(void **state)
{
	(void)state;
	assert_true(dmarc_aligned("example.com", "EXAMPLE.com", true));
	assert_false(dmarc_aligned("mail.example.com", "example.com", true));
	assert_true(dmarc_aligned("mail.example.com", "example.com", false));
	assert_true(dmarc_aligned("a.example.co.uk", "b.example.co.uk",
				  false));
	assert_false(dmarc_aligned("a.co.uk", "b.co.uk", false));
	assert_false(dmarc_aligned("co.uk", "example.co.uk", false));
	assert_false(dmarc_aligned("", "example.com", false));
	assert_false(dmarc_aligned("example.net", "example.com", false));
}

static void
test_decide(void **state)
{
	struct dmarc_record r;
	struct dmarc_verdict v;
	struct dmarc_auth dk[2] = { { "other.example", true, false },
				    { "mail.example.com", true, false } };
	struct dmarc_auth spf = { "example.com", false, false };

	(void)state;
	dmarc_decide(NULL, "example.com", "example.com", NULL, 0, NULL, 0, &v);
	assert_int_equal(v.result, DMARC_RESULT_NONE);

	assert_int_equal(parse("v=DMARC1; p=reject; adkim=s", &r), 1);
	/* Strict DKIM: mail.example.com is not example.com. */
	dmarc_decide(&r, "example.com", "example.com", dk, 2, &spf, 0, &v);
	assert_int_equal(v.result, DMARC_RESULT_FAIL);
	assert_int_equal(v.action, DMARC_POLICY_REJECT);
	/* Relaxed: it is. */
	r.adkim_strict = false;
	dmarc_decide(&r, "example.com", "example.com", dk, 2, &spf, 0, &v);
	assert_int_equal(v.result, DMARC_RESULT_PASS);
	assert_true(v.by_dkim);
	assert_int_equal(v.action, DMARC_POLICY_NONE);
	/* SPF alone. */
	spf.pass = true;
	dmarc_decide(&r, "example.com", "example.com", dk, 1, &spf, 0, &v);
	assert_int_equal(v.result, DMARC_RESULT_PASS);
	assert_true(v.by_spf);
	assert_false(v.by_dkim);
	/* A failing DKIM signature of the right domain does not count. */
	spf.pass = false;
	dk[1].pass = false;
	dmarc_decide(&r, "example.com", "example.com", dk, 2, &spf, 0, &v);
	assert_int_equal(v.result, DMARC_RESULT_FAIL);
	/* ...but one that could not be checked now is a temperror. */
	dk[1].temp = true;
	dmarc_decide(&r, "example.com", "example.com", dk, 2, &spf, 0, &v);
	assert_int_equal(v.result, DMARC_RESULT_TEMPERROR);
	assert_true(v.temp);
	assert_int_equal(v.policy, DMARC_POLICY_REJECT);
	assert_int_equal(v.action, DMARC_POLICY_NONE);
	/* An unaligned one's is not. */
	dk[1].temp = false;
	dk[0].temp = true;
	dmarc_decide(&r, "example.com", "example.com", dk, 2, &spf, 0, &v);
	assert_int_equal(v.result, DMARC_RESULT_FAIL);
}

static void
test_decide_sp_pct(void **state)
{
	struct dmarc_record r;
	struct dmarc_verdict v;

	(void)state;
	assert_int_equal(parse("v=DMARC1; p=reject; sp=quarantine; pct=50",
			       &r), 1);
	/* A subdomain gets sp=. */
	dmarc_decide(&r, "a.example.com", "example.com", NULL, 0, NULL, 0, &v);
	assert_int_equal(v.result, DMARC_RESULT_FAIL);
	assert_int_equal(v.policy, DMARC_POLICY_QUARANTINE);
	assert_int_equal(v.action, DMARC_POLICY_QUARANTINE);
	/* Outside the sample: one step milder (§6.6.4). */
	dmarc_decide(&r, "a.example.com", "example.com", NULL, 0, NULL, 50, &v);
	assert_true(v.sampled_out);
	assert_int_equal(v.action, DMARC_POLICY_NONE);
	dmarc_decide(&r, "example.com", "example.com", NULL, 0, NULL, 99, &v);
	assert_int_equal(v.policy, DMARC_POLICY_REJECT);
	assert_int_equal(v.action, DMARC_POLICY_QUARANTINE);
	dmarc_decide(&r, "example.com", "example.com", NULL, 0, NULL, 49, &v);
	assert_int_equal(v.action, DMARC_POLICY_REJECT);
	/* pct=0: never the full policy. */
	r.pct = 0;
	dmarc_decide(&r, "example.com", "example.com", NULL, 0, NULL, 0, &v);
	assert_int_equal(v.action, DMARC_POLICY_QUARANTINE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_defaults),
		cmocka_unit_test(test_record_tags),
		cmocka_unit_test(test_record_not_dmarc),
		cmocka_unit_test(test_record_broken),
		cmocka_unit_test(test_org_domain),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_decide_sp_pct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
