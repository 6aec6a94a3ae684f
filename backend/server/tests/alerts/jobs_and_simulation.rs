//! Dead letters per account, and simulated escalations (the seed's chain for a team without a policy).

use axum::http::{Method, StatusCode};
use klaxon::event::{EventKind, EventStatus};
use klaxon_db::{Database, dual_test};
use klaxon_queue::NewJob;
use serde_json::{Value, json};

use super::app;

async fn dead_jobs_are_listed_and_retried_per_account(db: Database) {
    let app = app(db).await;
    // A job of account A that fails fatally is dead. Its payload names B: what decides is the tenant it
    // was enqueued with, never what a payload says.
    let job = NewJob::raw("test.fails", &json!({"account_id": app.b.0}))
        .unwrap()
        .tenant(&app.a.0);
    app.queue.enqueue(job).await.unwrap();
    let claimed = app
        .queue
        .claim("t", 1, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert!(app.queue.fail(&claimed[0], "boom", None).await.unwrap());
    let id = claimed[0].id.to_string();

    let dead = app.ok(Method::GET, "/v1/jobs", None).await;
    assert_eq!(dead["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            dead["items"][0]["id"].as_str(),
            dead["items"][0]["last_error"].as_str()
        ),
        (Some(id.as_str()), Some("boom"))
    );
    let (_, of_b) = app.b(Method::GET, "/v1/jobs?state=dead", None).await;
    assert_eq!(of_b["items"], json!([]), "B sees none of A's jobs");
    let (status, _) = app.b(Method::POST, &format!("/v1/jobs/{id}/retry"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let retried = app.ok(Method::POST, &format!("/v1/jobs/{id}/retry"), None).await;
    assert_eq!(retried["state"], "ready");
    let (status, _) = app.a(Method::POST, &format!("/v1/jobs/{id}/retry"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "only a dead job can be retried");
    let ready = app.ok(Method::GET, "/v1/jobs?state=ready", None).await;
    assert_eq!(ready["items"].as_array().unwrap().len(), 1);
    let (status, e) = app.a(Method::GET, "/v1/jobs?state=bogus", None).await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("state"))
    );
}

/// Thousands of another account's jobs come before the caller's: the caller's page is still found in one
/// call, and holds none of theirs (the listing filters by tenant in the statement, not after it).
async fn an_accounts_jobs_are_found_among_many_of_another(db: Database) {
    let app = app(db).await;
    let theirs: Vec<NewJob> = (0..2500)
        .map(|i| {
            NewJob::raw("test.noop", &json!({"i": i}))
                .unwrap()
                .tenant(&app.b.0)
                .run_at_ms(i64::MAX / 2)
        })
        .collect();
    app.queue.enqueue_many(&theirs).await.unwrap();
    let nobodys = NewJob::raw("test.noop", &json!({"account_id": app.a.0})).unwrap();
    app.queue.enqueue(nobodys).await.unwrap();
    let mine = app
        .queue
        .enqueue(NewJob::raw("test.noop", &json!({})).unwrap().tenant(&app.a.0))
        .await
        .unwrap()
        .unwrap();
    let page = app.ok(Method::GET, "/v1/jobs?state=ready&limit=1", None).await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [mine.to_string().as_str()],
        "A's one job, and not the one whose payload names A"
    );
    let next = page["next_cursor"].as_str().unwrap();
    let rest = app
        .ok(Method::GET, &format!("/v1/jobs?state=ready&cursor={next}"), None)
        .await;
    assert_eq!(
        (rest["items"].clone(), rest["next_cursor"].clone()),
        (json!([]), Value::Null)
    );
    let of_b = app
        .b(Method::GET, "/v1/jobs?state=ready&limit=1000", None)
        .await
        .1;
    let of_b = of_b["items"].as_array().unwrap();
    assert_eq!(of_b.len(), 1000, "a full page of B's");
    assert!(
        of_b.iter()
            .all(|j| j["id"].as_str() != Some(mine.to_string().as_str()))
    );
    // The server's own jobs are enqueued with their account: an alert's escalation timer is A's.
    let (_, endpoint) = app.fixture().await;
    let alert = app
        .ingest(
            &endpoint,
            "disk",
            EventStatus::Firing,
            EventKind::Alert,
            1_700_000_000_000,
        )
        .await
        .alert;
    let page = app.ok(Method::GET, "/v1/jobs?state=ready", None).await;
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["kind"] == "escalation.step" && j["payload"]["alert_id"] == alert.id.as_str()),
        "{page}"
    );
}

