/*
 * Every named limit of the server, with its source and default. Config keys
 * (docs/CONFIG.md) override the defaults; tests refer to limits by name.
 */
#ifndef POSTEL_LIMITS_H
#define POSTEL_LIMITS_H

/* RFC 5321 §4.5.3.1.4: a command line is at most 512 octets with CRLF; ESMTP
 * parameters (SIZE, AUTH=, BODY=, SMTPUTF8) extend it, so allow a little
 * more. Longer lines get 500 5.5.2 and are discarded up to the next LF. */
#define LIMIT_SMTP_LINE 2048
/* RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets with CRLF. We accept
 * longer lines in DATA (real mail breaks this) up to this hard cap; a longer
 * line rejects the message with 552 5.3.4 after the terminating dot. */
#define LIMIT_SMTP_DATA_LINE 65536
/* RFC 5321 §4.5.3.1.8: at least 100 recipients must be accepted. */
#define LIMIT_SMTP_RCPTS_DEFAULT 100
/* Message size advertised in EHLO SIZE (RFC 1870). */
#define LIMIT_MESSAGE_SIZE_DEFAULT (35u * 1024 * 1024)
/* RFC 5321 §4.5.3.2.7: server timeout awaiting the next command, 5 minutes. */
#define LIMIT_SMTP_CMD_TIMEOUT_DEFAULT 300
/* RFC 5321 §4.5.3.2.6: DATA block timeout, 3 minutes between reads. */
#define LIMIT_SMTP_DATA_TIMEOUT_DEFAULT 180
/* Bad commands before we hang up (421 4.7.0). */
#define LIMIT_SMTP_ERRORS 20
/* Failed AUTH attempts per session before disconnect; each failure is
 * answered after LIMIT_AUTH_FAIL_DELAY_MS times the failure count. */
#define LIMIT_AUTH_FAILURES_DEFAULT 3
#define LIMIT_AUTH_FAIL_DELAY_MS 1000
/* Failed logins across connections and protocols (src/auth/throttle.h):
 * an address with LIMIT_AUTH_BLOCK_FAILURES failures within
 * LIMIT_AUTH_FAIL_WINDOW seconds is refused for LIMIT_AUTH_BLOCK_TIME
 * seconds (fail2ban's defaults are 5 in 10 minutes, banned 10 minutes;
 * we allow a few more for people behind one NAT). The growing delay
 * stops growing at LIMIT_AUTH_FAIL_DELAY_MAX_MS. */
#define LIMIT_AUTH_BLOCK_FAILURES 10
#define LIMIT_AUTH_FAIL_WINDOW 600
#define LIMIT_AUTH_BLOCK_TIME 600
#define LIMIT_AUTH_FAIL_DELAY_MAX_MS 5000
/* Logins waiting for a password hash; more get a temporary failure. */
#define LIMIT_AUTH_QUEUE_MAX 64
/* SMTP recipient harvesting: after LIMIT_SMTP_BAD_RCPTS refused RCPTs
 * (unknown user, relay denied) each further RCPT is answered after
 * LIMIT_SMTP_BAD_RCPT_DELAY_MS (Postfix: smtpd_soft_error_limit 10,
 * smtpd_error_sleep_time 1s); at LIMIT_SMTP_BAD_RCPT_LIMIT, 421 4.7.0. */
#define LIMIT_SMTP_BAD_RCPTS 5
#define LIMIT_SMTP_BAD_RCPT_LIMIT 20
#define LIMIT_SMTP_BAD_RCPT_DELAY_MS 1000
/* AUTH PLAIN/LOGIN response, base64: RFC 4954 §4, 12288 octets. */
#define LIMIT_SASL_LINE 12288
/* Connections in total and from one client address. */
#define LIMIT_CONNECTIONS_DEFAULT 20000
#define LIMIT_CONNECTIONS_PER_IP_DEFAULT 200
/* RFC 1939 §3 / RFC 2449 §4: POP3 command line 255 octets + CRLF. */
#define LIMIT_POP3_LINE 512
/* RFC 1939 §3: ten-minute autologout timer. */
#define LIMIT_POP3_TIMEOUT_DEFAULT 600
#define LIMIT_POP3_ERRORS 20
/* IMAP (RFC 9051). A command line (without literals); longer lines get
 * BAD and are skipped to the next LF. */
#define LIMIT_IMAP_LINE 65536
/* A literal outside APPEND (names, search strings, SASL-IR): refused with
 * BAD before any of it is read (RFC 7888 §4). APPEND literals may be as
 * large as max_message_size (RFC 7889 APPENDLIMIT). */
#define LIMIT_IMAP_LITERAL (64 * 1024)
/* A whole command: its lines and literals together (APPEND excepted). */
#define LIMIT_IMAP_COMMAND (256 * 1024)
/* RFC 9051 §5.4: the inactivity autologout timer is at least 30 minutes. */
#define LIMIT_IMAP_TIMEOUT_DEFAULT 1800
#define LIMIT_IMAP_ERRORS 20
/* Addresses: RFC 5321 §4.5.3.1.1-3 (64 local part, 255 domain, 256 path). */
#define LIMIT_LOCALPART 64
#define LIMIT_DOMAIN 255
#define LIMIT_ADDRESS 320
/* Input buffered from a client while its session is busy (or slower than
 * the client) before we stop reading the socket. */
#define LIMIT_INPUT_HIGH_WATER (256 * 1024)
/* Output queued for a client before we stop reading from it. */
#define LIMIT_OUTPUT_HIGH_WATER (256 * 1024)
/* COMPRESS=DEFLATE: plain text compressed per loop turn, so one big reply
 * does not hold the loop (about 1 ms at zlib's fastest level). */
#define LIMIT_DEFLATE_STEP (64 * 1024)

#endif
