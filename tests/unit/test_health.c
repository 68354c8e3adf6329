/*
 * Unit tests for monitor/health.c on a real libev loop with short
 * thresholds and a scripted prober: a crash is declared dead close to
 * dead_after; a live server behind a lossy capture never is; an idle server
 * that dies is found by the periodic probe; a crash during a bulk transfer
 * (only client ACKs) is found by the silence check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdio.h>

#include <ev.h>

#include "health.h"
#include "log.h"

struct world {
	struct ev_loop	*loop;
	struct health	*h;
	int		 server_alive;	/* does the prober get answers */
	double		 answer_delay;
	int		 probes;
	enum health_state last;
	double		 dead_at;
	int		 changes;
	ev_timer	 answer;
	/* The traffic script. */
	ev_timer	 tick;
	double		 crash_at;	/* server silent from then on */
	double		 loss;		/* capture loses this share of server frames */
	int		 client_acks_only;
	unsigned	 rng;
	double		 stop_at;
};

static void
on_change(void *arg, int server, enum health_state from, enum health_state to,
    const char *why)
{
	struct world *w = arg;

	(void)server;
	(void)from;
	(void)why;
	if (getenv("HDEBUG")) fprintf(stderr, "%.3f %s -> %s: %s\n", ev_now(w->loop), health_state_str(from), health_state_str(to), why);
	w->last = to;
	w->changes++;
	if (to == HEALTH_DEAD)
		w->dead_at = ev_now(w->loop);
}

static void
answer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct world *w = t->data;

	(void)loop;
	(void)revents;
	health_probe_answer(w->h, 0, 1, "scripted answer");
}

static int
prober(void *arg, int server, int method)
{
	struct world *w = arg;

	(void)server;
	(void)method;
	w->probes++;
	if (w->server_alive && !ev_is_active(&w->answer)) {
		ev_timer_set(&w->answer, w->answer_delay, 0.);
		ev_timer_start(w->loop, &w->answer);
	}
	return 0;
}

static unsigned
rnd(struct world *w)
{
	w->rng = w->rng * 1103515245u + 12345u;
	return (w->rng >> 16) & 0x7fff;
}

/* Every 10 ms: the client sends, and a live server answers. */
static void
tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct world *w = t->data;
	double now = ev_now(loop);

	(void)revents;
	if (now >= w->stop_at || w->last == HEALTH_DEAD) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	health_frame(w->h, 0, 0, !w->client_acks_only, NULL, now);
	if (w->crash_at == 0 || now < w->crash_at) {
		if (w->loss == 0 || rnd(w) % 1000 >= w->loss * 1000)
			health_frame(w->h, 0, 1, 0, NULL, now);
	} else
		w->server_alive = 0;
}

static struct world *
world_new(double dead_after_ms, double probe_interval_ms)
{
	struct world *w = calloc(1, sizeof(*w));
	struct health_params p;
	struct health_prober pr;
	struct pkt_addr a;

	assert_non_null(w);
	w->loop = ev_loop_new(0);
	w->h = health_new(w->loop, on_change, w);
	health_params_default(&p);
	p.dead_after = dead_after_ms;
	p.probe_interval = probe_interval_ms;
	p.probe_timeout = 5;
	p.probe_tries = 3;
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	assert_int_equal(health_add_server(w->h, "web1", &a, &p), 0);
	pr.start = prober;
	pr.arg = w;
	health_set_prober(w->h, &pr);
	w->server_alive = 1;
	w->answer_delay = 0.001;
	w->rng = 42;
	ev_timer_init(&w->answer, answer_cb, 0., 0.);
	w->answer.data = w;
	ev_timer_init(&w->tick, tick_cb, 0.01, 0.01);
	w->tick.data = w;
	ev_timer_start(w->loop, &w->tick);
	return w;
}

static void
world_free(struct world *w)
{
	ev_timer_stop(w->loop, &w->tick);
	ev_timer_stop(w->loop, &w->answer);
	health_free(w->h);
	ev_loop_destroy(w->loop);
	free(w);
}

static void
test_crash_detected_near_threshold(void **state)
{
	struct world *w = world_new(100, 1000);
	double start;

	(void)state;
	ev_now_update(w->loop);
	start = ev_now(w->loop);
	w->crash_at = start + 0.3;
	w->stop_at = start + 2.0;
	ev_run(w->loop, 0);
	assert_int_equal(w->last, HEALTH_DEAD);
	/* Unanswered from the first client frame after the crash (< 10 ms). */
	assert_true(w->dead_at - w->crash_at >= 0.100);
	assert_true(w->dead_at - w->crash_at <= 0.100 + 0.010 + 0.015);
	assert_true(w->probes >= 3);
	world_free(w);
}

static void
test_lossy_capture_never_dead(void **state)
{
	struct world *w = world_new(50, 1000);
	double start;

	(void)state;
	ev_now_update(w->loop);
	start = ev_now(w->loop);
	w->loss = 0.30;			/* 30% of server frames lost */
	w->stop_at = start + 3.0;
	ev_run(w->loop, 0);
	assert_int_not_equal(w->last, HEALTH_DEAD);
	world_free(w);
	/* Even 90% loss: the probe keeps it alive. */
	w = world_new(50, 1000);
	ev_now_update(w->loop);
	start = ev_now(w->loop);
	w->loss = 0.90;
	w->stop_at = start + 2.0;
	ev_run(w->loop, 0);
	assert_int_not_equal(w->last, HEALTH_DEAD);
	assert_true(w->probes > 0);
	world_free(w);
}