async fn simulate_returns_the_seeds_chain_for_a_team_without_a_policy(db: Database) {
    let app = app(db).await;
    let (team, _) = app.fixture().await;
    let team_id = team["id"].as_str().unwrap();
    let seed = json!([
        {"at_minute": 0, "notify": "random_member"},
        {"at_minute": 5, "notify": "random_member"},
        {"at_minute": 10, "notify": "here"},
        {"at_minute": 15, "notify": "channel"},
    ]);
    let shape = |t: &Value| -> Value {
        t.as_array()
            .unwrap()
            .iter()
            .map(|e| json!({"at_minute": e["at_minute"], "notify": e["notify"]}))
            .collect()
    };
    let by_team = app
        .ok(Method::POST, &format!("/v1/teams/{team_id}/simulate"), None)
        .await;
    assert_eq!(by_team["source"], "default");
    assert_eq!(shape(&by_team["timeline"]), seed);
    let drafted = app
        .ok(
            Method::POST,
            "/v1/escalation-policies/simulate",
            Some(json!({"team_id": team_id})),
        )
        .await;
    assert_eq!(shape(&drafted["timeline"]), seed);
    // The team's two members are DMed, one each, then the channel.
    let t = &by_team["timeline"];
    assert_ne!(t[0]["user"], t[1]["user"]);
    assert_eq!(
        (t[2]["mention"].as_str(), t[2]["channel"].as_str()),
        (Some("here"), Some("C0123ABCDE"))
    );

    // Given members, one of them inactive: the inactive one is never chosen.
    let given = app
        .ok(
            Method::POST,
            &format!("/v1/teams/{team_id}/simulate"),
            Some(json!({"members": ["U0000000X", "U0000000Y", "U0000000Z"], "inactive": ["U0000000Y"]})),
        )
        .await;
    let users: Vec<&str> = given["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["user"].as_str())
        .collect();
    assert_eq!(users.len(), 2);
    assert!(!users.contains(&"U0000000Y"));

    // A stored policy and a draft.
    let policy = app
        .ok(
            Method::POST,
            "/v1/escalation-policies",
            Some(json!({"team_id": team_id, "name": "day", "repeat": 1, "steps": [
                {"notify": "next_member", "escalate_after_minutes": 3},
                {"notify": "user", "user": "U0000000C", "escalate_after_minutes": 7}]})),
        )
        .await;
    let stored = app
        .ok(
            Method::POST,
            &format!(
                "/v1/escalation-policies/{}/simulate",
                policy["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    let when: Vec<(u64, u64, &str)> = stored["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["at_minute"].as_u64().unwrap(),
                e["round"].as_u64().unwrap(),
                e["user"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        when,
        vec![
            (0, 0, "U0000000A"),
            (3, 0, "U0000000C"),
            (10, 1, "U0000000B"),
            (13, 1, "U0000000C")
        ]
    );
    // The words the provider plans as the policy's `timeline`: kinds, never picks.
    assert_eq!(
        stored["summary"],
        json!([
            "0 min: DM the next active member of sre in turn",
            "3 min: DM U0000000C",
            "then again from minute 10, once"
        ])
    );
    assert_eq!(
        by_team["summary"][3], "15 min: @channel in C0123ABCDE",
        "{by_team}"
    );
    let (status, e) = app
        .a(
            Method::POST,
            "/v1/escalation-policies/simulate",
            Some(json!({"steps": [{"notify": "user"}]})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("steps[0].user"))
    );
    // Without steps or a team: the seed's chain, kinds and times only.
    let (status, sim) = app
        .a(Method::POST, "/v1/escalation-policies/simulate", Some(json!({})))
        .await;
    assert_eq!(
        (status, sim["source"].as_str()),
        (StatusCode::OK, Some("default"))
    );
    assert_eq!(sim["timeline"].as_array().map(Vec::len), Some(4), "{sim}");
}

/// Queue lag is the age of the oldest job a worker could take now: a job due behind a running job of its
/// partition (an alert's next message update behind one deferred to its channel's pace) is not late; one
/// that is free to run is, by how long it has been due.
async fn queue_lag_counts_jobs_that_could_run(db: Database) {
    let app = app(db.clone()).await;
    let lag = || async {
        let values = klaxon::metrics::gauges::snapshot(&db).await.unwrap();
        values.iter().find(|(n, _)| *n == "QueueLag").unwrap().1
    };
    assert!(lag().await.abs() < f64::EPSILON, "no job: no lag");
    let now = app.queue.now_ms();
    let head = NewJob::raw("test.head", &json!({}))
        .unwrap()
        .partition("p")
        .run_at_ms(now - 60_000);
    app.queue.enqueue(head).await.unwrap();
    let claimed = app
        .queue
        .claim("t", 1, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let behind = NewJob::raw("test.behind", &json!({}))
        .unwrap()
        .partition("p")
        .run_at_ms(now - 30_000);
    app.queue.enqueue(behind).await.unwrap();
    assert!(
        lag().await < 1.0,
        "a job behind its partition's running job is not lag: {}",
        lag().await
    );
    let free = NewJob::raw("test.free", &json!({}))
        .unwrap()
        .run_at_ms(now - 10_000);
    app.queue.enqueue(free).await.unwrap();
    let l = lag().await;
    assert!(
        (10.0..20.0).contains(&l),
        "a job free to run counts from its due time: {l}"
    );
    // Once the head is done, the job behind it is free, and the oldest due.
    assert!(app.queue.complete(&claimed[0]).await.unwrap());
    let l = lag().await;
    assert!((30.0..40.0).contains(&l), "the job behind is free now: {l}");
}

dual_test!(
    dead_jobs_are_listed_and_retried_per_account,
    an_accounts_jobs_are_found_among_many_of_another,
    simulate_returns_the_seeds_chain_for_a_team_without_a_policy,
    queue_lag_counts_jobs_that_could_run,
);
