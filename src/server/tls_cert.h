/*
 * A self-signed certificate made on first start so `postel serve` works
 * with no configuration (start-up only, before privileges are dropped).
 */
#ifndef POSTEL_TLS_CERT_H
#define POSTEL_TLS_CERT_H

#include <stddef.h>

struct config;

/* With the default paths (DATA_DIR/tls/cert.pem and key.pem) and both
 * files missing, makes a new P-256 key and a self-signed certificate for
 * cfg->hostname (subjectAltName also localhost, 127.0.0.1, ::1), valid ten
 * years; as root the files are handed to cfg->run_user. A pair made so
 * for an earlier host name is replaced the same way (renamed over). Never
 * follows a link, never writes into an existing file or a configured
 * cert/key; one file of the pair missing is an error. 0 or -1 with err. */
int tls_ensure_cert(const struct config *cfg, char *err, size_t errlen);

#endif
