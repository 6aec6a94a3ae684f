//! The runner on top: concurrency, back-off, dead letters, unknown kinds and panics, graceful shutdown.

use super::support::*;

klaxon_db::dual_test!(
    runners_overlap_partitions_but_not_within_one,
    backoff_grows_caps_and_dies,
    dead_letters_block_nothing_and_retry,
    unknown_kind_and_panic_are_dead,
    graceful_shutdown_releases_leases,
    jobs_due_before_the_last_claim_still_run,
    retention_deletes_old_done_jobs_and_frees_their_keys,
    a_batching_kind_runs_together_and_records_each_job,
    defer_gives_the_attempt_back_and_retry_after_sets_the_wait,
);

/// `JobError::Defer` runs the job again after its wait without spending an attempt (a job may defer more often
/// than its policy allows attempts); `JobError::RetryAfter` spends one and waits what it said, not the policy's
/// back-off.
async fn defer_gives_the_attempt_back_and_retry_after_sets_the_wait(db: Database) {
    let (queue, clock) = setup(db).await;
    let (ctx, _started) = ctx();
    let patient = NewJob::new(&Patient {
        name: "p".into(),
        defers: 5,
        waits: 1,
    })
    .unwrap();
    let id = queue.enqueue(patient).await.unwrap().unwrap();
    let (token, handle) = start(runner(&queue, &ctx, 2));
    for n in 1..=5u32 {
        until(&format!("call {n}"), || async {
            ctx.calls.lock().unwrap().get("p") == Some(&n)
        })
        .await;
        let j = wait_state(&queue, id, JobState::Ready, 0).await;
        assert_eq!(j.run_at_ms, clock.now_ms() + 10_000, "deferred by its own wait");
        clock.advance(Duration::from_secs(10));
        queue.notify();
    }
    // The sixth call asks to come back in two minutes: one attempt spent, the policy's 1 s ignored.
    let j = wait_state(&queue, id, JobState::Ready, 1).await;
    assert_eq!(j.run_at_ms, clock.now_ms() + 120_000);
    clock.advance(Duration::from_secs(119));
    queue.notify();
    // Not due yet by the queue's clock, so no worker can claim it, however long this waits.
    assert_eq!(
        job(&queue, id).await.state,
        JobState::Ready,
        "not before its wait"
    );
    clock.advance(Duration::from_secs(1));
    queue.notify();
    wait_state(&queue, id, JobState::Done, 2).await;
    token.cancel();
    handle.await.unwrap();
}

