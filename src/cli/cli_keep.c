/*
 * postel user del ADDRESS --keep DIR [--mbox]: a copy of every mailbox of
 * the account, written and fsynced before the account goes, in a form
 * other mail software reads.
 *
 * Maildir (default): DIR is a Maildir++ root (INBOX in DIR/cur, mailbox
 * "A/B" in DIR/.A.B/cur; a "." inside a name becomes "_"), one file per
 * message named "<internaldate>.<uid>.postel:2,<flags>" with the system
 * flags as Maildir letters (D draft, F flagged, R answered, S seen, T
 * deleted) and the file time set to the message's internal date.
 * Keywords have no place in plain Maildir and are not kept.
 *
 * mbox (--mbox): one file per mailbox, DIR/INBOX.mbox, DIR/A.B.mbox, in
 * the mboxrd form (RFC 4155: "From " separator lines; a line that starts
 * with ">*From " gets one more ">"), Status:/X-Status: headers for the
 * flags as mutt reads them.
 *
 * Both write LF line ends, as local Unix mail tools expect (the store
 * keeps CRLF).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../store/blob.h"
#include "../store/store.h"
#include "../store/store_imap.h"
#include "cli.h"
#include "cli_util.h"

#define CLI_KEEP_PATH_MAX 4096
#define CLI_KEEP_IO 65536

struct cli_keep {
	struct store *st;
	const char *data_dir;
	const char *dir;
	bool mbox;
	size_t n_msgs;
};

/* DIR/.A.B (Maildir++) or DIR/A.B.mbox for mailbox "A/B"; INBOX is the
 * root itself (Maildir) or DIR/INBOX.mbox. */
static int
keep_box_path(const struct cli_keep *k, const char *name, char *out,
	      size_t cap)
{
	char flat[STORE_MAILBOX_NAME_MAX + 1];
	size_t i;
	int n;

	for (i = 0; name[i] != '\0' && i < sizeof(flat) - 1; i++)
		flat[i] = name[i] == '/' ? '.' : name[i] == '.' ? '_'
								 : name[i];
	flat[i] = '\0';
	if (k->mbox)
		n = snprintf(out, cap, "%s/%s.mbox", k->dir, flat);
	else if (strcmp(name, "INBOX") == 0)
		n = snprintf(out, cap, "%s", k->dir);
	else
		n = snprintf(out, cap, "%s/.%s", k->dir, flat);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int
keep_mkdir(const char *path)
{
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static int
keep_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Writes the message file's bytes to out, CRLF as LF; in mbox form also
 * the ">From " quoting (mboxrd). at_line_start carries across chunks. */
static int
keep_copy_body(int in, FILE *out, bool mbox)
{
	char buf[CLI_KEEP_IO];
	bool line_start = true, cr = false;
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];

			if (cr && c != '\n')
				fputc('\r', out);
			cr = c == '\r';
			if (cr)
				continue;
			if (mbox && line_start) {
				ssize_t j = i;

				while (j < n && buf[j] == '>')
					j++;
				/* Within one chunk: a line cut at a chunk end
				 * is rare and only misses a quote. */
				if (n - j >= 5 && memcmp(buf + j, "From ", 5)
						      == 0)
					fputc('>', out);
			}
			fputc(c, out);
			line_start = c == '\n';
		}
	}
	if (cr)
		fputc('\r', out);
	if (n < 0)
		return -1;
	/* mbox: every message ends with a blank line before the next
	 * "From ". */
	if (mbox)
		fputs(line_start ? "\n" : "\n\n", out);
	return 0;
}

static void
keep_maildir_name(const struct store_imsg *m, char *out, size_t cap)
{
	char fl[8];
	size_t n = 0;

	if (m->flags & STORE_FLAG_DRAFT)
		fl[n++] = 'D';
	if (m->flags & STORE_FLAG_FLAGGED)
		fl[n++] = 'F';
	if (m->flags & STORE_FLAG_ANSWERED)
		fl[n++] = 'R';
	if (m->flags & STORE_FLAG_SEEN)
		fl[n++] = 'S';
	if (m->flags & STORE_FLAG_DELETED)
		fl[n++] = 'T';
	fl[n] = '\0';
	snprintf(out, cap, "%lld.%u.postel:2,%s", (long long)m->internaldate,
		 m->uid, fl);
}

