/*
 * Password hashing with libxcrypt. crypt_rn() with a per-call struct
 * crypt_data is thread-safe, so several workers may hash at once. The
 * struct is large (~32 KiB), so it lives on the heap, not a worker's stack.
 */
#include "passwd.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* yescrypt with libxcrypt's default cost ("j9T"); any hash crypt(3)
 * understands still verifies (sha512-crypt "$6$", bcrypt "$2b$", ...). */
#define PASSWD_PREFIX "$y$"

/* A real yescrypt hash with the default cost, so verifying against it costs
 * what verifying a real account does. It matches no password we know of,
 * and the result is thrown away anyway. */
static const char passwd_dummy_hash[] =
	"$y$j9T$wiRIbeLZFf9DxOtUKuSW60$"
	"hductlNgkNpV9yiw8kYCi5Mj4M.DQ159UpLJCtmOBl/";

/* Runs crypt_rn into a fresh crypt_data. Returns the data (caller wipes and
 * frees it with passwd_data_free) and sets *out_r to the hash, or NULL on
 * failure. crypt_rn returns NULL rather than a "*0" token on failure, but
 * treat a leading '*' as failure too in case of an older libcrypt. */
static struct crypt_data *
passwd_crypt(const char *password, const char *setting, const char **out_r)
{
	struct crypt_data *d = calloc(1, sizeof(*d));
	const char *h;

	*out_r = NULL;
	if (d == NULL)
		return NULL;
	h = crypt_rn(password, setting, d, (int)sizeof(*d));
	if (h != NULL && h[0] != '*')
		*out_r = h;
	return d;
}

static void
passwd_data_free(struct crypt_data *d)
{
	if (d == NULL)
		return;
	explicit_bzero(d, sizeof(*d));
	free(d);
}

int
passwd_hash(const char *password, char *out, size_t outlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *d;
	const char *h;
	size_t hl;
	int ret = -1;

	if (password == NULL || out == NULL || outlen == 0)
		return -1;
	/* NULL random bytes: libxcrypt reads the OS's entropy source. */
	if (crypt_gensalt_rn(PASSWD_PREFIX, 0, NULL, 0, salt,
			     (int)sizeof(salt)) == NULL)
		return -1;
	d = passwd_crypt(password, salt, &h);
	if (h != NULL) {
		hl = strlen(h);
		if (hl < outlen) {
			memcpy(out, h, hl + 1);
			ret = 0;
		}
	}
	passwd_data_free(d);
	return ret;
}

/* Spends one hash computation and discards it (see passwd_verify). */
static void
passwd_burn(const char *password)
{
	const char *h;

	passwd_data_free(passwd_crypt(password, passwd_dummy_hash, &h));
}

bool
passwd_verify(const char *password, const char *hash)
{
	struct crypt_data *d;
	const char *h;
	bool ok = false;

	if (password == NULL)
		password = "";
	/* Unknown user, or a locked/disabled entry ("*", "!", "!$y$..."):
	 * still pay for one hash so timing does not tell them apart. */
	if (hash == NULL || hash[0] == '\0' || hash[0] == '*' ||
	    hash[0] == '!') {
		passwd_burn(password);
		return false;
	}
	d = passwd_crypt(password, hash, &h);
	if (h == NULL) {
		/* Setting crypt(3) does not know: fails fast, so burn too. */
		passwd_data_free(d);
		passwd_burn(password);
		return false;
	}
	if (strlen(h) == strlen(hash))
		ok = CRYPTO_memcmp(h, hash, strlen(hash)) == 0;
	passwd_data_free(d);
	return ok;
}
