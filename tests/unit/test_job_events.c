/*
 * test_job_events.c: the event bus: order and filters, its bounds (events and bytes), readers
 * that fall behind, waiting, and publishers racing readers (started together by barriers).
 */
#include "unit.h"

#include <errno.h>
#include <pthread.h>

#include "base/clock.h"
#include "service/job/job_events.h"

static struct jobev_bus *bus_new(size_t events, size_t bytes)
{
	struct jobev_bus *b = NULL;
	struct errbuf err = {0};
	struct jobev_opts o = {.max_events = events, .max_bytes = bytes};
	if (jobev_create(&b, &o, &err) < 0) {
		fprintf(stderr, "jobev_create: %s\n", err.msg);
		exit(2);
	}
	return b;
}

static uint64_t pub(struct jobev_bus *b, enum jobev_kind k, uint64_t id, const char *text)
{
	return jobev_publish(b, k, id, text, strlen(text));
}

static void test_order_and_filter(void)
{
	struct jobev_bus *b = bus_new(0, 0);
	uint64_t start = jobev_head(b);
	CU_ASSERT_EQUAL(start, 1);
	CU_ASSERT_EQUAL(pub(b, JOBEV_CREATED, 1, "{\"a\":1}"), 1);
	CU_ASSERT_EQUAL(pub(b, JOBEV_CREATED, 2, "{\"b\":1}"), 2);
	CU_ASSERT_EQUAL(pub(b, JOBEV_PROGRESS, 2, "{\"b\":2}"), 3);
	CU_ASSERT_EQUAL(pub(b, JOBEV_FINISHED, 1, "{\"a\":2}"), 4);

	/* Scan 2 only. */
	struct jobev_filter f2 = {.scan_id = 2};
	uint64_t cur = start, missed = 0;
	struct jobev e;
	CU_ASSERT_EQUAL(jobev_next(b, &f2, &cur, &e, &missed), JOBEV_EVENT);
	CU_ASSERT_EQUAL(e.seq, 2);
	CU_ASSERT_STRING_EQUAL(e.data, "{\"b\":1}");
	jobev_clear(&e);
	CU_ASSERT_EQUAL(jobev_next(b, &f2, &cur, &e, &missed), JOBEV_EVENT);
	CU_ASSERT_EQUAL(e.seq, 3);
	CU_ASSERT_EQUAL(e.kind, JOBEV_PROGRESS);
	jobev_clear(&e);
	CU_ASSERT_EQUAL(jobev_next(b, &f2, &cur, &e, &missed), JOBEV_NONE);
	CU_ASSERT_EQUAL(cur, 5); /* at the head, past scan 1's event */

	/* Kinds only, any scan; jobev_pending() skips what the filter refuses. */
	struct jobev_filter fk = {.kinds = 1u << JOBEV_FINISHED};
	cur = start;
	CU_ASSERT_TRUE(jobev_pending(b, &fk, &cur));
	CU_ASSERT_EQUAL(cur, 4);
	CU_ASSERT_EQUAL(jobev_next(b, &fk, &cur, &e, &missed), JOBEV_EVENT);
	CU_ASSERT_EQUAL(e.scan_id, 1);
	jobev_clear(&e);
	CU_ASSERT_FALSE(jobev_pending(b, &fk, &cur));

	/* A cursor from the future (a client's Last-Event-ID) is brought back to the head. */
	cur = 1000;
	CU_ASSERT_EQUAL(jobev_next(b, NULL, &cur, &e, &missed), JOBEV_NONE);
	CU_ASSERT_EQUAL(cur, 5);
	CU_ASSERT_STRING_EQUAL(jobev_kind_name(JOBEV_SLOW_DIR), "slow_dir");
	jobev_destroy(b);
}