/// On PostgreSQL a job enqueued by another process (here another `Queue` handle, whose local wake-ups are its
/// own) wakes an idle runner through NOTIFY, long before its poll interval. SQLite has no such channel between
/// processes: there the poll interval is the bound, so this case is PostgreSQL's alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_enqueue_wakes_an_idle_runner_on_postgres() {
    let Some(db) = klaxon_db::testing::postgres().await else {
        return;
    };
    klaxon_queue::MIGRATOR.run(&db).await.unwrap();
    let (ctx, _started) = ctx();
    let runner = Runner::new(Queue::new(db.clone()), ctx.clone())
        .register::<Noop>()
        .with_settings(RunnerSettings {
            workers: 2,
            poll_interval: Duration::from_secs(120),
            ..RunnerSettings::default()
        });
    let (token, handle) = start(runner);
    // The listener is connected once its LISTEN shows in pg_stat_activity (a wake-up sent before that would
    // be made up for by the look the listener takes on connecting, and prove nothing).
    until("the runner's listener is connected", || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap()
            > 0
    })
    .await;
    // Every enqueueing statement sends its own NOTIFY: a listener of the test's own hears one per statement.
    let mut heard = sqlx::postgres::PgListener::connect(&db.url).await.unwrap();
    heard.listen("queue_jobs").await.unwrap();
    let other = Queue::new(db.clone());
    let mut notified = async || {
        tokio::time::timeout(Duration::from_secs(15), heard.recv())
            .await
            .expect("an enqueue sent no NOTIFY")
            .unwrap();
    };
    let done = |ids: Vec<JobId>| {
        let other = other.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
            for id in ids {
                while job(&other, id).await.state != JobState::Done {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "job {id} still waits: NOTIFY did not wake the runner (it polls every 120 s)"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    };
    // Without NOTIFY the runner looks for jobs twice (when it starts, and when its listener connects) and then
    // every 120 s, and each look can take only the jobs already committed. Rounds enqueued one after the
    // other, each waiting for the last to be done, outnumber those looks: some round is run only because
    // its NOTIFY woke the runner, whenever the looks happened.
    for _ in 0..3 {
        let id = other.enqueue(noop()).await.unwrap().unwrap();
        notified().await;
        done(vec![id]).await;
    }
    let ids = other.enqueue_many(&[noop(), noop()]).await.unwrap();
    notified().await;
    done(ids).await;
    token.cancel();
    handle.await.unwrap();
}

/// A kind with `BATCH` > 1 gets its due jobs in batches no bigger than that, and each job's outcome is its
/// own: done, retried then dead, or dead at once; a garbled payload fails only itself.
async fn a_batching_kind_runs_together_and_records_each_job(db: Database) {
    let (queue, clock) = setup(db).await;
    let (ctx, _started) = ctx();
    let mut ids = Vec::new();
    for outcome in ["ok", "retry", "fatal", "ok", "ok", "ok", "ok", "ok"] {
        let job = NewJob::new(&Batched {
            outcome: outcome.into(),
        })
        .unwrap();
        ids.push(queue.enqueue(job).await.unwrap().unwrap());
    }
    let garbled = queue
        .enqueue(NewJob::raw("batched", &serde_json::json!({"x": 1})).unwrap())
        .await
        .unwrap()
        .unwrap();
    let (token, handle) = start(runner(&queue, &ctx, 16));
    for (i, id) in ids.iter().enumerate() {
        match i {
            1 => {
                wait_state(&queue, *id, JobState::Ready, 1).await;
            }
            2 => {
                let dead = wait_state(&queue, *id, JobState::Dead, 1).await;
                assert_eq!(dead.last_error.as_deref(), Some("bad input"));
            }
            _ => {
                wait_state(&queue, *id, JobState::Done, 1).await;
            }
        }
    }
    let g = wait_state(&queue, garbled, JobState::Dead, 1).await;
    assert!(g.last_error.unwrap().contains("does not decode"));
    // The retried job's second attempt is its last.
    clock.advance(Duration::from_secs(600));
    queue.notify();
    let retried = wait_state(&queue, ids[1], JobState::Dead, 2).await;
    assert!(retried.last_error.unwrap().contains("try again"));
    token.cancel();
    handle.await.unwrap();
    let batches = ctx.batches.lock().unwrap().clone();
    assert!(
        batches.iter().all(|&n| n <= 4),
        "no batch over BATCH: {batches:?}"
    );
    assert!(
        batches.iter().any(|&n| n > 1),
        "jobs claimed together ran together: {batches:?}"
    );
    assert_eq!(
        batches.iter().sum::<usize>(),
        9,
        "every decoded attempt ran once: {batches:?}"
    );
}

/// A runner with a retention deletes done jobs finished longer ago than it, `Forever` keys included (their
/// keys are free again); newer done jobs and dead ones stay.
async fn retention_deletes_old_done_jobs_and_frees_their_keys(db: Database) {
    let (queue, clock) = setup(db).await;
    let (ctx, _started) = ctx();
    let old = queue
        .enqueue(noop().dedup("alert:1:step:0"))
        .await
        .unwrap()
        .unwrap();
    let dead = queue
        .enqueue(
            NewJob::new(&Flaky {
                name: "d".into(),
                fail_times: 99,
                fatal: true,
            })
            .unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let (token, handle) = start(runner(&queue, &ctx, 2));
    wait_state(&queue, old, JobState::Done, 1).await;
    wait_state(&queue, dead, JobState::Dead, 1).await;
    token.cancel();
    handle.await.unwrap();

    clock.advance(Duration::from_secs(2 * 3600));
    let recent = queue
        .enqueue(noop().dedup("alert:2:step:0"))
        .await
        .unwrap()
        .unwrap();
    let hour = Duration::from_secs(3600);
    let with_retention = runner(&queue, &ctx, 2).with_settings(RunnerSettings {
        workers: 2,
        poll_interval: Duration::from_millis(50),
        retention: Some(hour),
        ..RunnerSettings::default()
    });
    let (token, handle) = start(with_retention);
    wait_state(&queue, recent, JobState::Done, 1).await;
    until("the old done job is deleted", || async {
        queue.get(old).await.unwrap().is_none()
    })
    .await;
    token.cancel();
    handle.await.unwrap();
    assert_eq!(
        job(&queue, recent).await.state,
        JobState::Done,
        "done within the retention: kept"
    );
    assert_eq!(
        job(&queue, dead).await.state,
        JobState::Dead,
        "dead jobs wait for a retry"
    );
    assert!(
        queue
            .enqueue(noop().dedup("alert:1:step:0"))
            .await
            .unwrap()
            .is_some(),
        "the deleted job's key is free again"
    );
    assert_eq!(queue.enqueue(noop().dedup("alert:2:step:0")).await.unwrap(), None);
}

/// The runner starts its scans near what it last claimed (its floor); jobs that become claimable below it
/// must still run: ones enqueued through its own queue lower the floor at once, ones another process
/// enqueued are found by the full scan it makes every poll interval.
async fn jobs_due_before_the_last_claim_still_run(db: Database) {
    let (queue, clock) = setup(db.clone()).await;
    let other_process = Queue::with_clock(db, clock.clone());
    let (ctx, _started) = ctx();
    let (token, handle) = start(runner(&queue, &ctx, 2));
    let first = queue.enqueue(noop()).await.unwrap().unwrap();
    wait_state(&queue, first, JobState::Done, 1).await;
    let hour = 3_600_000;
    let there = other_process
        .enqueue(noop().run_at_ms(T0 - hour))
        .await
        .unwrap()
        .unwrap();
    wait_state(&queue, there, JobState::Done, 1).await;
    let here = queue
        .enqueue(noop().run_at_ms(T0 - 2 * hour))
        .await
        .unwrap()
        .unwrap();
    wait_state(&queue, here, JobState::Done, 1).await;
    token.cancel();
    handle.await.unwrap();
}

async fn runners_overlap_partitions_but_not_within_one(db: Database) {
    let (queue, _) = setup(db).await;
    let (ctx, _started) = ctx();
    for seq in 0..6 {
        for p in ["a", "b"] {
            let job = Rendezvous {
                partition: p.into(),
                seq,
            };
            queue
                .enqueue(NewJob::new(&job).unwrap().partition(p))
                .await
                .unwrap();
        }
    }
    // Two runners (as two replicas would), four workers each: if partition a's first job could not run
    // beside partition b's, the barrier would never open and the wait below would time out.
    let (t1, h1) = start(runner(&queue, &ctx, 4));
    let (t2, h2) = start(runner(&queue, &ctx, 4));
    until("all 12 jobs done", || async {
        queue.stats().await.unwrap().done == 12
    })
    .await;
    t1.cancel();
    t2.cancel();
    h1.await.unwrap();
    h2.await.unwrap();
    assert_eq!(
        ctx.overlap_seen.load(Ordering::SeqCst),
        0,
        "two jobs of one partition ran at once"
    );
    let log = ctx.log.lock().unwrap().clone();
    for p in ["a", "b"] {
        let seqs: Vec<u32> = log.iter().filter(|(q, _)| q == p).map(|(_, s)| *s).collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4, 5], "partition {p} ran out of order");
    }
}

