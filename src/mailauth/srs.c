/*
 * SRS (srs.h): the address forms, their hash and day stamp, and the
 * secret's file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "srs.h"

static const char srs_b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

#define SRS_FIELD_MAX 512

static int
srs_b32_value(char c)
{
	const char *p;

	if (c >= 'a' && c <= 'z')
		c = (char)(c - 32);
	p = c != '\0' ? strchr(srs_b32, c) : NULL;
	return p != NULL ? (int)(p - srs_b32) : -1;
}

static bool
srs_sep(char c)
{
	return c == '=' || c == '+' || c == '-';
}

bool
srs_is_srs(const char *local)
{
	return strncasecmp(local, "SRS", 3) == 0 &&
	       (local[3] == '0' || local[3] == '1') && srs_sep(local[4]);
}

/* The hash of n fields (each lower-cased, then a NUL) into out
 * (SRS_HASH_LEN characters and a NUL). 0 or -1. */
static int
srs_hash(const uint8_t *secret, const char *const *fields,
	 const size_t *lens, size_t n, char *out)
{
	uint8_t data[3 * (SRS_FIELD_MAX + 1)], mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;
	size_t dl = 0;
	uint64_t bits = 0;

	for (size_t f = 0; f < n; f++) {
		if (lens[f] > SRS_FIELD_MAX)
			return -1;
		for (size_t i = 0; i < lens[f]; i++) {
			char c = fields[f][i];
			data[dl++] = (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		data[dl++] = 0;
	}
	if (HMAC(EVP_sha256(), secret, SRS_SECRET_LEN, data, dl, mac,
		 &mac_len) == NULL || mac_len < 4)
		return -1;
	for (int i = 0; i < 4; i++)
		bits = bits << 8 | mac[i];
	/* The first 30 of these 32 bits, five at a time. */
	for (int i = 0; i < SRS_HASH_LEN; i++)
		out[i] = srs_b32[(bits >> (27 - 5 * i)) & 31];
	out[SRS_HASH_LEN] = '\0';
	return 0;
}

static bool
srs_hash_ok(const uint8_t *secret, const char *const *fields,
	    const size_t *lens, size_t n, const char *got, size_t got_len)
{
	char want[SRS_HASH_LEN + 1];

	return got_len == SRS_HASH_LEN &&
	       srs_hash(secret, fields, lens, n, want) == 0 &&
	       strncasecmp(want, got, SRS_HASH_LEN) == 0;
}

static unsigned
srs_day(time_t now)
{
	return (unsigned)((now / 86400) % 1024);
}

/* snprintf's n for out: the address fits cap, and its local part the
 * room srs_reverse reads. */
static int
srs_fits(int n, size_t cap, const char *domain)
{
	return n > 0 && (size_t)n < cap &&
	       (size_t)n - strlen(domain) - 1 <= SRS_FIELD_MAX ? 0 : -1;
}

/* "SRS1=HASH=first=opaque@domain" into out. */
static int
srs_forward1(const uint8_t *secret, const char *first, size_t first_len,
	     const char *opaque, const char *domain, char *out, size_t cap)
{
	const char *f[2] = { first, opaque };
	size_t l[2] = { first_len, strlen(opaque) };
	char h[SRS_HASH_LEN + 1];
	int n;

	if (first_len == 0 || srs_hash(secret, f, l, 2, h) < 0)
		return -1;
	n = snprintf(out, cap, "SRS1=%s=%.*s=%s@%s", h, (int)first_len, first,
		     opaque, domain);
	return srs_fits(n, cap, domain);
}

int
srs_forward(const uint8_t *secret, const char *sender, const char *srs_domain,
	    time_t now, char *out, size_t cap)
{
	const char *at = strrchr(sender, '@');
	size_t local_len;
	char local[SRS_FIELD_MAX + 1];

	/* A domain holds no '=' (RFC 5321 §4.1.2); one that did could not
	 * be told from the fields around it when the address comes back. */
	if (at == NULL || at == sender || at[1] == '\0' ||
	    strchr(at, '=') != NULL ||
	    (local_len = (size_t)(at - sender)) > SRS_FIELD_MAX)
		return -1;
	memcpy(local, sender, local_len);
	local[local_len] = '\0';
	if (srs_is_srs(local) && local[3] == '0')
		/* Ours to wrap: the first forwarder and what it made. */
		return srs_forward1(secret, at + 1, strlen(at + 1), local + 4,
				    srs_domain, out, cap);
	if (srs_is_srs(local)) {
		/* SRS1=HASH=first=opaque: the first forwarder stays. */
		const char *h_end = strchr(local + 5, '=');
		const char *first = h_end != NULL ? h_end + 1 : NULL;
		const char *f_end = first != NULL ? strchr(first, '=') : NULL;

		if (f_end != NULL && f_end[1] != '\0')
			return srs_forward1(secret, first,
					    (size_t)(f_end - first), f_end + 1,
					    srs_domain, out, cap);
	}
	{
		unsigned day = srs_day(now);
		char tt[3] = { srs_b32[day >> 5], srs_b32[day & 31], '\0' };
		const char *f[3] = { tt, at + 1, local };
		size_t l[3] = { 2, strlen(at + 1), local_len };
		char h[SRS_HASH_LEN + 1];
		int n;

		if (srs_hash(secret, f, l, 3, h) < 0)
			return -1;
		n = snprintf(out, cap, "SRS0=%s=%s=%s=%s@%s", h, tt, at + 1,
			     local, srs_domain);
		return srs_fits(n, cap, srs_domain);
	}
}

/* SRS0: HASH=TT=domain=local. */
static int
srs_reverse0(const uint8_t *secret, const char *p, time_t now, char *out,
	     size_t cap, const char **why_r)
{
	const char *h = p, *tt, *dom, *loc;
	int d0, d1, n;
	unsigned age;

	tt = strchr(h, '=');
	dom = tt != NULL ? strchr(tt + 1, '=') : NULL;
	loc = dom != NULL ? strchr(dom + 1, '=') : NULL;
	if (loc == NULL || loc[1] == '\0' || loc == dom + 1 ||
	    dom - tt != 3)
		return *why_r = "malformed SRS address", -1;
	tt++, dom++, loc++;
	d0 = srs_b32_value(tt[0]);
	d1 = srs_b32_value(tt[1]);
	if (d0 < 0 || d1 < 0)
		return *why_r = "malformed SRS address", -1;
	{
		const char *f[3] = { tt, dom, loc };
		size_t l[3] = { 2, (size_t)(loc - 1 - dom), strlen(loc) };

		if (!srs_hash_ok(secret, f, l, 3, h, (size_t)(tt - 1 - h)))
			return *why_r = "SRS hash does not match", -1;
	}
	/* The day stamp wraps every 1024 days: the age is modular. */
	age = (srs_day(now) + 1024 - (unsigned)(d0 << 5 | d1)) % 1024;
	if (age > SRS_MAX_AGE_DAYS)
		return *why_r = "SRS address expired", -1;
	n = snprintf(out, cap, "%s@%.*s", loc, (int)(loc - 1 - dom), dom);
	if (n <= 0 || (size_t)n >= cap)
		return *why_r = "address too long", -1;
	return 1;
}

/* SRS1: HASH=first=opaque, back to SRS0opaque@first. */
static int
srs_reverse1(const uint8_t *secret, const char *p, char *out, size_t cap,
	     const char **why_r)
{
	const char *h = p, *first, *opaque;
	int n;

	first = strchr(h, '=');
	opaque = first != NULL ? strchr(first + 1, '=') : NULL;
	if (opaque == NULL || opaque == first + 1 || opaque[1] == '\0')
		return *why_r = "malformed SRS address", -1;
	first++, opaque++;
	{
		const char *f[2] = { first, opaque };
		size_t l[2] = { (size_t)(opaque - 1 - first), strlen(opaque) };

		if (!srs_hash_ok(secret, f, l, 2, h, (size_t)(first - 1 - h)))
			return *why_r = "SRS hash does not match", -1;
	}
	n = snprintf(out, cap, "SRS0%s@%.*s", opaque,
		     (int)(opaque - 1 - first), first);
	if (n <= 0 || (size_t)n >= cap)
		return *why_r = "address too long", -1;
	return 1;
}

int
srs_reverse(const uint8_t *secret, const char *addr, time_t now, char *out,
	    size_t cap, const char **why_r)
{
	const char *at = strrchr(addr, '@');
	char local[SRS_FIELD_MAX + 1];
	size_t ll;

	if (at == NULL || (ll = (size_t)(at - addr)) > SRS_FIELD_MAX)
		return 0;
	memcpy(local, addr, ll);
	local[ll] = '\0';
	if (!srs_is_srs(local))
		return 0;
	if (local[3] == '0')
		return srs_reverse0(secret, local + 5, now, out, cap, why_r);
	return srs_reverse1(secret, local + 5, out, cap, why_r);
}

/* ---- the secret's file -------------------------------------------- */

static int
srs_read_secret(const char *path, uint8_t *secret, char *err, size_t errlen)
{
	char hex[2 * SRS_SECRET_LEN + 2];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, hex, sizeof(hex));
	close(fd);
	if (n < 2 * SRS_SECRET_LEN) {
		snprintf(err, errlen, "%s: too short", path);
		return -1;
	}
	for (size_t i = 0; i < SRS_SECRET_LEN; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
			snprintf(err, errlen, "%s: not hexadecimal", path);
			return -1;
		}
		secret[i] = (uint8_t)v;
	}
	return 0;
}

int
srs_secret_load(const char *data_dir, uint8_t *secret, char *err,
		size_t errlen)
{
	char path[4096], hex[2 * SRS_SECRET_LEN + 2];
	uint8_t raw[SRS_SECRET_LEN];
	int fd, ok;

	if (snprintf(path, sizeof(path), "%s/%s", data_dir, SRS_SECRET_FILE)
	    >= (int)sizeof(path)) {
		snprintf(err, errlen, "data directory path too long");
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return srs_read_secret(path, secret, err, errlen);
	if (fd < 0 || RAND_bytes(raw, sizeof(raw)) != 1) {
		snprintf(err, errlen, "%s: %s", path, fd < 0 ? strerror(errno)
			 : "no random octets");
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return -1;
	}
	for (size_t i = 0; i < SRS_SECRET_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	hex[2 * SRS_SECRET_LEN] = '\n';
	ok = write(fd, hex, 2 * SRS_SECRET_LEN + 1) ==
	     2 * SRS_SECRET_LEN + 1 && fsync(fd) == 0;
	close(fd);
	if (!ok) {
		snprintf(err, errlen, "%s: cannot write", path);
		unlink(path);
		return -1;
	}
	return srs_read_secret(path, secret, err, errlen);
}
