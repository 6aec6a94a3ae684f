//! The OpenAPI document of the management API, generated from the handlers and the shared wire types, and
//! served at `GET /openapi.json`. A test keeps the committed copy (`docs/openapi.json`) in step with it.

use axum::{Json, Router, routing::get};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};

use super::{AppState, alerts, endpoints, health, jobs, policies, simulate, teams};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Klaxon management API", description = "Teams, escalation policies, ingest endpoints, alerts and background jobs of a Klaxon account."),
    paths(
        health::healthz, health::readyz,
        teams::create, teams::read, teams::list, teams::update, teams::delete,
        policies::create, policies::read, policies::list, policies::update, policies::delete,
        endpoints::create, endpoints::read, endpoints::list, endpoints::update, endpoints::delete,
        simulate::simulate_policy, simulate::simulate_draft, simulate::simulate_team,
        alerts::create, alerts::list, alerts::read, alerts::ack, alerts::close, alerts::pass,
        jobs::list, jobs::retry,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The document as pretty JSON with a final newline (the form committed in `docs/openapi.json`).
pub fn document() -> String {
    let mut json = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
}
