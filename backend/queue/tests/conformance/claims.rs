//! The store's rules through the queue's own calls: claiming, timers, leases, fencing, partitions, dedup,
//! cancel, transactions.

use super::support::*;

klaxon_db::dual_test!(
    enqueue_claim_complete,
    timers_wait_until_due,
    concurrent_claimers_respect_partitions,
    lease_expiry_and_reclaim,
    stale_attempt_is_fenced,
    partition_order,
    dedup_modes,
    cancel,
    enqueue_in_follows_the_transaction,
    enqueue_many_and_stats,
    a_dead_job_gives_up_its_key_when_asked,
);

async fn enqueue_claim_complete(db: Database) {
    let (queue, _) = setup(db).await;
    let id = queue.enqueue(noop().partition("p")).await.unwrap().unwrap();
    let info = job(&queue, id).await;
    assert_eq!(
        (info.state, info.kind.as_str(), info.partition.as_deref()),
        (JobState::Ready, "noop", Some("p"))
    );
    assert_eq!(info.run_at_ms, T0);

    let claimed = queue.claim("w1", 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let c = &claimed[0];
    assert_eq!((c.id, c.attempt, c.fence, c.run_at_ms), (id, 1, 1, T0));
    let running = job(&queue, id).await;
    assert_eq!(running.state, JobState::Running);
    assert_eq!(running.lease_owner.as_deref(), Some("w1"));
    assert_eq!(running.lease_expires_at_ms, Some(T0 + 30_000));
    assert!(
        queue.claim("w2", 10, LEASE).await.unwrap().is_empty(),
        "a running job is not claimed twice"
    );

    assert!(queue.complete(c).await.unwrap());
    let done = job(&queue, id).await;
    assert_eq!((done.state, done.lease_owner), (JobState::Done, None));
    assert!(queue.claim("w1", 10, LEASE).await.unwrap().is_empty());
}

async fn timers_wait_until_due(db: Database) {
    let (queue, clock) = setup(db).await;
    let later = queue
        .enqueue(noop().delay(Duration::from_secs(10)))
        .await
        .unwrap()
        .unwrap();
    let at = queue
        .enqueue(noop().run_at_ms(T0 + 5_000))
        .await
        .unwrap()
        .unwrap();
    assert!(queue.claim("w", 10, LEASE).await.unwrap().is_empty());
    clock.advance(Duration::from_millis(4_999));
    assert!(queue.claim("w", 10, LEASE).await.unwrap().is_empty());
    clock.advance(Duration::from_millis(1));
    let got: Vec<JobId> = queue
        .claim("w", 10, LEASE)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(got, [at]);
    clock.set(T0 + 9_999);
    assert!(queue.claim("w", 10, LEASE).await.unwrap().is_empty());
    clock.set(T0 + 10_000);
    let got: Vec<JobId> = queue
        .claim("w", 10, LEASE)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(got, [later]);
}

async fn concurrent_claimers_respect_partitions(db: Database) {
    let (queue, _) = setup(db).await;
    let jobs: Vec<NewJob> = (0..120)
        .map(|i| noop().partition(format!("p{}", i % 6)))
        .collect();
    queue.enqueue_many(&jobs).await.unwrap();
    let holding: Arc<Mutex<HashMap<String, JobId>>> = Arc::default();
    let start = Arc::new(Barrier::new(4));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (queue, holding, start) = (queue.clone(), holding.clone(), start.clone());
        workers.push(tokio::spawn(async move {
            start.wait().await;
            let mut done = 0;
            let mut idle = 0;
            while idle < 50 {
                let claimed = queue.claim(&format!("w{w}"), 4, LEASE).await.unwrap();
                if claimed.is_empty() {
                    idle += 1;
                    tokio::task::yield_now().await;
                    continue;
                }
                idle = 0;
                for j in &claimed {
                    let p = j.partition.clone().unwrap();
                    let prev = holding.lock().unwrap().insert(p.clone(), j.id);
                    assert!(prev.is_none(), "partition {p} claimed twice at once");
                }
                tokio::task::yield_now().await;
                for j in &claimed {
                    holding.lock().unwrap().remove(j.partition.as_deref().unwrap());
                    assert!(queue.complete(j).await.unwrap());
                    done += 1;
                }
            }
            done
        }));
    }
    let mut total = 0;
    for w in workers {
        total += w.await.unwrap();
    }
    assert_eq!(total, 120);
    assert_eq!(queue.stats().await.unwrap().done, 120);
}

