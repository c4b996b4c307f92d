/*
 * The scheduler's pure parts (queue_int.h): the retry backoff, the reply
 * line kept for the DSN, relayhost parsing, and the MX loop rule of RFC
 * 5321 §5.1. The scheduling itself is tested end to end
 * (tests/e2e/test_queue_*.py).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "core/runtime.h"
#include "queue/queue_int.h"

static void
test_backoff(void **state)
{
	struct config cfg = { 0 };

	cfg.retry_min = 60;
	cfg.retry_max = 3600;
	for (int i = 0; i < 200; i++) {
		int64_t a = queue_backoff(&cfg, 1), b = queue_backoff(&cfg, 2);
		int64_t c = queue_backoff(&cfg, 30);

		assert_true(a >= 54 && a <= 66);
		assert_true(b >= 108 && b <= 132);
		/* Capped at retry_max, then ±10%. */
		assert_true(c >= 3240 && c <= 3960);
	}
	/* Seconds knobs of the tests: never 0. */
	cfg.retry_min = 1;
	cfg.retry_max = 1;
	assert_int_equal(queue_backoff(&cfg, 1), 1);
	assert_int_equal(queue_backoff(&cfg, 9), 1);
}

static void
test_reply_line(void **state)
{
	struct smtpc_reply r = { .code = 550, .status = "5.1.1" };
	char out[600];

	snprintf(r.text, sizeof(r.text), "550 5.1.1 no such user");
	queue_reply_line(&r, out, sizeof(out));
	assert_string_equal(out, "550 5.1.1 no such user");
	/* A reply we made up: the code and status go in front. */
	queue_reply_set(&r, 451, "4.4.3", "DNS lookup for %s failed", "x.test");
	queue_reply_line(&r, out, sizeof(out));
	assert_string_equal(out, "451 4.4.3 DNS lookup for x.test failed");
}

static int
route_init(struct server *srv, struct queue *q, const char *relay)
{
	char err[256];

	memset(srv, 0, sizeof(*srv));
	memset(q, 0, sizeof(*q));
	snprintf(srv->cfg.hostname, sizeof(srv->cfg.hostname), "mx.ours.test");
	snprintf(srv->cfg.relayhost, sizeof(srv->cfg.relayhost), "%s", relay);
	srv->cfg.listeners[0].proto = PROTO_SMTP;
	snprintf(srv->cfg.listeners[0].addr, 64, "127.0.0.5");
	srv->cfg.listeners[0].port = 25;
	srv->cfg.listeners[1].proto = PROTO_SUBMISSION;
	snprintf(srv->cfg.listeners[1].addr, 64, "127.0.0.9");
	srv->cfg.listeners[1].port = 25;
	srv->cfg.n_listeners = 2;
	q->srv = srv;
	return queue_route_init(q, err, sizeof(err));
}

static void
test_relayhost(void **state)
{
	struct server srv;
	struct queue q;

	assert_int_equal(route_init(&srv, &q, "smtp.provider.test:587"), 0);
	assert_string_equal(q.relay_host, "smtp.provider.test");
	assert_int_equal(q.relay_port, 587);
	assert_int_equal(route_init(&srv, &q, "smtp.provider.test"), 0);
	assert_int_equal(q.relay_port, 25);
	assert_int_equal(route_init(&srv, &q, "[192.0.2.7]"), 0);
	assert_string_equal(q.relay_host, "192.0.2.7");
	assert_int_equal(route_init(&srv, &q, "[2001:db8::1]:2525"), 0);
	assert_string_equal(q.relay_host, "2001:db8::1");
	assert_int_equal(q.relay_port, 2525);
	assert_int_equal(route_init(&srv, &q, "host:0"), -1);
	assert_int_equal(route_init(&srv, &q, "host:65536"), -1);
	assert_int_equal(route_init(&srv, &q, "host:25x"), -1);
	assert_int_equal(route_init(&srv, &q, "[192.0.2.7"), -1);
	assert_int_equal(route_init(&srv, &q, "[192.0.2.7]x"), -1);
	assert_int_equal(route_init(&srv, &q, ":25"), -1);
	/* No relayhost: nothing to parse. */
	assert_int_equal(route_init(&srv, &q, ""), 0);
	assert_string_equal(q.relay_host, "");
}

static void
host_set(struct dns_mx_host *h, const char *name, unsigned pref,
	 const char *ip)
{
	struct sockaddr_in *sa = (struct sockaddr_in *)&h->addrs[0];

	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->pref = pref;
	sa->sin_family = AF_INET;
	sa->sin_port = htons(25);
	inet_pton(AF_INET, ip, &sa->sin_addr);
	h->n_addrs = 1;
}

static void
test_mx_loop(void **state)
{
	struct server srv;
	struct queue q;
	struct dns_mx_result r = { .status = DNS_OK };

	assert_int_equal(route_init(&srv, &q, ""), 0);
	/* We are a backup MX: the more preferred host stays. */
	host_set(&r.hosts[0], "mx1.dest.test", 10, "192.0.2.1");
	host_set(&r.hosts[1], "mx.ours.test", 20, "192.0.2.2");
	host_set(&r.hosts[2], "mx3.dest.test", 30, "192.0.2.3");
	r.n_hosts = 3;
	assert_false(queue_route_drop_self(&q, &r));
	assert_int_equal(r.n_hosts, 1);
	/* Our SMTP listener's address, whatever the name. */
	host_set(&r.hosts[0], "alias.dest.test", 10, "127.0.0.5");
	host_set(&r.hosts[1], "mx2.dest.test", 20, "192.0.2.2");
	r.n_hosts = 2;
	assert_true(queue_route_drop_self(&q, &r));
	assert_int_equal(r.n_hosts, 0);
	/* As preferred as we are: dropped too. */
	host_set(&r.hosts[0], "mx1.dest.test", 10, "192.0.2.1");
	host_set(&r.hosts[1], "MX.OURS.TEST", 10, "192.0.2.2");
	r.n_hosts = 2;
	assert_true(queue_route_drop_self(&q, &r));
	/* A submission listener's address on port 25 is not an MX of ours
	 * (only SMTP listeners count). */
	host_set(&r.hosts[0], "mx1.dest.test", 10, "127.0.0.9");
	r.n_hosts = 1;
	assert_false(queue_route_drop_self(&q, &r));
	assert_int_equal(r.n_hosts, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_reply_line),
		cmocka_unit_test(test_relayhost),
		cmocka_unit_test(test_mx_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
