/*
 * Client address grouping and a bounded table of per-address token buckets
 * (new connections per minute). Pure: no I/O, no clock of its own (the
 * caller passes the time), so the unit tests drive it directly.
 */
#ifndef POSTEL_IPRATE_H
#define POSTEL_IPRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The unit every per-address limit counts: an IPv4 address (/32; an
 * IPv4-mapped IPv6 address counts as its IPv4 address) or an IPv6 /64,
 * which is what one subscriber line or one host is usually given (RFC 6177
 * §2), so a client cannot step around a limit by changing its interface
 * identifier. */
#define IPRATE_KEY_LEN 16

/* Fills key (IPv4 as ::ffff:a.b.c.d, IPv6 with the low 64 bits zeroed)
 * from a numeric address. 0, or -1 when ip is not one. */
int iprate_key(const char *ip, uint8_t key[IPRATE_KEY_LEN]);
/* The group as text for tables and logs: "192.0.2.1" or
 * "2001:db8:1:2::/64"; ip itself when it does not parse. */
void iprate_group(const char *ip, char *out, size_t outlen);

/* An address prefix (exemptions): IPv4 prefixes are kept as IPv4-mapped
 * IPv6 (::ffff:0:0/96 + the IPv4 length). */
struct iprate_prefix {
	uint8_t addr[16];
	int bits;
};

#define IPRATE_PREFIX_MAX 16

/* Parses a list of ADDR or ADDR/LEN separated by spaces or commas ("" is
 * an empty list) into out (at most max; out may be NULL to validate).
 * The count, or -1 when an item is malformed or there are too many. */
int iprate_parse_prefixes(const char *list, struct iprate_prefix *out,
			  int max);
/* true when numeric address ip lies in one of the n prefixes. */
bool iprate_in_prefixes(const char *ip, const struct iprate_prefix *p,
			int n);

/* Fixed-size, set-associative table of token buckets: a client address
 * that has not connected for a minute needs no entry, and when a set is
 * full the entry that refilled longest ago is reused, so memory never
 * grows with the number of addresses (at worst a client forgotten early
 * gets a fresh bucket). */
struct iprate;

struct iprate *iprate_new(void);
void iprate_free(struct iprate **rp);
/* Takes one token from key's bucket (capacity per_minute, refilled at
 * per_minute per 60 seconds); now is seconds on a monotonic clock. true
 * when a token was available (the connection may proceed). per_minute 0
 * means no limit. */
bool iprate_take(struct iprate *r, const uint8_t key[IPRATE_KEY_LEN],
		 unsigned per_minute, double now);

#endif
