/* A multi-threaded program for the coredump end-to-end test (tests/e2e/test_coredump.py): built with
 * -g -O0 -pthread, each thread waits in a function of its own name, so gdb's backtraces of a core made
 * from its checkpoint must name them. Prints "ready N" once every thread is waiting, then a tick a second. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int started;
static int pipe_fds[2];

static void mark_started(void)
{
	pthread_mutex_lock(&lock);
	started++;
	pthread_mutex_unlock(&lock);
}

__attribute__((noinline)) static void alpha_waits_on_condition(void)
{
	pthread_mutex_lock(&lock);
	started++;
	for (;;)
		pthread_cond_wait(&never, &lock); /* nobody signals it */
}

__attribute__((noinline)) static void beta_sleeps(void)
{
	struct timespec ts = {3600, 0};
	mark_started();
	for (;;)
		nanosleep(&ts, NULL);
}

__attribute__((noinline)) static void gamma_reads_pipe(void)
{
	char c;
	mark_started();
	for (;;)
		if (read(pipe_fds[0], &c, 1) <= 0)
			sleep(1);
}

/* each thread names itself, so the test can tell which LWP should be in which function */
static void *worker_alpha(void *arg) { pthread_setname_np(pthread_self(), "alpha"); alpha_waits_on_condition(); return arg; }
static void *worker_beta(void *arg) { pthread_setname_np(pthread_self(), "beta"); beta_sleeps(); return arg; }
static void *worker_gamma(void *arg) { pthread_setname_np(pthread_self(), "gamma"); gamma_reads_pipe(); return arg; }

__attribute__((noinline)) static void main_ticks(void)
{
	for (unsigned long n = 1;; n++) {
		printf("tick %lu\n", n);
		fflush(stdout);
		sleep(1);
	}
}

int main(void)
{
	pthread_t t[3];
	if (pipe(pipe_fds))
		return 1;
	pthread_create(&t[0], NULL, worker_alpha, NULL);
	pthread_create(&t[1], NULL, worker_beta, NULL);
	pthread_create(&t[2], NULL, worker_gamma, NULL);
	for (;;) {
		pthread_mutex_lock(&lock);
		int n = started;
		pthread_mutex_unlock(&lock);
		if (n == 3)
			break;
		usleep(10000);
	}
	printf("ready %d\n", getpid());
	fflush(stdout);
	main_ticks();
	return 0;
}
