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
/* The header section of a message received over SMTP is kept up to this
 * many octets for policy checks at the end of the data (smtp_data.c).
 * Submission's sender check looks for From:/Sender: in it, and refuses a
 * longer header section with 550 5.7.1 (a From: beyond it could not be
 * checked). RFC 5322 sets no header size; a freshly composed message has
 * a few KB. */
#define LIMIT_SMTP_HEADER_KEPT (64 * 1024)
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
/* Slow clients. A command line must be complete this many
 * seconds after its first byte arrived: the idle timeouts restart on every
 * read, so a client dribbling a byte every few seconds would otherwise keep
 * its slot forever. */
#define LIMIT_COMMAND_DEADLINE_DEFAULT 120
/* DATA/BDAT: the transfer may take LIMIT_SMTP_DATA_GRACE_DEFAULT seconds
 * plus one second per LIMIT_SMTP_DATA_MIN_RATE_DEFAULT bytes received (a
 * deadline that grows with what arrives, as Apache's mod_reqtimeout
 * MinRate does). 35 MiB at the minimum rate is about 10 hours. */
#define LIMIT_SMTP_DATA_MIN_RATE_DEFAULT 1024
#define LIMIT_SMTP_DATA_GRACE_DEFAULT 60
/* Before authentication on IMAP, POP3 and submission: RFC 9051 §5.4 asks
 * for the 30-minute autologout only in the authenticated state ("If a
 * server has an inactivity autologout timer that applies to sessions
 * after authentication, the duration of that timer MUST be at least 30
 * minutes"; "this specification doesn't have any restrictions on an
 * autologout timer used before successful client authentication"). */
#define LIMIT_PREAUTH_TIMEOUT_DEFAULT 60
/* New connections from one client address (IPv6 /64) per minute, a token
 * bucket; the table of buckets is fixed in size (listener.c). */
#define LIMIT_CONNECTION_RATE_PER_IP_DEFAULT 60
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
/* RFC 3502 MULTIAPPEND: messages in one APPEND. Their literals together
 * stay within the one APPEND's command bound (LIMIT_IMAP_COMMAND plus
 * max_message_size), so the whole command is held in memory once. */
#define LIMIT_IMAP_MULTIAPPEND 1000
/* RFC 5464 METADATA: the largest value (SETMETADATA answers NO [METADATA
 * MAXSIZE n] above it; below LIMIT_IMAP_LITERAL so the refusal is a NO,
 * not a BAD for the literal), the entries one account may hold (its
 * server /private ones and those of all its mailboxes; NO [METADATA
 * TOOMANY] beyond), the longest entry name. */
#define LIMIT_IMAP_METADATA_SIZE (32 * 1024)
#define LIMIT_IMAP_METADATA_ENTRIES 512
#define LIMIT_IMAP_METADATA_NAME 255
/* Before authentication only LOGIN and AUTHENTICATE (SASL-IR) need a
 * literal: a user name, a password or an initial response, which RFC 4954
 * §4 bounds at 12288 octets of base64. A larger synchronising literal is
 * refused without "+"; a larger non-synchronising one ends the connection
 * (RFC 7888 §4), so an unauthenticated client can never make us read or
 * allocate more than this. The whole pre-auth command
 * is bounded by twice the literal plus a line of 1 KB. */
#define LIMIT_IMAP_PREAUTH_LITERAL 12288
#define LIMIT_IMAP_PREAUTH_COMMAND (2 * LIMIT_IMAP_PREAUTH_LITERAL + 1024)
/* The command buffer keeps at most this much allocation between commands;
 * a larger one (after an APPEND) is freed when the command ends. */
#define LIMIT_IMAP_BUF_KEEP (16 * 1024)
/* Allocations at least this large get their own mapping (mallopt
 * M_MMAP_THRESHOLD, fixed so glibc does not raise it): freed, they leave
 * the process instead of staying in the heap. */
#define LIMIT_MALLOC_MMAP_THRESHOLD (1024 * 1024)
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
/* Storage. quota_default: no limit unless the administrator
 * sets one (as Postfix and Dovecot ship): a quota nobody chose would bounce
 * mail on upgrade, and min_free_disk already protects the disk. */
#define LIMIT_QUOTA_DEFAULT 0
/* min_free_disk: below 1 GiB free on the data dir's filesystem nothing new
 * is accepted (SMTP 452 4.3.1, IMAP NO [UNAVAILABLE]): room for the
 * messages in flight (max_message_size each), SQLite's WAL and its
 * checkpoints, so deletions and reads keep working and no accepted mail is
 * lost on a full disk. */
#define LIMIT_MIN_FREE_DISK_DEFAULT (1024ULL * 1024 * 1024)
/* How long a free-space reading (statvfs) is reused. */
#define LIMIT_DISKFREE_CACHE_MS 1000

/* HTTP endpoint (src/http/). RFC 9112 §3 leaves the request-line length
 * to the server, with at least 8000 octets recommended for general web
 * servers; our paths are short, so 4 KB (longer: 414, RFC 9110 §15.5.15).
 * The whole header section, and the number of fields: 431 (RFC 6585 §5).
 * A body (Content-Length only; an autodiscover request is well under
 * 1 KB): 413. Requests per kept-alive connection, then Connection: close.
 * The queue sizes /metrics shows are counted at most this often. */
#define LIMIT_HTTP_REQUEST_LINE 4096
#define LIMIT_HTTP_HEAD (16 * 1024)
#define LIMIT_HTTP_HEADERS 64
#define LIMIT_HTTP_BODY (64 * 1024)
#define LIMIT_HTTP_REQUESTS_PER_CONN 100
#define LIMIT_HTTP_METRICS_CACHE_MS 5000

/* Lingering close (conn_linger.c): when we end a connection while the
 * client is still sending, what it sends is read and dropped for up to
 * this long (and this many bytes), so our last reply (HTTP 408/413, SMTP
 * 421, IMAP BYE) is not destroyed by the reset that closing a socket with
 * unread input makes. nginx: lingering_time 30 s, lingering_timeout 5 s;
 * ours only covers a reply in flight, not an upload. At most
 * LIMIT_LINGER_SOCKETS at once; past that, closed at once as before. */
#define LIMIT_LINGER_MS 2000
#define LIMIT_LINGER_BYTES (256 * 1024)
#define LIMIT_LINGER_SOCKETS 512

#endif
