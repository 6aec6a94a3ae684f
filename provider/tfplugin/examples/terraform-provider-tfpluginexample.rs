//! An example provider: items stored as JSON files in a directory given by the provider configuration.
//!
//! ```hcl
//! provider "tfpluginexample" { directory = "/tmp/items" }
//! resource "tfpluginexample_item" "a" {
//!   name  = "alpha"
//!   tags  = ["x", "y"]
//!   steps = [{ notify = "user", user = "U1" }, { notify = "here" }]
//! }
//! data "tfpluginexample_item" "a" { id = tfpluginexample_item.a.id }
//! ```
//!
//! It exercises the whole crate: typed state with `Value<T>`, nested attributes, validation with attribute
//! paths, an optional+computed attribute, a replacement-forcing attribute, import, a data source, and the
//! provider's configured data. The integration test in `tests/terraform.rs` drives it with the real terraform.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::{Deserialize, Serialize};
use tfplugin::{
    Attribute, AttributePath, Block, ConfigureContext, Context, DataSource, DataSourceHandle, Mode, Nesting,
    Provider, Resource, ResourceHandle, Schema, ServeOptions, Type, ValidateContext, Value,
};

/// The provider: its configured data is the storage directory.
struct Example;

#[derive(Deserialize)]
struct ProviderConfig {
    directory: Value<String>,
}

/// Shared by every resource hook through `ctx.data()`.
struct Store {
    dir: PathBuf,
}

impl Store {
    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn load(&self, id: &str) -> std::io::Result<Option<Stored>> {
        match std::fs::read(self.path(id)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn save(&self, id: &str, item: &Stored) -> std::io::Result<()> {
        std::fs::write(
            self.path(id),
            serde_json::to_vec_pretty(item).map_err(std::io::Error::other)?,
        )
    }
}

impl Provider for Example {
    type Config = ProviderConfig;
    type Data = Store;

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new().attribute(
                Attribute::required("directory", Type::String)
                    .description("Directory holding one JSON file per item."),
            ),
        )
    }

    async fn configure(&self, ctx: &mut ConfigureContext, config: ProviderConfig) -> Option<Store> {
        let Value::Known(dir) = config.directory else {
            ctx.error_at(
                AttributePath::root("directory"),
                "Directory must be known",
                "Set it to a literal path.",
            );
            return None;
        };
        if let Err(e) = std::fs::create_dir_all(&dir) {
            ctx.error_at(
                AttributePath::root("directory"),
                format!("Cannot create {dir:?}"),
                e.to_string(),
            );
            return None;
        }
        Some(Store { dir: dir.into() })
    }

    fn resources(&self) -> Vec<ResourceHandle<Store>> {
        vec![ResourceHandle::new(ItemResource)]
    }

    fn data_sources(&self) -> Vec<DataSourceHandle<Store>> {
        vec![DataSourceHandle::new(ItemDataSource)]
    }
}

/// `tfpluginexample_item` state.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ItemState {
    /// Generated identifier (computed).
    id: Value<String>,
    /// Display name (updatable in place).
    name: Value<String>,
    /// Kind; changing it replaces the item.
    kind: Value<String>,
    /// Free-form description; defaults to "managed by terraform" (optional + computed).
    description: Value<String>,
    /// Ordered tags.
    tags: Value<Vec<Value<String>>>,
    /// Notification steps.
    steps: Value<Vec<StepState>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StepState {
    notify: Value<String>,
    user: Value<String>,
}

/// What is stored on disk: plain, wholly known values.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    name: String,
    kind: Option<String>,
    description: String,
    tags: Option<Vec<String>>,
    steps: Option<Vec<(String, Option<String>)>>,
}

const DEFAULT_DESCRIPTION: &str = "managed by terraform";
const NOTIFY_KINDS: [&str; 3] = ["user", "here", "channel"];

struct ItemResource;

impl Resource<Store> for ItemResource {
    type State = ItemState;