async fn lease_expiry_and_reclaim(db: Database) {
    let (queue, clock) = setup(db).await;
    let id = queue.enqueue(noop()).await.unwrap().unwrap();
    let claimed = queue.claim("w1", 1, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);

    // A heartbeat keeps a long job's lease alive past its first expiry; a stale fence extends nothing.
    clock.advance(Duration::from_secs(20));
    assert_eq!(
        queue
            .heartbeat(&[(claimed[0].id, claimed[0].fence)], LEASE)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        queue
            .heartbeat(&[(claimed[0].id, claimed[0].fence - 1)], LEASE)
            .await
            .unwrap(),
        0
    );
    assert_eq!(queue.heartbeat(&[], LEASE).await.unwrap(), 0);
    clock.advance(Duration::from_secs(20));
    assert_eq!(queue.reclaim_expired().await.unwrap(), 0);

    // Without heartbeats the lease expires and the job goes back to ready, the attempt counted.
    clock.advance(Duration::from_secs(10));
    assert!(
        queue.claim("w2", 1, LEASE).await.unwrap().is_empty(),
        "an expired lease is reclaimed first"
    );
    assert_eq!(queue.reclaim_expired().await.unwrap(), 1);
    let info = job(&queue, id).await;
    assert_eq!(
        (info.state, info.attempts, info.lease_owner),
        (JobState::Ready, 1, None)
    );
    assert!(info.last_error.unwrap().contains("w1"));
    let again = queue.claim("w2", 1, LEASE).await.unwrap();
    assert_eq!((again[0].id, again[0].attempt, again[0].fence), (id, 2, 2));
}

async fn stale_attempt_is_fenced(db: Database) {
    let (queue, clock) = setup(db).await;
    let id = queue.enqueue(noop()).await.unwrap().unwrap();
    let stale = queue.claim("w1", 1, LEASE).await.unwrap().remove(0);
    clock.advance(LEASE + Duration::from_secs(1));
    queue.reclaim_expired().await.unwrap();
    // Between reclaim and the next claim the stale worker is already locked out.
    assert!(!queue.complete(&stale).await.unwrap());
    let fresh = queue.claim("w2", 1, LEASE).await.unwrap().remove(0);
    let before = job(&queue, id).await;

    assert!(!queue.complete(&stale).await.unwrap());
    assert!(!queue.fail(&stale, "late failure", None).await.unwrap());
    assert!(!queue.release(&stale).await.unwrap());
    assert_eq!(queue.complete_many(&[(id, stale.fence)]).await.unwrap(), []);
    assert_eq!(job(&queue, id).await, before, "a stale attempt changed the row");
    assert_eq!(before.lease_owner.as_deref(), Some("w2"));

    assert!(queue.complete(&fresh).await.unwrap());
    assert_eq!(job(&queue, id).await.state, JobState::Done);
}

