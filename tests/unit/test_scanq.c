/* test_scanq.c: the directory queue: LIFO order, termination by outstanding count, cancel. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "service/scan/scanq.h"
#include "tests/unit/unit.h"

struct node {
	struct scanq_item item;
	int depth;
	int fanout;
};

static void test_lifo_and_end(void)
{
	struct scanq *q;
	CU_ASSERT_FATAL(scanq_create(&q, NULL) == 0);
	struct node a = {.depth = 1}, b = {.depth = 2};
	scanq_push(q, &a.item);
	scanq_push(q, &b.item);
	CU_ASSERT_EQUAL(scanq_outstanding(q), 2);
	CU_ASSERT_PTR_EQUAL(scanq_pop(q), &b.item); /* newest first */
	scanq_retire(q);
	CU_ASSERT_PTR_EQUAL(scanq_pop(q), &a.item);
	CU_ASSERT_EQUAL(scanq_outstanding(q), 1); /* popped but not retired still counts */
	scanq_retire(q);
	CU_ASSERT_PTR_NULL(scanq_pop(q)); /* nothing outstanding: over, without blocking */
	CU_ASSERT_EQUAL(scanq_peak(q), 2);
	scanq_destroy(q);
}

/*
 * A simulated walk: each item spawns `fanout` children down to depth 0. CUnit is not
 * thread-safe, so the workers assert nothing: they count what they did and record what went
 * wrong, and walk_run() asserts on the main thread after joining them.
 */
struct walk {
	struct scanq *q;
	atomic_long processed;
	atomic_bool out_of_memory; /* a worker could not allocate a child (it cancelled the walk) */
};

static void *walk_worker(void *arg)
{
	struct walk *w = arg;
	struct scanq_item *it;
	while ((it = scanq_pop(w->q))) {
		struct node *n = (struct node *)it;
		for (int i = 0; n->depth > 0 && i < n->fanout; i++) {
			struct node *c = malloc(sizeof(*c));
			if (!c) {
				atomic_store(&w->out_of_memory, true);
				scanq_cancel(w->q);
				break;
			}
			*c = (struct node){.depth = n->depth - 1, .fanout = n->fanout};
			scanq_push(w->q, &c->item);
		}
		atomic_fetch_add(&w->processed, 1);
		free(n);
		scanq_retire(w->q);
	}
	return NULL;
}

/* Walks a tree of `depth` levels of `fanout` children with `threads` workers; returns the items
 * processed, or -1 when the walk could not run (asserted here). */
static long walk_run(int threads, int depth, int fanout)
{
	struct walk w = {.processed = 0, .out_of_memory = false};
	CU_ASSERT_FATAL(scanq_create(&w.q, NULL) == 0);
	struct node *root = malloc(sizeof(*root));
	CU_ASSERT_FATAL(root != NULL);
	*root = (struct node){.depth = depth, .fanout = fanout};
	scanq_push(w.q, &root->item);
	pthread_t t[8];
	int started = 0, rc = 0;
	while (started < threads && (rc = pthread_create(&t[started], NULL, walk_worker, &w)) == 0)
		started++;
	if (rc != 0)
		scanq_cancel(w.q); /* stop the workers already running before asserting */
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_FALSE(atomic_load(&w.out_of_memory));
	bool ran = rc == 0 && !atomic_load(&w.out_of_memory);
	if (ran)
		CU_ASSERT_EQUAL(scanq_outstanding(w.q), 0);
	for (struct scanq_item *it; (it = scanq_drain(w.q));)
		free(it);
	scanq_destroy(w.q);
	return ran ? atomic_load(&w.processed) : -1;
}

/* One worker on a 1,000-level chain must finish: nobody waits on its own children. */
static void test_chain_one_worker(void)
{
	CU_ASSERT_EQUAL(walk_run(1, 1000, 1), 1001);
}

static void test_tree_many_workers(void)
{
	/* 1 + 4 + 16 + ... + 4^7 = 21845 items */
	for (int threads = 1; threads <= 8; threads *= 2)
		CU_ASSERT_EQUAL(walk_run(threads, 7, 4), 21845);
}

/* A worker that pops from a queue with work outstanding but none waiting: it must block. */
struct waiter {
	struct scanq *q;
	_Atomic pid_t tid;          /* its kernel thread id, once it runs */
	atomic_bool returned;       /* scanq_pop() returned */
	struct scanq_item *got;     /* what it returned; read after `returned` */
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	atomic_store(&w->tid, unit_gettid());
	w->got = scanq_pop(w->q);
	atomic_store(&w->returned, true);
	return NULL;
}

/*
 * Replays the race between a worker going to sleep in scanq_pop() and scanq_cancel(), in the
 * order that needs the wake-up: the worker is seen blocked in its futex wait first, then the
 * queue is cancelled. (Cancelling first would pass even if cancel woke nobody.)
 */
static void test_cancel_wakes_waiters(void)
{
	struct scanq *q;
	CU_ASSERT_FATAL(scanq_create(&q, NULL) == 0);
	struct node a = {.depth = 0};
	scanq_push(q, &a.item);
	CU_ASSERT_PTR_EQUAL(scanq_pop(q), &a.item); /* outstanding 1, queue empty: pops would block */
	/* On the heap: if the worker never wakes, the test ends and leaves it this, not a stack. */
	struct waiter *w = malloc(sizeof(*w));
	CU_ASSERT_FATAL(w != NULL);
	*w = (struct waiter){.q = q, .tid = 0, .returned = false, .got = &a.item};
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, waiter_main, w) == 0);
	double end = unit_mono_s() + 60;
	while (atomic_load(&w->tid) == 0 && unit_mono_s() < end)
		unit_nap_ms(2);
	pid_t tid = atomic_load(&w->tid);
	bool blocked = tid != 0 && unit_wait_blocked(tid, 60);
	CU_ASSERT_TRUE(blocked); /* a pop with work outstanding waits (it does not spin) */
	CU_ASSERT_FALSE(atomic_load(&w->returned)); /* ... and does not return */
	scanq_cancel(q);
	end = unit_mono_s() + 60;
	while (!atomic_load(&w->returned) && unit_mono_s() < end)
		unit_nap_ms(2);
	/* Not woken within a minute: the worker hangs; it, `w` and the queue are left behind. */
	CU_ASSERT_TRUE_FATAL(atomic_load(&w->returned));
	pthread_join(t, NULL);
	CU_ASSERT_PTR_NULL(w->got);
	free(w);
	struct node b = {.depth = 0};
	scanq_push(q, &b.item);
	CU_ASSERT_PTR_NULL(scanq_pop(q)); /* cancelled: no more work handed out */
	CU_ASSERT_PTR_EQUAL(scanq_drain(q), &b.item);
	CU_ASSERT_PTR_NULL(scanq_drain(q));
	scanq_destroy(q);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"LIFO order, end when nothing is outstanding", test_lifo_and_end},
		{"one worker finishes a 1,000-level chain", test_chain_one_worker},
		{"1 to 8 workers process every item once", test_tree_many_workers},
		{"cancel wakes blocked workers", test_cancel_wakes_waiters},
		{NULL, NULL},
	};
	return unit_run("scanq", tests);
}