    fn type_name(&self) -> &str {
        "tfpluginexample_item"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("An item stored as a JSON file.")
                .attribute(Attribute::computed("id", Type::String).description("Identifier."))
                .attribute(Attribute::required("name", Type::String).description("Name."))
                .attribute(
                    Attribute::optional("kind", Type::String)
                        .requires_replace()
                        .description("Kind."),
                )
                .attribute(
                    Attribute::optional_computed("description", Type::String).description("Description."),
                )
                .attribute(
                    Attribute::optional("tags", Type::list(Type::String)).description("Tags, in order."),
                )
                .attribute(Attribute::nested(
                    "steps",
                    Nesting::List,
                    vec![
                        Attribute::required("notify", Type::String)
                            .description("One of `user`, `here`, `channel`."),
                        Attribute::optional("user", Type::String)
                            .description("User for `notify = \"user\"`."),
                    ],
                    Mode::Optional,
                )),
        )
    }

    async fn validate(&self, ctx: &mut ValidateContext, config: ItemState) {
        let Value::Known(steps) = config.steps else { return };
        for (i, step) in steps.iter().enumerate() {
            if let Value::Known(notify) = step.notify.as_deref()
                && !NOTIFY_KINDS.contains(&notify)
            {
                ctx.error_at(
                    AttributePath::root("steps").index(i).attr("notify"),
                    "Invalid notify",
                    format!("{notify:?} is not one of {NOTIFY_KINDS:?}."),
                );
            }
            if step.notify.as_deref() == Value::Known("user") && step.user.is_null() {
                ctx.error_at(
                    AttributePath::root("steps").index(i).attr("user"),
                    "Missing user",
                    "notify = \"user\" needs a user.",
                );
            }
        }
    }

    async fn read(&self, ctx: &mut Context<Store>, state: ItemState) -> Option<ItemState> {
        let id = state.id.known()?;
        match ctx.data().load(&id) {
            Ok(Some(stored)) => Some(flatten(id, stored)),
            Ok(None) => None,
            Err(e) => {
                ctx.error(format!("Error reading item {id:?}"), e.to_string());
                None
            }
        }
    }

    async fn plan_create(
        &self,
        _ctx: &mut Context<Store>,
        mut proposed: ItemState,
        _config: ItemState,
    ) -> Option<ItemState> {
        // The default is known at plan time: show it instead of "(known after apply)".
        proposed.description = proposed.description.or(Value::Known(DEFAULT_DESCRIPTION.into()));
        Some(proposed)
    }

    async fn create(
        &self,
        ctx: &mut Context<Store>,
        planned: ItemState,
        _config: ItemState,
    ) -> Option<ItemState> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let id = format!("item-{:x}", nanos.as_nanos());
        let stored = expand(planned);
        if let Err(e) = ctx.data().save(&id, &stored) {
            ctx.error(format!("Error creating item {:?}", stored.name), e.to_string());
            return None;
        }
        Some(flatten(id, stored))
    }

    async fn update(
        &self,
        ctx: &mut Context<Store>,
        prior: ItemState,
        planned: ItemState,
        _config: ItemState,
    ) -> Option<ItemState> {
        let id = prior.id.known()?;
        let stored = expand(planned);
        if let Err(e) = ctx.data().save(&id, &stored) {
            ctx.error(format!("Error updating item {id:?}"), e.to_string());
            return None;
        }
        Some(flatten(id, stored))
    }

    async fn destroy(&self, ctx: &mut Context<Store>, prior: ItemState) {
        let Some(id) = prior.id.known() else { return };
        match std::fs::remove_file(ctx.data().path(&id)) {
            // Already gone is what we wanted.
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                ctx.error(format!("Error deleting item {id:?}"), e.to_string());
            }
            _ => {}
        }
    }

    async fn import(&self, ctx: &mut Context<Store>, id: String) -> Option<ItemState> {
        match ctx.data().load(&id) {
            Ok(Some(stored)) => Some(flatten(id, stored)),
            Ok(None) => {
                ctx.error(format!("Cannot import item {id:?}"), "No such item.");
                None
            }
            Err(e) => {
                ctx.error(format!("Cannot import item {id:?}"), e.to_string());
                None
            }
        }
    }
}

/// State → stored form (planned values are wholly known at apply except `id`).
fn expand(state: ItemState) -> Stored {
    Stored {
        name: state.name.unwrap_or_default(),
        kind: state.kind.known(),
        description: state.description.unwrap_or_else(|| DEFAULT_DESCRIPTION.into()),
        tags: state
            .tags
            .known()
            .map(|tags| tags.into_iter().filter_map(Value::known).collect()),
        steps: state.steps.known().map(|steps| {
            steps
                .into_iter()
                .map(|s| (s.notify.unwrap_or_default(), s.user.known()))
                .collect()
        }),
    }
}

/// Stored form → state.
fn flatten(id: String, stored: Stored) -> ItemState {
    ItemState {
        id: Value::Known(id),
        name: Value::Known(stored.name),
        kind: stored.kind.into(),
        description: Value::Known(stored.description),
        tags: stored
            .tags
            .map(|tags| tags.into_iter().map(Value::Known).collect())
            .into(),
        steps: stored
            .steps
            .map(|steps| {
                steps
                    .into_iter()
                    .map(|(notify, user)| StepState {
                        notify: notify.into(),
                        user: user.into(),
                    })
                    .collect()
            })
            .into(),
    }
}

/// `data "tfpluginexample_item"`: looks an item up by id.
struct ItemDataSource;

#[derive(Serialize, Deserialize)]
struct ItemLookup {
    id: Value<String>,
    name: Value<String>,
    tags: Value<Vec<String>>,
}

impl DataSource<Store> for ItemDataSource {
    type State = ItemLookup;

    fn type_name(&self) -> &str {
        "tfpluginexample_item"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .attribute(Attribute::required("id", Type::String))
                .attribute(Attribute::computed("name", Type::String))
                .attribute(Attribute::computed("tags", Type::list(Type::String))),
        )
    }

    async fn read(&self, ctx: &mut Context<Store>, mut config: ItemLookup) -> Option<ItemLookup> {
        let id = config.id.clone().known()?;
        match ctx.data().load(&id) {
            Ok(Some(stored)) => {
                config.name = Value::Known(stored.name);
                config.tags = stored.tags.into();
                Some(config)
            }
            Ok(None) => {
                ctx.error_at(AttributePath::root("id"), format!("Item {id:?} not found"), "");
                None
            }
            Err(e) => {
                ctx.error(format!("Error reading item {id:?}"), e.to_string());
                None
            }
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tfplugin::serve(
        Example,
        ServeOptions::new("example.local/tfplugin/tfpluginexample"),
    )
    .await
}
