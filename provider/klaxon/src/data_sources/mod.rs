//! Data sources: look up objects made elsewhere (another workspace, the API) by name.

mod endpoint;
mod escalation_policy;
mod escalation_timeline;
mod heartbeat;
mod team;

use klaxon_api::{ClientError, Page};
use tfplugin::{Context, DataSourceHandle};

use crate::KlaxonData;

/// Every data source of the provider.
pub fn all() -> Vec<DataSourceHandle<KlaxonData>> {
    vec![
        DataSourceHandle::new(team::TeamDataSource),
        DataSourceHandle::new(escalation_policy::PolicyDataSource),
        DataSourceHandle::new(escalation_timeline::TimelineDataSource),
        DataSourceHandle::new(endpoint::EndpointDataSource),
        DataSourceHandle::new(heartbeat::HeartbeatDataSource),
    ]
}

/// The object a lookup by name found (names are unique where they are looked up, so a page holds one at
/// most), or an error saying what was not found: `kind` ("team"), the `name` looked up, and `owner` (who
/// was searched: "The account", "Team \"team_1\"").
fn found_by_name<T>(
    ctx: &mut Context<KlaxonData>,
    kind: &str,
    name: &str,
    owner: &str,
    result: Result<Page<T>, ClientError>,
) -> Option<T> {
    match result {
        Ok(page) => {
            let found = page.items.into_iter().next();
            if found.is_none() {
                ctx.error(
                    format!("No {kind} named {name:?}"),
                    format!("{owner} has no {kind} with this name."),
                );
            }
            found
        }
        Err(e) => {
            ctx.error(format!("Error looking up {kind} {name:?}"), e.to_string());
            None
        }
    }
}