/* One message as a Maildir file in box/cur, fsynced, dated. */
static int
keep_maildir_msg(const struct cli_keep *k, const char *box,
		 const struct store_imsg *m)
{
	char name[128], path[CLI_KEEP_PATH_MAX];
	struct timeval tv[2] = { { .tv_sec = (time_t)m->internaldate },
				 { .tv_sec = (time_t)m->internaldate } };
	int in, fd, rc = -1;
	FILE *out;

	keep_maildir_name(m, name, sizeof(name));
	if (snprintf(path, sizeof(path), "%s/cur/%s", box, name) >=
	    (int)sizeof(path))
		return -1;
	if ((in = blob_open(k->st, k->data_dir, m->blob)) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (out == NULL) {
		if (fd >= 0)
			close(fd);
		close(in);
		return -1;
	}
	if (keep_copy_body(in, out, false) == 0 && fflush(out) == 0 &&
	    fsync(fileno(out)) == 0)
		rc = 0;
	if (fclose(out) != 0)
		rc = -1;
	close(in);
	if (rc == 0)
		(void)utimes(path, tv);
	return rc;
}

/* The mbox separator and flag headers, then the message. */
static int
keep_mbox_msg(const struct cli_keep *k, FILE *out, const struct store_imsg *m)
{
	time_t t = (time_t)m->internaldate;
	struct tm tm;
	char date[64];
	int in, rc;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		return -1;
	if ((in = blob_open(k->st, k->data_dir, m->blob)) < 0)
		return -1;
	/* The envelope sender is not kept by the store. */
	fprintf(out, "From MAILER-DAEMON %s\nStatus: %sO\n", date,
		(m->flags & STORE_FLAG_SEEN) ? "R" : "");
	if (m->flags & (STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED |
			STORE_FLAG_DELETED | STORE_FLAG_DRAFT))
		fprintf(out, "X-Status: %s%s%s%s\n",
			(m->flags & STORE_FLAG_ANSWERED) ? "A" : "",
			(m->flags & STORE_FLAG_FLAGGED) ? "F" : "",
			(m->flags & STORE_FLAG_DELETED) ? "D" : "",
			(m->flags & STORE_FLAG_DRAFT) ? "T" : "");
	rc = keep_copy_body(in, out, true);
	close(in);
	return rc;
}

/* Every message of one mailbox. */
static int
keep_box(struct cli_keep *k, struct store *st, const struct store_mailbox *b)
{
	char path[CLI_KEEP_PATH_MAX], sub[CLI_KEEP_PATH_MAX];
	struct store_imsg *msgs = NULL;
	const char *err = NULL;
	FILE *out = NULL;
	size_t n = 0;
	int rc = 0;

	if (keep_box_path(k, b->name, path, sizeof(path)) < 0 ||
	    store_mailbox_imsgs(st, b->id, 0, &msgs, &n, &err) < 0) {
		cli_err("cannot read mailbox %s: %s", b->name,
			err != NULL ? err : "name too long");
		return -1;
	}
	if (k->mbox) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			      0600);

		out = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (out == NULL && fd >= 0)
			close(fd);
		rc = out == NULL ? -1 : 0;
	} else {
		static const char *const subs[] = { "", "/cur", "/new", "/tmp" };

		for (size_t i = 0; i < 4 && rc == 0; i++) {
			snprintf(sub, sizeof(sub), "%s%s", path, subs[i]);
			rc = keep_mkdir(sub);
		}
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = k->mbox ? keep_mbox_msg(k, out, &msgs[i])
			     : keep_maildir_msg(k, path, &msgs[i]);
		k->n_msgs += rc == 0;
	}
	if (out != NULL) {
		if (rc == 0 && (fflush(out) != 0 || fsync(fileno(out)) != 0))
			rc = -1;
		if (fclose(out) != 0)
			rc = -1;
	} else if (rc == 0) {
		snprintf(sub, sizeof(sub), "%s/cur", path);
		rc = keep_fsync_dir(sub) < 0 || keep_fsync_dir(path) < 0 ? -1
									  : 0;
	}
	if (rc < 0)
		cli_err("cannot copy mailbox %s to %s: %s", b->name, path,
			strerror(errno));
	store_imsgs_free(msgs, n);
	return rc;
}

int
cli_keep_mailboxes(struct store *st, const char *data_dir,
		   const char *address, const char *dir, bool mbox)
{
	struct cli_keep k = { .st = st, .data_dir = data_dir, .dir = dir,
			      .mbox = mbox };
	struct store_account acct;
	struct store_mailbox *boxes = NULL;
	const char *err = NULL;
	size_t n = 0;
	int rc = 0;

	if (store_account_lookup(st, address, &acct) != 1) {
		cli_err("%s: no such user", address);
		return -1;
	}
	explicit_bzero(acct.pwhash, sizeof(acct.pwhash));
	if (keep_mkdir(dir) < 0) {
		cli_err("cannot make %s: %s", dir, strerror(errno));
		return -1;
	}
	if (store_mailbox_list(st, acct.id, &boxes, &n, &err) < 0) {
		cli_store_err(address, err);
		return -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = keep_box(&k, st, &boxes[i]);
	free(boxes);
	if (rc == 0 && keep_fsync_dir(dir) < 0) {
		cli_err("cannot sync %s: %s", dir, strerror(errno));
		rc = -1;
	}
	if (rc == 0)
		printf("kept %zu messages of %zu mailboxes in %s (%s)\n",
		       k.n_msgs, n, dir, mbox ? "mbox" : "Maildir");
	return rc;
}
