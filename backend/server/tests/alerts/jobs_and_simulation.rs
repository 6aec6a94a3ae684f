//! Dead letters per account, and simulated escalations (the seed's chain for a team without a policy).

use axum::http::{Method, StatusCode};
use klaxon_db::{Database, dual_test};
use klaxon_queue::NewJob;
use serde_json::{Value, json};

use super::app;

async fn dead_jobs_are_listed_and_retried_per_account(db: Database) {
    let app = app(db).await;
    // A job of account A that fails fatally is dead.
    let job = NewJob::raw("test.fails", &json!({"account_id": app.a.0})).unwrap();
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

dual_test!(
    dead_jobs_are_listed_and_retried_per_account,
    simulate_returns_the_seeds_chain_for_a_team_without_a_policy,
);
