/*
 * NOTIFY argument parser (RFC 5465 §8). Checks the grammar and the rules
 * of §3.1 and §5 that make a request BAD (a fetch-att list outside the
 * SELECTED filters, MessageNew without MessageExpunge, FlagChange without
 * both, a filter twice); events that parse but that Postel does not
 * deliver make the answer NO [BADEVENT].
 */
#include <string.h>

#include "imap_notify_parse.h"

static const struct {
	const char *name;
	enum imap_notify_event bit;
} imap_notify_events[] = {
	{ "MessageNew", IMAP_NEV_MESSAGE_NEW },
	{ "MessageExpunge", IMAP_NEV_MESSAGE_EXPUNGE },
	{ "FlagChange", IMAP_NEV_FLAG_CHANGE },
	{ "AnnotationChange", IMAP_NEV_ANNOTATION_CHANGE },
	{ "MailboxName", IMAP_NEV_MAILBOX_NAME },
	{ "SubscriptionChange", IMAP_NEV_SUBSCRIPTION_CHANGE },
	{ "MailboxMetadataChange", IMAP_NEV_MAILBOX_METADATA_CHANGE },
	{ "ServerMetadataChange", IMAP_NEV_SERVER_METADATA_CHANGE },
};

static const struct {
	const char *name;
	enum imap_notify_filter filter;
} imap_notify_filters[] = {
	{ "SELECTED", IMAP_NF_SELECTED },
	{ "SELECTED-DELAYED", IMAP_NF_SELECTED_DELAYED },
	{ "INBOXES", IMAP_NF_INBOXES },
	{ "PERSONAL", IMAP_NF_PERSONAL },
	{ "SUBSCRIBED", IMAP_NF_SUBSCRIBED },
	{ "SUBTREE", IMAP_NF_SUBTREE },
	{ "MAILBOXES", IMAP_NF_MAILBOXES },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The events list "(MessageNew (UID) MessageExpunge ...)" or NONE. */
static int
imap_notify_events_parse(const struct imap_arg *a,
			 struct imap_notify_group *g, struct imap_notify_spec *spec,
			 const char **err_r)
{
	unsigned ev = 0;

	if (imap_arg_atom_is(a, "NONE"))
		return 0;
	if (a->type != IMAP_ARG_LIST || a->list_n == 0) {
		*err_r = "NOTIFY events must be a list or NONE";
		return -1;
	}
	for (size_t i = 0; i < a->list_n; i++) {
		const struct imap_arg *e = &a->list[i];
		size_t k;

		if (e->type == IMAP_ARG_LIST) {
			/* fetch-att list: only right after MessageNew. */
			if (i == 0 || !imap_arg_atom_is(&a->list[i - 1],
							 "MessageNew") ||
			    e->list_n == 0) {
				*err_r = "Misplaced list in NOTIFY events";
				return -1;
			}
			g->fetch = e;
			continue;
		}
		if (e->type != IMAP_ARG_ATOM || e->len == 0) {
			*err_r = "NOTIFY event must be an atom";
			return -1;
		}
		for (k = 0; k < N_OF(imap_notify_events); k++)
			if (imap_arg_atom_is(e, imap_notify_events[k].name))
				break;
		/* event-ext: any atom parses; not ours is a BADEVENT. */
		if (k == N_OF(imap_notify_events)) {
			spec->bad_event = true;
			continue;
		}
		ev |= imap_notify_events[k].bit;
	}
	/* RFC 5465 §5: MessageNew and MessageExpunge go together, and
	 * FlagChange / AnnotationChange need both. */
	if (!(ev & IMAP_NEV_MESSAGE_NEW) != !(ev & IMAP_NEV_MESSAGE_EXPUNGE)) {
		*err_r = "MessageNew and MessageExpunge go together";
		return -1;
	}
	if ((ev & (IMAP_NEV_FLAG_CHANGE | IMAP_NEV_ANNOTATION_CHANGE)) &&
	    !(ev & IMAP_NEV_MESSAGE_NEW)) {
		*err_r = "FlagChange needs MessageNew and MessageExpunge";
		return -1;
	}
	/* §5.2: fetch-att only for the selected mailbox. */
	if (g->fetch != NULL && !imap_notify_filter_selected(g->filter)) {
		*err_r = "MessageNew attributes only for SELECTED";
		return -1;
	}
	if (ev & ~(unsigned)IMAP_NEV_SUPPORTED)
		spec->bad_event = true;
	g->events = ev & IMAP_NEV_SUPPORTED;
	return 0;
}

/* "(filter [mailboxes] events)" */
static int
imap_notify_group_parse(const struct imap_arg *a, struct imap_notify_spec *spec,
			const char **err_r)
{
	struct imap_notify_group *g;
	size_t k, pos = 1;

	if (a->type != IMAP_ARG_LIST || a->list_n < 2) {
		*err_r = "NOTIFY event group must be (filter events)";
		return -1;
	}
	if (spec->n == IMAP_NOTIFY_GROUPS_MAX) {
		*err_r = "Too many NOTIFY event groups";
		return -1;
	}
	g = &spec->groups[spec->n];
	memset(g, 0, sizeof(*g));
	for (k = 0; k < N_OF(imap_notify_filters); k++)
		if (imap_arg_atom_is(&a->list[0], imap_notify_filters[k].name))
			break;
	if (k == N_OF(imap_notify_filters)) {
		*err_r = "Unknown NOTIFY mailbox filter";
		return -1;
	}
	g->filter = imap_notify_filters[k].filter;
	if (g->filter == IMAP_NF_SUBTREE || g->filter == IMAP_NF_MAILBOXES) {
		const struct imap_arg *m = &a->list[1];

		if (m->type == IMAP_ARG_LIST) {
			g->names = m->list;
			g->n_names = m->list_n;
		} else {
			g->names = m;
			g->n_names = 1;
		}
		if (g->n_names == 0 || g->n_names > IMAP_NOTIFY_NAMES_MAX) {
			*err_r = "Bad NOTIFY mailbox list";
			return -1;
		}
		for (size_t i = 0; i < g->n_names; i++)
			if (!imap_arg_is_string(&g->names[i])) {
				*err_r = "Bad NOTIFY mailbox name";
				return -1;
			}
		pos = 2;
	}
	if (a->list_n != pos + 1) {
		*err_r = "NOTIFY event group must be (filter events)";
		return -1;
	}
	/* RFC 5465 §6: one filter for the selected mailbox at most. */
	for (size_t i = 0; i < spec->n; i++)
		if (imap_notify_filter_selected(spec->groups[i].filter) &&
		    imap_notify_filter_selected(g->filter)) {
			*err_r = "SELECTED given twice";
			return -1;
		}
	if (imap_notify_events_parse(&a->list[pos], g, spec, err_r) < 0)
		return -1;
	spec->n++;
	return 0;
}

int
imap_notify_parse(const struct imap_arg *args, size_t n,
		  struct imap_notify_spec *spec, const char **err_r)
{
	size_t i = 1;

	memset(spec, 0, sizeof(*spec));
	*err_r = NULL;
	if (n == 1 && imap_arg_atom_is(&args[0], "NONE")) {
		spec->none = true;
		return 0;
	}
	if (n < 2 || !imap_arg_atom_is(&args[0], "SET")) {
		*err_r = "Expected NOTIFY SET or NOTIFY NONE";
		return -1;
	}
	if (imap_arg_atom_is(&args[1], "STATUS")) {
		spec->status = true;
		i = 2;
		if (n < 3) {
			*err_r = "NOTIFY SET needs an event group";
			return -1;
		}
	}
	for (; i < n; i++)
		if (imap_notify_group_parse(&args[i], spec, err_r) < 0) {
			spec->n = 0;
			return -1;
		}
	return spec->bad_event ? 1 : 0;
}
