/* One store handle per worker thread (store.h: store_thread_handle). */
#include "store.h"

#include <pthread.h>

#include "../core/config.h"
#include "../core/log.h"

static pthread_key_t thread_store_key;
static pthread_once_t thread_store_once = PTHREAD_ONCE_INIT;

static void
thread_store_close(void *p)
{
	struct store *st = p;

	store_close(&st);
}

static void
thread_store_key_init(void)
{
	pthread_key_create(&thread_store_key, thread_store_close);
}

struct store *
store_thread_handle(const struct config *cfg)
{
	struct store *st;
	char err[256];

	pthread_once(&thread_store_once, thread_store_key_init);
	st = pthread_getspecific(thread_store_key);
	if (st != NULL)
		return st;
	st = store_open(cfg->store_url, cfg->data_dir, err, sizeof(err));
	if (st == NULL) {
		log_error(NULL, "store_open", " reason=%s", log_qs(err));
		return NULL;
	}
	pthread_setspecific(thread_store_key, st);
	return st;
}