async fn partition_order(db: Database) {
    let (queue, clock) = setup(db).await;
    let a = queue
        .enqueue(noop().partition("p").run_at_ms(T0 + 2))
        .await
        .unwrap()
        .unwrap();
    let b = queue
        .enqueue(noop().partition("p").run_at_ms(T0 + 1))
        .await
        .unwrap()
        .unwrap();
    let c = queue
        .enqueue(noop().partition("p").run_at_ms(T0 + 1))
        .await
        .unwrap()
        .unwrap();
    let free1 = queue.enqueue(noop()).await.unwrap().unwrap();
    let free2 = queue.enqueue(noop()).await.unwrap().unwrap();
    clock.advance(Duration::from_millis(2));

    // One job of the partition at a time, by (run_at, id); jobs without a partition run freely.
    let mut order = Vec::new();
    loop {
        let claimed = queue.claim("w", 10, LEASE).await.unwrap();
        if claimed.is_empty() {
            break;
        }
        let partitioned: Vec<JobId> = claimed
            .iter()
            .filter(|j| j.partition.is_some())
            .map(|j| j.id)
            .collect();
        assert_eq!(partitioned.len(), 1, "{claimed:?}");
        order.push(partitioned[0]);
        for j in &claimed {
            if j.partition.is_none() {
                assert!([free1, free2].contains(&j.id));
            }
            queue.complete(j).await.unwrap();
        }
    }
    assert_eq!(order, [b, c, a]);

    // A job waiting out a back-off keeps its place: the later job does not overtake it.
    let first = queue.enqueue(noop().partition("q")).await.unwrap().unwrap();
    let second = queue.enqueue(noop().partition("q")).await.unwrap().unwrap();
    let j = queue.claim("w", 10, LEASE).await.unwrap().remove(0);
    assert_eq!(j.id, first);
    assert!(
        queue
            .fail(&j, "try later", Some(clock.now_ms() + 60_000))
            .await
            .unwrap()
    );
    assert!(
        queue.claim("w", 10, LEASE).await.unwrap().is_empty(),
        "second overtook a retrying first"
    );
    clock.advance(Duration::from_secs(60));
    let j = queue.claim("w", 10, LEASE).await.unwrap();
    assert_eq!(j.iter().map(|j| j.id).collect::<Vec<_>>(), [first]);
    queue.complete(&j[0]).await.unwrap();
    assert_eq!(queue.claim("w", 10, LEASE).await.unwrap()[0].id, second);
}