static void
test_idle_server_death(void **state)
{
	struct world *w = world_new(100, 200);
	double start;

	(void)state;
	ev_now_update(w->loop);
	start = ev_now(w->loop);
	/* No traffic at all; the server answers probes, then dies. */
	ev_timer_stop(w->loop, &w->tick);
	ev_timer_set(&w->tick, 0.6, 0.);
	ev_timer_start(w->loop, &w->tick);
	w->stop_at = start + 0.5;		/* tick fires once, stops */
	ev_run(w->loop, 0);
	assert_int_equal(w->last, HEALTH_ALIVE);
	w->server_alive = 0;
	ev_now_update(w->loop);
	start = ev_now(w->loop);
	ev_timer_set(&w->tick, 1.0, 0.);
	ev_timer_start(w->loop, &w->tick);
	w->stop_at = start + 10;
	ev_run(w->loop, 0);
	assert_int_equal(w->last, HEALTH_DEAD);
	/* Within 1.25 probe intervals plus the probe round (3 x 5 ms). */
	assert_true(w->dead_at - start < 0.25 + 0.015 + 0.02);
	world_free(w);
}

static void
test_bulk_crash_by_silence(void **state)
{
	struct world *w = world_new(100, 5000);
	double start;

	(void)state;
	ev_now_update(w->loop);
	start = ev_now(w->loop);
	w->client_acks_only = 1;	/* server sends, client only acks */
	w->crash_at = start + 0.3;
	w->stop_at = start + 2.0;
	ev_run(w->loop, 0);
	assert_int_equal(w->last, HEALTH_DEAD);
	assert_true(w->dead_at - w->crash_at < 0.100 + 0.100 + 0.020);
	world_free(w);
}

/*
 * A reload (health_reconf): a new dead_after applies in place, the state
 * is kept (no change reported), and the next crash is judged by the new
 * threshold; an added server starts unknown.
 */
static void
test_reconf_threshold(void **state)
{
	struct world *w = world_new(100, 1000);
	struct health_params p[2];
	struct pkt_addr a[2];
	const char *names[2] = { "web1", "web2" };
	int old_of_new[2] = { 0, -1 };
	double start;
	int changes;

	(void)state;
	ev_now_update(w->loop);
	start = ev_now(w->loop);
	w->stop_at = start + 0.3;
	ev_run(w->loop, 0);
	assert_int_equal(w->last, HEALTH_ALIVE);
	changes = w->changes;
	memset(a, 0, sizeof(a));
	a[0].family = a[1].family = AF_INET;
	a[1].a[3] = 9;
	health_params_default(&p[0]);
	p[0].dead_after = 300;
	p[0].probe_interval = 1000;
	p[0].probe_timeout = 5;
	p[0].probe_tries = 3;
	p[1] = p[0];
	assert_int_equal(health_reconf(w->h, 2, old_of_new, names, a, p), 0);
	assert_int_equal(health_get(w->h, 0, NULL, NULL), HEALTH_ALIVE);
	assert_int_equal(health_get(w->h, 1, NULL, NULL), HEALTH_UNKNOWN);
	assert_int_equal(w->changes, changes);
	ev_now_update(w->loop);
	start = ev_now(w->loop);
	w->crash_at = start + 0.1;
	w->stop_at = start + 2.0;
	ev_run(w->loop, 0);
	assert_int_equal(w->last, HEALTH_DEAD);
	assert_true(w->dead_at - w->crash_at >= 0.300);
	assert_true(w->dead_at - w->crash_at <= 0.300 + 0.010 + 0.015);
	world_free(w);
}

/*
 * A server whose address this host holds (health_pause): no probes, no
 * death, however silent; watched again, it starts unknown and is never
 * declared dead before it was seen alive (docs/drain.md "Failback").
 */
static void
test_paused(void **state)
{
	struct world *w = world_new(100, 200);
	double start;

	(void)state;
	ev_now_update(w->loop);
	start = ev_now(w->loop);
	ev_timer_stop(w->loop, &w->tick);
	ev_timer_set(&w->tick, 0.6, 0.);
	ev_timer_start(w->loop, &w->tick);
	w->stop_at = start + 0.5;
	ev_run(w->loop, 0);
	assert_int_equal(w->last, HEALTH_ALIVE);
	/* Paused: the server dies, nobody notices, nothing is probed. */
	health_pause(w->h, 0, 1, "");
	w->server_alive = 0;
	w->probes = 0;
	w->changes = 0;
	ev_now_update(w->loop);
	start = ev_now(w->loop);
	ev_timer_set(&w->tick, 1.0, 0.);
	ev_timer_start(w->loop, &w->tick);
	w->stop_at = start + 0.9;	/* the tick at 1 s ends it */
	ev_run(w->loop, 0);
	assert_int_equal(w->probes, 0);
	assert_int_equal(w->changes, 0);
	assert_int_equal(health_get(w->h, 0, NULL, NULL), HEALTH_ALIVE);
	/* Watched again: unknown, and silence is no death. */
	health_pause(w->h, 0, 0, "its address left this host");
	assert_int_equal(w->last, HEALTH_UNKNOWN);
	ev_now_update(w->loop);
	start = ev_now(w->loop);
	ev_timer_set(&w->tick, 1.0, 0.);
	ev_timer_start(w->loop, &w->tick);
	w->stop_at = start + 0.9;	/* the tick at 1 s ends it */
	ev_run(w->loop, 0);
	assert_true(w->probes > 0);
	assert_int_equal(w->last, HEALTH_UNKNOWN);
	world_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_detected_near_threshold),
		cmocka_unit_test(test_lossy_capture_never_dead),
		cmocka_unit_test(test_idle_server_death),
		cmocka_unit_test(test_bulk_crash_by_silence),
		cmocka_unit_test(test_reconf_threshold),
		cmocka_unit_test(test_paused),
	};

	log_init("test_health", 1, 0);
	return cmocka_run_group_tests_name("health", tests, NULL, NULL);
}
