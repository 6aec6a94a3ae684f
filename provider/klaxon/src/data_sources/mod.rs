//! Data sources: look up objects made elsewhere (another workspace, the API) by name.

mod escalation_policy;
mod escalation_timeline;
mod team;

use tfplugin::DataSourceHandle;

use crate::KlaxonData;

/// Every data source of the provider.
pub fn all() -> Vec<DataSourceHandle<KlaxonData>> {
    vec![
        DataSourceHandle::new(team::TeamDataSource),
        DataSourceHandle::new(escalation_policy::PolicyDataSource),
        DataSourceHandle::new(escalation_timeline::TimelineDataSource),
    ]
}