static void test_bounds(void)
{
	/* Four events at most: a reader that read nothing of ten missed six, then gets the rest. */
	struct jobev_bus *b = bus_new(4, 1 << 20);
	for (int i = 1; i <= 10; i++)
		pub(b, JOBEV_PROGRESS, 7, "{}");
	uint64_t cur = 1, missed = 0;
	struct jobev e;
	CU_ASSERT_TRUE(jobev_pending(b, NULL, &cur));
	CU_ASSERT_EQUAL(cur, 1); /* the lag is left for jobev_next() to report */
	CU_ASSERT_EQUAL(jobev_next(b, NULL, &cur, &e, &missed), JOBEV_LAGGED);
	CU_ASSERT_EQUAL(missed, 6);
	CU_ASSERT_EQUAL(cur, 7);
	for (uint64_t want = 7; want <= 10; want++) {
		CU_ASSERT_EQUAL(jobev_next(b, NULL, &cur, &e, &missed), JOBEV_EVENT);
		CU_ASSERT_EQUAL(e.seq, want);
		jobev_clear(&e);
	}
	struct jobev_counts c;
	jobev_counts(b, &c);
	CU_ASSERT_EQUAL(c.published, 10);
	CU_ASSERT_EQUAL(c.evicted, 6);
	CU_ASSERT_EQUAL(c.events, 4);
	jobev_destroy(b);

	/* 100 bytes at most: the third event of 40 bytes pushes the first out. */
	b = bus_new(100, 100);
	char forty[41];
	memset(forty, 'x', 40);
	forty[40] = '\0';
	CU_ASSERT_EQUAL(pub(b, JOBEV_PROGRESS, 1, forty), 1);
	CU_ASSERT_EQUAL(pub(b, JOBEV_PROGRESS, 1, forty), 2);
	CU_ASSERT_EQUAL(pub(b, JOBEV_PROGRESS, 1, forty), 3);
	jobev_counts(b, &c);
	CU_ASSERT_EQUAL(c.events, 2);
	CU_ASSERT_EQUAL(c.bytes, 80);
	/* One event over the whole bound cannot be kept, and says so. */
	char big[102];
	memset(big, 'y', 101);
	big[101] = '\0';
	CU_ASSERT_EQUAL(pub(b, JOBEV_PROGRESS, 1, big), 0);
	jobev_counts(b, &c);
	CU_ASSERT_EQUAL(c.lost, 1);
	CU_ASSERT_EQUAL(c.events, 2);
	jobev_destroy(b);
}

struct waiter {
	struct jobev_bus *b;
	uint64_t cursor;
	pid_t tid;
	int rc;
	pthread_barrier_t *ready;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	w->tid = unit_gettid();
	pthread_barrier_wait(w->ready);
	w->rc = jobev_wait(w->b, w->cursor, clock_mono_ns() + 60 * 1000000000LL);
	return NULL;
}

/* A waiter blocked in jobev_wait() wakes on a publish, and another on close. */
static void test_wait_wakes(void)
{
	struct jobev_bus *b = bus_new(0, 0);
	for (int round = 0; round < 2; round++) {
		pthread_barrier_t ready;
		pthread_barrier_init(&ready, NULL, 2);
		struct waiter w = {.b = b, .cursor = jobev_head(b), .ready = &ready};
		pthread_t t;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, waiter_main, &w), 0);
		pthread_barrier_wait(&ready);
		CU_ASSERT_TRUE(unit_wait_blocked(w.tid, 60));
		if (round == 0)
			pub(b, JOBEV_STARTED, 3, "{}");
		else
			jobev_close(b);
		pthread_join(t, NULL);
		CU_ASSERT_EQUAL(w.rc, round == 0 ? 1 : -ESHUTDOWN);
		pthread_barrier_destroy(&ready);
	}
	/* Nothing new before the deadline: 0 (the deadline is now). */
	struct jobev_bus *quiet = bus_new(0, 0);
	CU_ASSERT_EQUAL(jobev_wait(quiet, jobev_head(quiet), clock_mono_ns()), 0);
	jobev_destroy(quiet);
	jobev_destroy(b);
}

#define RACE_PUBLISHERS 4
#define RACE_EACH 2000

struct race {
	struct jobev_bus *b;
	pthread_barrier_t *go;
	unsigned index;
	/* The reader's findings. */
	uint64_t got, missed, bad_order, bad_seq;
};

static void *race_publisher(void *arg)
{
	struct race *r = arg;
	pthread_barrier_wait(r->go);
	for (unsigned i = 0; i < RACE_EACH; i++) {
		char text[64];
		int n = snprintf(text, sizeof(text), "{\"p\":%u,\"i\":%u}", r->index, i);
		jobev_publish(r->b, JOBEV_PROGRESS, r->index + 1, text, (size_t)n);
	}
	return NULL;
}

/* Reads until it has accounted for every event (read or missed), checking the order. */
static void *race_reader(void *arg)
{
	struct race *r = arg;
	uint64_t cursor = 1, last_seq = 0;
	/* Per publisher: the last index read, and whether events may have been missed since. */
	long last_i[RACE_PUBLISHERS];
	bool gap[RACE_PUBLISHERS];
	for (int p = 0; p < RACE_PUBLISHERS; p++) {
		last_i[p] = -1;
		gap[p] = false;
	}
	pthread_barrier_wait(r->go);
	while (r->got + r->missed < (uint64_t)RACE_PUBLISHERS * RACE_EACH) {
		struct jobev e;
		uint64_t missed = 0;
		int st = jobev_next(r->b, NULL, &cursor, &e, &missed);
		if (st == JOBEV_NONE) {
			jobev_wait(r->b, cursor, clock_mono_ns() + 60 * 1000000000LL);
			continue;
		}
		if (st == JOBEV_LAGGED) {
			r->missed += missed;
			/* Missed events leave a gap in each publisher's sequence; order still holds. */
			for (int p = 0; p < RACE_PUBLISHERS; p++)
				gap[p] = true;
			last_seq = cursor - 1;
			continue;
		}
		if (st != JOBEV_EVENT)
			break;
		r->got++;
		if (e.seq != last_seq + 1)
			r->bad_seq++;
		last_seq = e.seq;
		unsigned p = 0, i = 0;
		if (sscanf(e.data, "{\"p\":%u,\"i\":%u}", &p, &i) != 2 || p >= RACE_PUBLISHERS) {
			r->bad_order++;
		} else {
			if (gap[p] ? (long)i <= last_i[p] : (long)i != last_i[p] + 1)
				r->bad_order++;
			last_i[p] = (long)i;
			gap[p] = false;
		}
		jobev_clear(&e);
	}
	return NULL;
}