async fn dedup_modes(db: Database) {
    let (queue, _) = setup(db).await;
    // Until done: a duplicate is a no-op while the first is pending, allowed again once it is done.
    let first = queue
        .enqueue(noop().dedup_with("refresh:1", Dedup::UntilDone))
        .await
        .unwrap();
    assert!(first.is_some());
    assert_eq!(
        queue
            .enqueue(noop().dedup_with("refresh:1", Dedup::UntilDone))
            .await
            .unwrap(),
        None
    );
    let j = queue.claim("w", 1, LEASE).await.unwrap().remove(0);
    assert_eq!(
        queue
            .enqueue(noop().dedup_with("refresh:1", Dedup::UntilDone))
            .await
            .unwrap(),
        None
    );
    queue.complete(&j).await.unwrap();
    assert!(
        queue
            .enqueue(noop().dedup_with("refresh:1", Dedup::UntilDone))
            .await
            .unwrap()
            .is_some()
    );

    // Forever (the default): the key fires at most once, even after the job is done.
    let step = queue
        .enqueue(noop().dedup("alert:7:step:2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        job(&queue, step).await.dedup_key.as_deref(),
        Some("alert:7:step:2")
    );
    assert_eq!(queue.enqueue(noop().dedup("alert:7:step:2")).await.unwrap(), None);
    let mut claimed = queue.claim("w", 10, LEASE).await.unwrap();
    claimed.retain(|j| j.id == step);
    queue.complete(&claimed[0]).await.unwrap();
    assert_eq!(queue.enqueue(noop().dedup("alert:7:step:2")).await.unwrap(), None);
    assert_eq!(
        queue
            .enqueue_many(&[noop().dedup("alert:7:step:2")])
            .await
            .unwrap(),
        []
    );
    assert_eq!(
        queue.purge_done(i64::MAX).await.unwrap(),
        1,
        "only the until-done row is purged"
    );
    assert_eq!(queue.enqueue(noop().dedup("alert:7:step:2")).await.unwrap(), None);

    // While pending: the key is taken while the job waits and freed by the claim, so exactly one more can
    // queue behind a running job (later ones coalesce into it), and a job that dies blocks nothing.
    let pending = |q: &Queue| {
        let q = q.clone();
        async move {
            q.enqueue(
                noop()
                    .dedup_with("sync:1", Dedup::WhilePending)
                    .partition("sync:1"),
            )
            .await
            .unwrap()
        }
    };
    let first = pending(&queue).await.unwrap();
    assert_eq!(pending(&queue).await, None, "coalesced while it waits");
    let mut claimed = queue.claim("w", 100, LEASE).await.unwrap();
    claimed.retain(|j| j.id == first);
    assert_eq!(
        job(&queue, first).await.dedup_key,
        None,
        "the claim freed the key"
    );
    let second = pending(&queue).await.unwrap();
    assert_eq!(pending(&queue).await, None, "one more at most");
    assert!(queue.fail(&claimed[0], "gave up", None).await.unwrap());
    assert_eq!(job(&queue, first).await.state, JobState::Dead);
    assert_eq!(
        pending(&queue).await,
        None,
        "the dead one holds nothing; the second still waits"
    );
    let mut claimed = queue.claim("w", 100, LEASE).await.unwrap();
    claimed.retain(|j| j.id == second);
    assert_eq!(claimed.len(), 1, "the dead job did not block its partition");
    queue.complete(&claimed[0]).await.unwrap();
    assert!(pending(&queue).await.is_some());
    assert_eq!(
        queue.purge_done(i64::MAX).await.unwrap(),
        1,
        "a done while-pending row is purged (the dead one stays)"
    );

    // Cancelling frees the key: the work never ran.
    let t = queue
        .enqueue(noop().dedup("alert:8:step:1").delay(LEASE))
        .await
        .unwrap()
        .unwrap();
    assert!(queue.cancel(t).await.unwrap());
    assert!(
        queue
            .enqueue(noop().dedup("alert:8:step:1"))
            .await
            .unwrap()
            .is_some()
    );

    // Duplicates inside one batch collapse to one job.
    let ids = queue
        .enqueue_many(&[noop().dedup("batch:1"), noop().dedup("batch:1"), noop()])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
}

async fn cancel(db: Database) {
    let (queue, _) = setup(db).await;
    let later = |kind: &str| NewJob::raw(kind, &()).unwrap().partition("alert:1").delay(LEASE);
    let t1 = queue.enqueue(later("timer.escalate")).await.unwrap().unwrap();
    let t2 = queue.enqueue(later("timer.autoclose")).await.unwrap().unwrap();
    let other = queue.enqueue(later("notify.slack")).await.unwrap().unwrap();
    let elsewhere = queue
        .enqueue(later("timer.escalate").partition("alert:2"))
        .await
        .unwrap()
        .unwrap();
    let keyed = queue
        .enqueue(noop().dedup("k").delay(LEASE))
        .await
        .unwrap()
        .unwrap();
    let running = queue.enqueue(noop()).await.unwrap().unwrap();
    let claimed = queue.claim("w", 10, LEASE).await.unwrap();
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [running]);

    assert_eq!(queue.cancel_partition("alert:1", "timer.").await.unwrap(), 2);
    assert!(queue.get(t1).await.unwrap().is_none());
    assert!(queue.get(t2).await.unwrap().is_none());
    assert!(queue.get(other).await.unwrap().is_some());
    assert!(queue.get(elsewhere).await.unwrap().is_some());
    // Prefixes are literal: LIKE wildcards match nothing.
    assert_eq!(queue.cancel_partition("alert:2", "timer%").await.unwrap(), 0);
    assert_eq!(queue.cancel_partition("alert:2", "").await.unwrap(), 1);

    assert!(queue.cancel_by_key("k").await.unwrap());
    assert!(!queue.cancel_by_key("k").await.unwrap());
    assert!(queue.get(keyed).await.unwrap().is_none());
    assert!(
        !queue.cancel(running).await.unwrap(),
        "a running job is not cancelled"
    );
    assert!(queue.cancel(other).await.unwrap());
    assert!(!queue.cancel(other).await.unwrap());
}

