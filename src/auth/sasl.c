/*
 * SASL PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login) decoding.
 * Every scratch buffer that held a password is wiped before returning.
 */
#include "sasl.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../util/base64.h"
#include "../util/str.h"

/* Largest decoded response: RFC 4954 §4 caps the base64 line. */
#define SASL_DECODED_MAX (LIMIT_SASL_LINE / 4 * 3)

static const struct {
	const char *name;
	enum sasl_mech mech;
} sasl_mechs[] = {
	{"PLAIN", SASL_MECH_PLAIN},
	{"LOGIN", SASL_MECH_LOGIN},
};

enum sasl_mech
sasl_mech_parse(const char *name, size_t len)
{
	/* RFC 4422 §3.1: mechanism names are case-insensitive on the wire. */
	for (size_t i = 0; i < sizeof(sasl_mechs) / sizeof(sasl_mechs[0]); i++)
		if (str_ieq(name, len, sasl_mechs[i].name))
			return sasl_mechs[i].mech;
	return SASL_MECH_UNKNOWN;
}

/* Copies field [p, p+n) into dst (cap includes the NUL). -1 if too long. */
static int
sasl_copy_field(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

/* Splits "authzid NUL authcid NUL passwd" (RFC 4616 §2) into c. */
static int
sasl_plain_split(const uint8_t *buf, size_t n, struct sasl_creds *c)
{
	const uint8_t *nul1, *nul2, *user, *pass;
	size_t user_len, pass_len;

	nul1 = memchr(buf, '\0', n);
	if (nul1 == NULL)
		return -1;
	user = nul1 + 1;
	nul2 = memchr(user, '\0', n - (size_t)(user - buf));
	if (nul2 == NULL)
		return -1;
	user_len = (size_t)(nul2 - user);
	pass = nul2 + 1;
	pass_len = n - (size_t)(pass - buf);
	/* A third NUL would sit inside the password: RFC 4616 §2 forbids
	 * NUL in every field. Empty authcid or passwd is malformed. */
	if (memchr(pass, '\0', pass_len) != NULL || user_len == 0 ||
	    pass_len == 0)
		return -1;
	if (sasl_copy_field(c->authzid, sizeof(c->authzid), buf,
			    (size_t)(nul1 - buf)) < 0 ||
	    sasl_copy_field(c->user, sizeof(c->user), user, user_len) < 0 ||
	    sasl_copy_field(c->pass, sizeof(c->pass), pass, pass_len) < 0)
		return -1;
	return 0;
}

int
sasl_plain_decode(const char *b64, size_t len, struct sasl_creds *c)
{
	uint8_t buf[SASL_DECODED_MAX];
	size_t n = 0;
	int ret = -1;

	memset(c, 0, sizeof(*c));
	if (len <= LIMIT_SASL_LINE &&
	    base64_decode(b64, len, buf, sizeof(buf), &n) == 0)
		ret = sasl_plain_split(buf, n, c);
	explicit_bzero(buf, sizeof(buf));
	if (ret < 0)
		sasl_creds_clear(c);
	return ret;
}

int
sasl_login_decode(const char *b64, size_t len, char *out, size_t outcap)
{
	size_t n = 0;

	if (outcap == 0)
		return -1;
	out[0] = '\0';
	if (len > LIMIT_SASL_LINE ||
	    base64_decode(b64, len, (uint8_t *)out, outcap - 1, &n) < 0 ||
	    memchr(out, '\0', n) != NULL) {
		explicit_bzero(out, outcap);
		return -1;
	}
	out[n] = '\0';
	return 0;
}

void
sasl_creds_clear(struct sasl_creds *c)
{
	if (c != NULL)
		explicit_bzero(c, sizeof(*c));
}
