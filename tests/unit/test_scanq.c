/* test_scanq.c: the directory queue: LIFO order, termination by outstanding count, cancel. */
#include <pthread.h>
#include <stdatomic.h>
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

/* A simulated walk: each item spawns `fanout` children down to depth 0. */
struct walk {
	struct scanq *q;
	atomic_long processed;
	int chain; /* when set, every item spawns one child: a chain */
};

static void *walk_worker(void *arg)
{
	struct walk *w = arg;
	struct scanq_item *it;
	while ((it = scanq_pop(w->q))) {
		struct node *n = (struct node *)it;
		for (int i = 0; n->depth > 0 && i < n->fanout; i++) {
			struct node *c = malloc(sizeof(*c));
			CU_ASSERT_FATAL(c != NULL);
			*c = (struct node){.depth = n->depth - 1, .fanout = n->fanout};
			scanq_push(w->q, &c->item);
		}
		atomic_fetch_add(&w->processed, 1);
		free(n);
		scanq_retire(w->q);
	}
	return NULL;
}

static long walk_run(int threads, int depth, int fanout)
{
	struct walk w = {.processed = 0};
	CU_ASSERT_FATAL(scanq_create(&w.q, NULL) == 0);
	struct node *root = malloc(sizeof(*root));
	CU_ASSERT_FATAL(root != NULL);
	*root = (struct node){.depth = depth, .fanout = fanout};
	scanq_push(w.q, &root->item);
	pthread_t t[8];
	for (int i = 0; i < threads; i++)
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, walk_worker, &w) == 0);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(scanq_outstanding(w.q), 0);
	scanq_destroy(w.q);
	return atomic_load(&w.processed);
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

static void *cancel_waiter(void *arg)
{
	return scanq_pop(arg);
}

static void test_cancel_wakes_waiters(void)
{
	struct scanq *q;
	CU_ASSERT_FATAL(scanq_create(&q, NULL) == 0);
	struct node a = {.depth = 0};
	scanq_push(q, &a.item);
	CU_ASSERT_PTR_EQUAL(scanq_pop(q), &a.item); /* outstanding 1, queue empty: pops would block */
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, cancel_waiter, q) == 0);
	scanq_cancel(q);
	void *got = &a;
	pthread_join(t, &got);
	CU_ASSERT_PTR_NULL(got);
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