async fn enqueue_in_follows_the_transaction(db: Database) {
    let (queue, _) = setup(db.clone()).await;
    let mut tx = db.pool.begin().await.unwrap();
    let id = queue
        .enqueue_in(&mut tx, noop().partition("a"))
        .await
        .unwrap()
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(queue.get(id).await.unwrap().is_none());
    assert_eq!(queue.stats().await.unwrap().ready, 0);

    let mut tx = db.pool.begin().await.unwrap();
    let id = queue
        .enqueue_in(&mut tx, noop().partition("a"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(queue.cancel_partition_in(&mut tx, "b", "").await.unwrap(), 0);
    tx.commit().await.unwrap();
    queue.notify();
    assert_eq!(job(&queue, id).await.state, JobState::Ready);
}

async fn enqueue_many_and_stats(db: Database) {
    let (queue, _) = setup(db).await;
    let jobs: Vec<NewJob> = (0..12_000)
        .map(|i| noop().partition(format!("p{}", i % 3)))
        .collect();
    let ids = queue.enqueue_many(&jobs).await.unwrap();
    assert_eq!(ids.len(), 12_000);
    let stats = queue.stats().await.unwrap();
    assert_eq!(
        (stats.ready, stats.running, stats.done, stats.dead),
        (12_000, 0, 0, 0)
    );
    // Within a partition, a batch keeps its order.
    let claimed = queue.claim("w", 100, LEASE).await.unwrap();
    let mut firsts: Vec<JobId> = claimed.iter().map(|j| j.id).collect();
    firsts.sort_unstable();
    let mut expected = ids[..3].to_vec();
    expected.sort_unstable();
    assert_eq!(firsts, expected);

    let page = queue.list(JobState::Ready, 5, None).await.unwrap();
    assert_eq!(page.items.len(), 5);
    let next = queue.list(JobState::Ready, 5, page.next_cursor).await.unwrap();
    assert!(next.items[0].id > page.items[4].id);
}

/// A dead job keeps its key (its work is not enqueued again behind the caller's back) until the caller asks
/// for the key back; then the work is enqueued afresh and the dead letter stays.
async fn a_dead_job_gives_up_its_key_when_asked(db: Database) {
    let (queue, _) = setup(db.clone()).await;
    let dead = queue.enqueue(noop().dedup("step-1")).await.unwrap().unwrap();
    let claimed = queue.claim("w", 1, LEASE).await.unwrap();
    assert!(queue.fail(&claimed[0], "boom", None).await.unwrap());
    assert!(
        queue.enqueue(noop().dedup("step-1")).await.unwrap().is_none(),
        "held while dead"
    );

    let ready = queue.enqueue(noop().dedup("step-2")).await.unwrap().unwrap();
    let mut tx = db.begin_write().await.unwrap();
    assert!(
        !queue.release_dead_key_in(&mut tx, "step-2").await.unwrap(),
        "a live job keeps its key"
    );
    assert!(queue.release_dead_key_in(&mut tx, "step-1").await.unwrap());
    let again = queue.enqueue_in(&mut tx, noop().dedup("step-1")).await.unwrap();
    tx.commit().await.unwrap();
    let again = again.expect("enqueued afresh");
    assert_ne!(again, dead);
    let letter = job(&queue, dead).await;
    assert_eq!(
        (letter.state, letter.dedup_key, letter.last_error.as_deref()),
        (JobState::Dead, None, Some("boom"))
    );
    assert_eq!(job(&queue, again).await.dedup_key.as_deref(), Some("step-1"));
    assert_eq!(job(&queue, ready).await.dedup_key.as_deref(), Some("step-2"));
    assert!(
        queue.enqueue(noop().dedup("step-1")).await.unwrap().is_none(),
        "held again"
    );
}
