/*
 * Key helpers shared by the DKIM and ARC unit tests (test_dkim.c,
 * test_arc.c): a fresh Ed25519 or RSA-2048 key, and its key record as
 * `postel dns` prints it. Include after <cmocka.h>.
 */
#ifndef POSTEL_TEST_DKIM_FX_H
#define POSTEL_TEST_DKIM_FX_H

#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/base64.h"

static inline EVP_PKEY *
keygen(int type)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(type, NULL);
	EVP_PKEY *key = NULL;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	if (type == EVP_PKEY_RSA)
		EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048);
	assert_int_equal(EVP_PKEY_keygen(ctx, &key), 1);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static inline void
record_of(EVP_PKEY *key, char *out, size_t cap)
{
	uint8_t der[1024], *p = der;
	char b64[2048];
	size_t n = sizeof(der);
	int len;

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		assert_int_equal(EVP_PKEY_get_raw_public_key(key, der, &n), 1);
		base64_encode(der, n, b64);
		snprintf(out, cap, "v=DKIM1; k=ed25519; p=%s", b64);
		return;
	}
	len = i2d_PUBKEY(key, &p);
	assert_true(len > 0);
	base64_encode(der, (size_t)len, b64);
	snprintf(out, cap, "v=DKIM1; k=rsa; p=%s", b64);
}

#endif