async fn backoff_grows_caps_and_dies(db: Database) {
    let (queue, clock) = setup(db).await;
    let (ctx, _started) = ctx();
    let id = queue
        .enqueue(
            NewJob::new(&Flaky {
                name: "f".into(),
                fail_times: 99,
                fatal: false,
            })
            .unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let (token, handle) = start(runner(&queue, &ctx, 2));
    // Flaky's policy: 4 attempts, 1 s doubling, capped at 3 s, up to half taken off.
    for (attempt, base_ms) in [(1, 1_000), (2, 2_000), (3, 3_000)] {
        let info = wait_state(&queue, id, JobState::Ready, attempt).await;
        let wait = info.run_at_ms - clock.now_ms();
        assert!(
            wait >= base_ms / 2 && wait <= base_ms,
            "attempt {attempt}: waits {wait} ms, base {base_ms}"
        );
        assert_eq!(
            info.last_error.as_deref(),
            Some(format!("boom {attempt}").as_str())
        );
        clock.set(info.run_at_ms);
        queue.notify();
    }
    let dead = wait_state(&queue, id, JobState::Dead, 4).await;
    assert_eq!(dead.last_error.as_deref(), Some("boom 4 (attempt 4 of 4)"));
    assert_eq!(ctx.calls.lock().unwrap()["f"], 4);
    token.cancel();
    handle.await.unwrap();
}

async fn dead_letters_block_nothing_and_retry(db: Database) {
    let (queue, _) = setup(db).await;
    let (ctx, _started) = ctx();
    let bad = NewJob::new(&Flaky {
        name: "bad".into(),
        fail_times: 1,
        fatal: true,
    })
    .unwrap();
    let bad = queue.enqueue(bad.partition("p")).await.unwrap().unwrap();
    let after = queue.enqueue(noop().partition("p")).await.unwrap().unwrap();
    let (token, handle) = start(runner(&queue, &ctx, 2));
    let info = wait_state(&queue, bad, JobState::Dead, 1).await;
    assert_eq!(info.last_error.as_deref(), Some("bad input 1"));
    wait_state(&queue, after, JobState::Done, 1).await;
    token.cancel();
    handle.await.unwrap();

    let page = queue.list(JobState::Dead, 10, None).await.unwrap();
    assert_eq!(page.items.iter().map(|j| j.id).collect::<Vec<_>>(), [bad]);
    assert_eq!(page.next_cursor, None);
    let json = serde_json::to_value(&page.items[0]).unwrap();
    assert_eq!(json["state"], "dead");
    assert_eq!(json["payload"]["name"], "bad");
    assert_eq!(queue.stats().await.unwrap().dead, 1);

    assert!(queue.retry(bad).await.unwrap());
    assert!(!queue.retry(bad).await.unwrap(), "only dead jobs are retried");
    assert_eq!(job(&queue, bad).await.attempts, 0);
    let (token, handle) = start(runner(&queue, &ctx, 2));
    wait_state(&queue, bad, JobState::Done, 1).await;
    token.cancel();
    handle.await.unwrap();
    assert_eq!(queue.stats().await.unwrap().dead, 0);
}

async fn unknown_kind_and_panic_are_dead(db: Database) {
    let (queue, _) = setup(db).await;
    let (ctx, _started) = ctx();
    let unknown = queue
        .enqueue(NewJob::raw("no.such.kind", &serde_json::json!({})).unwrap())
        .await
        .unwrap();
    let panics = queue.enqueue(NewJob::new(&Panicky {}).unwrap()).await.unwrap();
    let garbled = queue
        .enqueue(NewJob::raw("flaky", &serde_json::json!({"x": 1})).unwrap())
        .await
        .unwrap();
    let (token, handle) = start(runner(&queue, &ctx, 2));
    let u = wait_state(&queue, unknown.unwrap(), JobState::Dead, 1).await;
    assert!(
        u.last_error
            .unwrap()
            .contains("no handler registered for job kind \"no.such.kind\"")
    );
    let p = wait_state(&queue, panics.unwrap(), JobState::Dead, 1).await;
    assert!(p.last_error.unwrap().contains("job panicked: kaboom"));
    let g = wait_state(&queue, garbled.unwrap(), JobState::Dead, 1).await;
    assert!(g.last_error.unwrap().contains("does not decode"));
    token.cancel();
    handle.await.unwrap();
}

async fn graceful_shutdown_releases_leases(db: Database) {
    let (queue, _) = setup(db).await;
    let (ctx, mut started) = ctx();
    let quick = queue
        .enqueue(NewJob::new(&Blocker { gate: 0 }).unwrap())
        .await
        .unwrap()
        .unwrap();
    let stuck = queue
        .enqueue(NewJob::new(&Blocker { gate: 1 }).unwrap())
        .await
        .unwrap()
        .unwrap();
    let (token, handle) = start(runner(&queue, &ctx, 2));
    let mut seen = [started.recv().await.unwrap(), started.recv().await.unwrap()];
    seen.sort_unstable();
    assert_eq!(seen, [0, 1]);

    // Shutdown: the quick job finishes within the deadline, the stuck one is released.
    token.cancel();
    ctx.gates[0].add_permits(1);
    handle.await.unwrap();
    assert_eq!(job(&queue, quick).await.state, JobState::Done);
    let released = job(&queue, stuck).await;
    assert_eq!(
        (released.state, released.attempts, released.lease_owner),
        (JobState::Ready, 0, None)
    );

    // Another runner takes it at once, with no lease to wait out.
    ctx.gates[1].add_permits(1);
    let (token, handle) = start(runner(&queue, &ctx, 2));
    assert_eq!(started.recv().await.unwrap(), 1);
    wait_state(&queue, stuck, JobState::Done, 1).await;
    token.cancel();
    handle.await.unwrap();
}
