//! Tenants: a job's owner is a column, listed by one indexed statement whatever other tenants hold, and the
//! migration that added the column carried over the owners named in earlier payloads.

use super::support::*;

klaxon_db::dual_test!(
    a_tenant_lists_only_its_jobs_in_one_statement,
    the_migration_carries_over_payload_owners,
);

async fn a_tenant_lists_only_its_jobs_in_one_statement(db: Database) {
    let (queue, _) = setup(db.clone()).await;
    // Thousands of another tenant's jobs (and some of nobody's) come first: a listing that filtered after
    // reading a page of everyone's would return an empty page here.
    let others: Vec<NewJob> = (0..2500).map(|_| noop().tenant("other")).collect();
    assert_eq!(queue.enqueue_many(&others).await.unwrap().len(), 2500);
    let nobody: Vec<NewJob> = (0..10).map(|_| noop()).collect();
    queue.enqueue_many(&nobody).await.unwrap();
    // Both ways of enqueueing record the tenant.
    let mut mine = queue
        .enqueue_many(&[noop().tenant("mine"), noop().tenant("mine")])
        .await
        .unwrap();
    let mut tx = db.begin_write().await.unwrap();
    mine.push(
        queue
            .enqueue_in(&mut tx, noop().tenant("mine"))
            .await
            .unwrap()
            .unwrap(),
    );
    tx.commit().await.unwrap();
    queue.enqueue(noop().tenant("other")).await.unwrap().unwrap();

    let first = queue.list_tenant("mine", JobState::Ready, 2, None).await.unwrap();
    let ids: Vec<JobId> = first.items.iter().map(|j| j.id).collect();
    assert_eq!(ids, mine[..2], "the first page of mine, found in one call");
    assert!(first.items.iter().all(|j| j.tenant.as_deref() == Some("mine")));
    assert_eq!(first.next_cursor, Some(mine[1]));
    let second = queue
        .list_tenant("mine", JobState::Ready, 2, first.next_cursor)
        .await
        .unwrap();
    let ids: Vec<JobId> = second.items.iter().map(|j| j.id).collect();
    assert_eq!(ids, mine[2..]);
    assert_eq!(second.next_cursor, None, "the last page");
    assert!(
        queue
            .list_tenant("mine", JobState::Dead, 10, None)
            .await
            .unwrap()
            .items
            .is_empty(),
        "the state filters too"
    );
    let mut cursor = None;
    let mut theirs = 0;
    loop {
        let page = queue
            .list_tenant("other", JobState::Ready, 1000, cursor)
            .await
            .unwrap();
        assert!(page.items.iter().all(|j| j.tenant.as_deref() == Some("other")));
        theirs += page.items.len();
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        theirs, 2501,
        "another tenant's listing holds none of mine, nor nobody's"
    );
    assert_eq!(job(&queue, mine[2]).await.tenant.as_deref(), Some("mine"));

    // The statement seeks the tenant's index instead of scanning everyone's jobs (SQLite's plan is stable
    // enough to check; PostgreSQL's depends on its statistics, and the page above is the proof there).
    if db.dialect == klaxon_db::Dialect::Sqlite {
        let plan = explain_details(&db).await;
        assert!(
            plan.iter().any(|d| d.contains("USING INDEX queue_jobs_tenant")),
            "list_tenant uses queue_jobs_tenant: {plan:?}"
        );
    }
}

/// The `detail` column of SQLite's plan of `list_tenant.sql`.
async fn explain_details(db: &Database) -> Vec<String> {
    use sqlx::Row as _;
    let rows = sqlx::query(&format!(
        "EXPLAIN QUERY PLAN {}",
        include_str!("../../sql/sqlite/list_tenant.sql")
    ))
    .bind("mine")
    .bind("ready")
    .bind(0_i64)
    .bind(2_i64)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    rows.iter()
        .map(|r| r.try_get::<String, _>("detail").unwrap())
        .collect()
}

async fn the_migration_carries_over_payload_owners(db: Database) {
    // The schema as it was before the tenant column, with jobs whose payloads name (or do not name) an owner.
    let first: &'static [klaxon_db::Migration] = klaxon_queue::MIGRATOR.migrations.get(..1).unwrap();
    klaxon_db::Migrator {
        component: "queue",
        migrations: first,
    }
    .run(&db)
    .await
    .unwrap();
    let payloads = [
        r#"{"account_id":"acc1","alert_id":"x"}"#,
        r#"{"account_id":7}"#,
        r#"{"x":{"account_id":"nested"}}"#,
        r#"["account_id"]"#,
        r#""account_id""#,
    ];
    let mut ids = Vec::new();
    for p in payloads {
        let sql = format!(
            "INSERT INTO queue_jobs (kind, payload, run_at, order_at, created_at, updated_at) \
             VALUES ('noop', {}, 0, 0, 0, 0) RETURNING id",
            db.dialect.pick("?1", "$1")
        );
        let id: i64 = sqlx::query_scalar(&sql)
            .bind(p)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        ids.push(JobId(id));
    }
    let (queue, _) = setup(db).await;
    let mut tenants = Vec::new();
    for id in ids {
        tenants.push(job(&queue, id).await.tenant);
    }
    assert_eq!(tenants, [Some("acc1".to_owned()), None, None, None, None]);
    let page = queue
        .list_tenant("acc1", JobState::Ready, 10, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}
