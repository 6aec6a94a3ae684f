//! Background job kinds of the server, one per file, each laid out the same way: the payload struct (the
//! job), its consts (kind, retry policy, identity), how to enqueue it, then `run`. [`JobContext`] is what every
//! job shares, and [`runner`] registers every kind.

pub mod digest;
pub mod enqueue;
pub mod escalate;
pub mod heartbeat_sweep;
pub mod maintenance;
pub mod press;
pub mod remind;
pub mod slack_event;
pub mod snooze_end;
pub mod sync;

use std::sync::Arc;

use klaxon_queue::{Queue, Runner};

use crate::{
    alerts,
    escalation::EngineConfig,
    notify::{Directory, Notifier},
    store::Store,
};

pub use crate::alerts::{EscalateJob, SyncJob};
pub use digest::DigestJob;
pub use heartbeat_sweep::HeartbeatSweepJob;
pub use press::PressJob;
pub use slack_event::EventJob;

/// What every job of the server can reach.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The database.
    pub store: Store,
    /// The queue (jobs enqueue their follow-ups).
    pub queue: Queue,
    /// Escalation settings (the length of a policy minute).
    pub engine: EngineConfig,
    /// Who is in a channel and who is active.
    pub directory: Arc<dyn Directory>,
    /// Where notifications go.
    pub notifier: Arc<dyn Notifier>,
    /// Slack, when configured: the message sync, digests and button presses use it.
    pub slack: Option<Arc<crate::slack::Slack>>,
}

impl JobContext {
    /// What an escalation step needs.
    pub fn step_deps(&self) -> alerts::escalate::Deps {
        alerts::escalate::Deps {
            store: self.store.clone(),
            queue: self.queue.clone(),
            engine: self.engine,
            directory: self.directory.clone(),
            notifier: self.notifier.clone(),
        }
    }
}

/// A runner with every job kind of the server registered.
pub fn runner(ctx: JobContext) -> Runner<JobContext> {
    Runner::new(ctx.queue.clone(), ctx)
        .register::<EscalateJob>()
        .register::<SyncJob>()
        .register::<DigestJob>()
        .register::<PressJob>()
        .register::<EventJob>()
        .register::<crate::alerts::maintenance::ReleaseJob>()
        .register::<crate::alerts::snooze::SnoozeEndJob>()
        .register::<crate::alerts::remind::RemindJob>()
        .register::<HeartbeatSweepJob>()
}
