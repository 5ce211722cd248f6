/*
 * core/threadpool.h - a fixed set of worker threads running submitted jobs.
 *
 * Used for CPU-bound work (compression, hashing).  Jobs run in any order on
 * any worker; vstd_pool_wait() returns when every job submitted so far has
 * finished.  Submitting blocks while max_queued jobs are pending, which
 * bounds memory.  A pool is driven by one thread (the submitter).
 */
#ifndef VSTD_CORE_THREADPOOL_H
#define VSTD_CORE_THREADPOOL_H

typedef struct vstd_pool vstd_pool;
typedef void (*vstd_pool_job_fn)(void *arg);

/* threads 0: online CPUs.  max_queued 0: 4 x threads. */
int vstd_pool_new(vstd_pool **out, unsigned threads, unsigned max_queued);
int vstd_pool_submit(vstd_pool *pool, vstd_pool_job_fn fn, void *arg);
void vstd_pool_wait(vstd_pool *pool);
unsigned vstd_pool_threads(const vstd_pool *pool);
/* Waits for all jobs, then joins the workers.  NULL: no-op. */
void vstd_pool_free(vstd_pool *pool);
/* Online CPUs, at least 1. */
unsigned vstd_cpu_count(void);

#endif
