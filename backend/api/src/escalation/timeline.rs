//! The timeline a policy would page for a new alert nobody acknowledges: what `simulate` answers.

use crate::Notify;
use rand::Rng;
use serde::Serialize;

use super::{Mention, Policy, Position, Roster, Target, decide};

/// One step of a simulated escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    /// Minutes after the alert opened.
    pub at_minute: u64,
    /// The round, from 0.
    pub round: u32,
    /// The step index within the round, from 0.
    pub step: u32,
    /// The step's kind.
    pub notify: Notify,
    /// The user who would get the DM, when members are known (for `random_member` one possible pick).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The channel post's mention (`here` or `channel`), for channel posts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mention: Option<Mention>,
    /// The channel, for channel posts when the team has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Why a member step would post to the channel instead (nobody left to choose).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The steps `policy` would fire for a new alert that nobody acknowledges, in order.
///
/// With a `roster` naming members, they are chosen as the engine would (skipping inactive ones, never repeating a
/// `random_member` pick, continuing the team's rotation from `rotation`); without it only the kinds and times
/// are shown.
pub fn timeline(
    policy: &Policy,
    roster: Option<&Roster>,
    rotation: u64,
    rng: &mut impl Rng,
) -> Vec<TimelineEntry> {
    let mut entries = Vec::new();
    let mut notified = Vec::new();
    let mut rotation = rotation;
    let mut at_minute = 0u64;
    let mut pos = Position::START;
    let known = roster.is_some_and(|r| !r.members.is_empty());
    let empty = Roster::default();
    let roster = roster.unwrap_or(&empty);
    while let Some(d) = decide(policy, pos, roster, &notified, rotation, rng) {
        let (user, mention, channel) = match &d.target {
            Target::User { user } => (Some(user.clone()), None, None),
            Target::Channel { channel, mention } => (None, Some(*mention), channel.clone()),
        };
        let member_step = matches!(d.notify, Notify::RandomMember | Notify::NextMember);
        let entry = if known || !member_step {
            TimelineEntry {
                at_minute,
                round: pos.round,
                step: pos.step,
                notify: d.notify,
                user,
                mention,
                channel,
                note: d.fallback.clone(),
            }
        } else {
            // Members unknown: say what kind of DM goes out, not a fallback that would not happen.
            TimelineEntry {
                at_minute,
                round: pos.round,
                step: pos.step,
                notify: d.notify,
                user: None,
                mention: None,
                channel: None,
                note: None,
            }
        };
        entries.push(entry);
        notified.extend(d.newly_notified);
        rotation = d.rotation.unwrap_or(rotation);
        match d.next {
            Some((next, minutes)) => {
                at_minute += u64::from(minutes);
                pos = next;
            }
            None => break,
        }
    }
    entries
}