static void race_run(size_t cap, struct race *reader)
{
	struct jobev_bus *b = bus_new(cap, 1 << 20);
	/* Publishers, the reader and this thread: all start at once, from the first event. */
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, RACE_PUBLISHERS + 2);
	pthread_t pt[RACE_PUBLISHERS], rt;
	struct race pubs[RACE_PUBLISHERS];
	*reader = (struct race){.b = b, .go = &go};
	for (unsigned i = 0; i < RACE_PUBLISHERS; i++) {
		pubs[i] = (struct race){.b = b, .go = &go, .index = i};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&pt[i], NULL, race_publisher, &pubs[i]), 0);
	}
	CU_ASSERT_EQUAL_FATAL(pthread_create(&rt, NULL, race_reader, reader), 0);
	pthread_barrier_wait(&go);
	for (unsigned i = 0; i < RACE_PUBLISHERS; i++)
		pthread_join(pt[i], NULL);
	pthread_join(rt, NULL);
	struct jobev_counts c;
	jobev_counts(b, &c);
	CU_ASSERT_EQUAL(c.published, (uint64_t)RACE_PUBLISHERS * RACE_EACH);
	CU_ASSERT_TRUE(c.events <= cap);
	pthread_barrier_destroy(&go);
	jobev_destroy(b);
}

/* Room for everything: the reader sees every event once, in sequence, each publisher in order. */
static void test_race_no_loss(void)
{
	for (int round = 0; round < unit_rounds(20); round++) {
		struct race r;
		race_run((size_t)RACE_PUBLISHERS * RACE_EACH, &r);
		CU_ASSERT_EQUAL(r.got, (uint64_t)RACE_PUBLISHERS * RACE_EACH);
		CU_ASSERT_EQUAL(r.missed, 0);
		CU_ASSERT_EQUAL(r.bad_seq, 0);
		CU_ASSERT_EQUAL(r.bad_order, 0);
	}
}

/* A ring of 16: the reader falls behind, and what it read plus what it missed is everything. */
static void test_race_small_ring(void)
{
	for (int round = 0; round < unit_rounds(20); round++) {
		struct race r;
		race_run(16, &r);
		CU_ASSERT_EQUAL(r.got + r.missed, (uint64_t)RACE_PUBLISHERS * RACE_EACH);
		CU_ASSERT_EQUAL(r.bad_seq, 0);
		CU_ASSERT_EQUAL(r.bad_order, 0);
	}
}

/* A reader that reads nothing while the ring overflows: it is told, and memory stays put. */
static void test_stalled_reader(void)
{
	struct jobev_bus *b = bus_new(8, 1 << 20);
	uint64_t cursor = jobev_head(b);
	for (int i = 0; i < 1000; i++)
		pub(b, JOBEV_PROGRESS, 1, "{\"x\":1}");
	struct jobev_counts c;
	jobev_counts(b, &c);
	CU_ASSERT_EQUAL(c.events, 8);
	CU_ASSERT_EQUAL(c.bytes, 8 * strlen("{\"x\":1}"));
	struct jobev e;
	uint64_t missed = 0;
	CU_ASSERT_EQUAL(jobev_next(b, NULL, &cursor, &e, &missed), JOBEV_LAGGED);
	CU_ASSERT_EQUAL(missed, 992);
	jobev_destroy(b);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"sequence numbers, filters by scan and kind", test_order_and_filter},
		{"bounds: events and bytes, lag reported, oversize refused", test_bounds},
		{"jobev_wait() wakes on publish and on close", test_wait_wakes},
		{"publishers racing a reader: nothing lost or reordered", test_race_no_loss},
		{"publishers racing a reader on a small ring: read + missed = all", test_race_small_ring},
		{"a stalled reader costs no memory and learns what it missed", test_stalled_reader},
		{NULL, NULL},
	};
	return unit_run("job_events", tests);
}
