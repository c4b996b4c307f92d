/*
 * The event loop: one libevent base owned by the loop thread. Other threads
 * (workers, the commit thread) hand results back with loop_post(), the only
 * thread-safe entry point.
 */
#ifndef POSTEL_LOOP_H
#define POSTEL_LOOP_H

struct event_base;
struct loop;

typedef void (*loop_fn)(void *arg);

/* Returns NULL on failure. */
struct loop *loop_new(void);
void loop_free(struct loop **lp);
struct event_base *loop_base(const struct loop *l);
/* Thread-safe: fn(arg) runs on the loop thread soon, in posting order. */
void loop_post(struct loop *l, loop_fn fn, void *arg);
/* Runs until loop_stop(); 0 on a clean stop. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
