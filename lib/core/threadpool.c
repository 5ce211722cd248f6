/*
 * core/threadpool.c - worker threads over a bounded job ring.
 */
#include <pthread.h>
#include <unistd.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "core/threadpool.h"

struct pool_job {
	vstd_pool_job_fn fn;
	void *arg;
};

struct vstd_pool {
	pthread_mutex_t lock;
	pthread_cond_t has_job, has_room, idle;
	struct pool_job *ring;
	unsigned cap, head, count, running;
	int stopping;
	unsigned nthreads;
	pthread_t *threads;
};

unsigned vstd_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static void *pool_worker(void *arg)
{
	vstd_pool *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct pool_job job;
		while (p->count == 0 && !p->stopping)
			pthread_cond_wait(&p->has_job, &p->lock);
		if (p->count == 0 && p->stopping)
			break;
		job = p->ring[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		p->running++;
		pthread_cond_signal(&p->has_room);
		pthread_mutex_unlock(&p->lock);
		job.fn(job.arg);
		pthread_mutex_lock(&p->lock);
		p->running--;
		if (p->count == 0 && p->running == 0)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int vstd_pool_new(vstd_pool **out, unsigned threads, unsigned max_queued)
{
	vstd_pool *p = vstd_calloc(1, sizeof(*p));
	if (p == NULL)
		return vstd_err_code();
	p->nthreads = threads ? threads : vstd_cpu_count();
	if (p->nthreads > 256)
		p->nthreads = 256;
	p->cap = max_queued ? max_queued : 4 * p->nthreads;
	p->ring = vstd_calloc(p->cap, sizeof(*p->ring));
	p->threads = vstd_calloc(p->nthreads, sizeof(*p->threads));
	if (p->ring == NULL || p->threads == NULL) {
		vstd_free(p->ring);
		vstd_free(p->threads);
		vstd_free(p);
		return vstd_err_code();
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->has_job, NULL);
	pthread_cond_init(&p->has_room, NULL);
	pthread_cond_init(&p->idle, NULL);
	for (unsigned i = 0; i < p->nthreads; i++) {
		if (pthread_create(&p->threads[i], NULL, pool_worker, p) != 0) {
			p->nthreads = i;
			vstd_pool_free(p);
			return vstd_err(VSTD_ENOMEM, "cannot start worker thread %u", i);
		}
	}
	*out = p;
	return 0;
}

int vstd_pool_submit(vstd_pool *p, vstd_pool_job_fn fn, void *arg)
{
	pthread_mutex_lock(&p->lock);
	while (p->count == p->cap)
		pthread_cond_wait(&p->has_room, &p->lock);
	p->ring[(p->head + p->count) % p->cap] = (struct pool_job){fn, arg};
	p->count++;
	pthread_cond_signal(&p->has_job);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void vstd_pool_wait(vstd_pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->count != 0 || p->running != 0)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

unsigned vstd_pool_threads(const vstd_pool *p)
{
	return p->nthreads;
}

void vstd_pool_free(vstd_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->has_job);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->has_job);
	pthread_cond_destroy(&p->has_room);
	pthread_cond_destroy(&p->idle);
	vstd_free(p->ring);
	vstd_free(p->threads);
	vstd_free(p);
}
