/* Address groups and connection-rate buckets (iprate.h). */
#include "iprate.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"

/* 1024 sets of 8: 8192 buckets, 256 KiB, allocated on first use. */
#define IPRATE_SETS 1024
#define IPRATE_WAYS 8

struct iprate_entry {
	uint8_t key[IPRATE_KEY_LEN];
	double tokens;
	double last;   /* when tokens was computed; 0: unused */
};

struct iprate {
	struct iprate_entry e[IPRATE_SETS][IPRATE_WAYS];
	uint32_t seed;
};

int
iprate_key(const char *ip, uint8_t key[IPRATE_KEY_LEN])
{
	uint8_t a6[16];
	struct in_addr a4;

	memset(key, 0, IPRATE_KEY_LEN);
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, a6) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a6)) {
		memcpy(key, a6, 16);
		return 0;
	}
	memcpy(key, a6, 8);
	return 0;
}

/* The whole address as 16 bytes, IPv4 as IPv4-mapped. 0 or -1. */
static int
iprate_addr(const char *ip, uint8_t out[16])
{
	struct in_addr a4;

	memset(out, 0, 16);
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, ip, out) == 1 ? 0 : -1;
}

static int
iprate_parse_prefix(const char *item, size_t len, struct iprate_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	long long bits;
	bool v4;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, item, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash != NULL)
		buf[slash - buf] = '\0';
	v4 = strchr(buf, ':') == NULL;
	if (iprate_addr(buf, p->addr) < 0)
		return -1;
	if (slash == NULL)
		bits = v4 ? 32 : 128;
	else if (str_tonum(slash + 1, 0, v4 ? 32 : 128, &bits) < 0)
		return -1;
	p->bits = (int)bits + (v4 ? 96 : 0);
	return 0;
}

int
iprate_parse_prefixes(const char *list, struct iprate_prefix *out, int max)
{
	struct iprate_prefix tmp;
	int n = 0;

	while (*list != '\0') {
		size_t len = strcspn(list, " ,\t");

		if (len > 0) {
			if (n >= max ||
			    iprate_parse_prefix(list, len, out ? &out[n] : &tmp) < 0)
				return -1;
			n++;
		}
		list += len;
		while (*list == ' ' || *list == ',' || *list == '\t')
			list++;
	}
	return n;
}

bool
iprate_in_prefixes(const char *ip, const struct iprate_prefix *p, int n)
{
	uint8_t a[16];

	if (iprate_addr(ip, a) < 0)
		return false;
	for (int i = 0; i < n; i++) {
		int full = p[i].bits / 8, rest = p[i].bits % 8;

		if (memcmp(a, p[i].addr, (size_t)full) != 0)
			continue;
		if (rest == 0 ||
		    ((a[full] ^ p[i].addr[full]) & (0xff00 >> rest) & 0xff) == 0)
			return true;
	}
	return false;
}

void
iprate_group(const char *ip, char *out, size_t outlen)
{
	uint8_t key[IPRATE_KEY_LEN];
	char txt[INET6_ADDRSTRLEN];

	if (iprate_key(ip, key) < 0) {
		str_lcpy(out, ip, outlen);
		return;
	}
	if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)key)) {
		inet_ntop(AF_INET, key + 12, txt, sizeof(txt));
		str_lcpy(out, txt, outlen);
		return;
	}
	inet_ntop(AF_INET6, key, txt, sizeof(txt));
	snprintf(out, outlen, "%s/64", txt);
}

struct iprate *
iprate_new(void)
{
	struct iprate *r = calloc(1, sizeof(*r));

	if (r != NULL)
		r->seed = (uint32_t)random() | 1u;
	return r;
}

void
iprate_free(struct iprate **rp)
{
	free(*rp);
	*rp = NULL;
}

static unsigned
iprate_hash(const struct iprate *r, const uint8_t *key)
{
	uint32_t h = 2166136261u ^ r->seed;

	for (int i = 0; i < IPRATE_KEY_LEN; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % IPRATE_SETS;
}

/* Tokens of e at now (refilled, capped at cap). */
static double
iprate_level(const struct iprate_entry *e, double cap, double now)
{
	double t;

	if (e->last == 0)
		return cap;
	t = e->tokens + (now - e->last) * cap / 60.0;
	return t > cap ? cap : t;
}

bool
iprate_take(struct iprate *r, const uint8_t key[IPRATE_KEY_LEN],
	    unsigned per_minute, double now)
{
	struct iprate_entry *set, *e = NULL, *victim;
	double cap = per_minute;
	bool free_victim;

	if (per_minute == 0 || r == NULL)
		return true;
	set = r->e[iprate_hash(r, key)];
	victim = &set[0];
	free_victim = iprate_level(victim, cap, now) >= cap;
	for (int i = 0; i < IPRATE_WAYS; i++) {
		if (set[i].last != 0 &&
		    memcmp(set[i].key, key, IPRATE_KEY_LEN) == 0) {
			e = &set[i];
			break;
		}
		/* Reuse an unused or refilled entry first (forgetting it
		 * changes nothing), else the least recently used. */
		if (free_victim)
			continue;
		if (iprate_level(&set[i], cap, now) >= cap) {
			victim = &set[i];
			free_victim = true;
		} else if (set[i].last < victim->last) {
			victim = &set[i];
		}
	}
	if (e == NULL) {
		e = victim;
		memcpy(e->key, key, IPRATE_KEY_LEN);
		e->tokens = cap;
		e->last = now;
	}
	e->tokens = iprate_level(e, cap, now);
	e->last = now > 0 ? now : 1e-9;
	if (e->tokens < 1.0)
		return false;
	e->tokens -= 1.0;
	return true;
}
