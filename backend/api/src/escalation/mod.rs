//! The escalation engine: given a policy and where an alert stands in it, decides whom the step notifies and
//! when the step after it is due.
//!
//! A policy is an ordered list of steps (`random_member`, `next_member`, `user`, `here`, `channel`), each
//! with the minutes to wait before the next one; `repeat` runs the whole chain again up to 9 times. An alert's
//! place in its policy is a [`Position`] (round and step): the step that fires next. Everything here is a
//! plain function over data the caller gathered (the roster, who is inactive, the team's rotation, the members
//! already notified) and a random source, so the rules are tested without a database, Slack or a clock; the
//! job in `jobs::escalate` does the I/O around them.

mod timeline;
pub mod words;

use std::collections::BTreeSet;

use crate::{EscalationPolicy, Notify, Step};
use rand::{Rng, seq::IndexedRandom as _};
use serde::{Deserialize, Serialize};

pub use timeline::{TimelineEntry, timeline};

/// The policy an alert escalates by: a copy taken when the alert opens, so editing or deleting a policy does
/// not change alerts already in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// The stored policy it was copied from; `None` for the team's default chain.
    pub policy_id: Option<String>,
    /// The steps, in order (at least one).
    pub steps: Vec<Step>,
    /// How many times the chain runs again after its last step.
    pub repeat: u32,
    /// Skip members who are away or in Do Not Disturb.
    pub skip_inactive: bool,
    /// Minutes between reminders of an acknowledged alert that stays open; `None`: no reminders. (Copies
    /// taken before the field existed read as `None`.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remind_after_minutes: Option<u32>,
}

impl Policy {
    /// The seed's chain, for a team whose endpoint names no policy (`crate::default_chain`).
    pub fn default_chain() -> Self {
        Self {
            policy_id: None,
            steps: crate::default_chain(),
            repeat: 0,
            skip_inactive: true,
            remind_after_minutes: None,
        }
    }

    /// A copy of a stored policy.
    pub fn from_api(policy: &EscalationPolicy) -> Self {
        Self {
            policy_id: Some(policy.id.clone()),
            steps: policy.steps.clone(),
            repeat: policy.repeat,
            skip_inactive: policy.skip_inactive,
            remind_after_minutes: policy.remind_after_minutes,
        }
    }

    /// The step at `pos`, or `None` once the chain has ended.
    pub fn step(&self, pos: Position) -> Option<&Step> {
        if pos.round > self.repeat {
            return None;
        }
        self.steps.get(usize::try_from(pos.step).ok()?)
    }

    /// The position after `pos` and the minutes to wait for it; `None` when the chain ends at `pos` (the
    /// step has no `escalate_after_minutes`, or it is the last step of the last round).
    pub fn next(&self, pos: Position) -> Option<(Position, u32)> {
        let after = self.step(pos)?.escalate_after_minutes?;
        let next = if (pos.step as usize) + 1 < self.steps.len() {
            Position {
                round: pos.round,
                step: pos.step + 1,
            }
        } else if pos.round < self.repeat {
            Position {
                round: pos.round + 1,
                step: 0,
            }
        } else {
            return None;
        };
        Some((next, after))
    }

    /// Where an alert stands once its chain has ended after `pos`: a step index past the last one, which no
    /// timer ever names.
    pub fn ended(&self, pos: Position) -> Position {
        Position {
            round: pos.round,
            step: u32::try_from(self.steps.len()).unwrap_or(u32::MAX),
        }
    }
}

/// Where an alert stands in its policy: the step that fires next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    /// The round, from 0 (`repeat` rounds follow the first).
    pub round: u32,
    /// The step index within the round, from 0.
    pub step: u32,
}

impl Position {
    /// The first step of the first round, where every alert starts.
    pub const START: Self = Self { round: 0, step: 0 };
}

/// Who can be notified: the team's members (its list, or its channel's members when the list is empty), the
/// ones the directory reports inactive, and the team's channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    /// Members in the team's order.
    pub members: Vec<String>,
    /// Members who are away or in Do Not Disturb (only consulted with `skip_inactive`).
    pub inactive: BTreeSet<String>,
    /// The team's Slack channel, when known.
    pub channel: Option<String>,
}

/// Which mention a channel post carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Mention {
    /// `@here`: the channel's active members.
    Here,
    /// `@channel`: every member of the channel.
    Channel,
}

/// Where a step's notification goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Target {
    /// A direct message to one user.
    User {
        /// The Slack user id.
        user: String,
    },
    /// A post in the team's channel with a mention.
    Channel {
        /// The channel, when the team has one.
        channel: Option<String>,
        /// `@here` or `@channel`.
        mention: Mention,
    },
}

/// What one step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The step's kind.
    pub notify: Notify,
    /// Where the notification goes.
    pub target: Target,
    /// Why a member step posted to the channel instead of sending a DM (nobody left to choose).
    pub fallback: Option<String>,
    /// The member to add to the alert's notified list (a `random_member` pick).
    pub newly_notified: Option<String>,
    /// The team's new rotation index after a `next_member` pick.
    pub rotation: Option<u64>,
    /// The next position and the minutes until it is due; `None` when the chain ends here.
    pub next: Option<(Position, u32)>,
}

/// Decides step `pos` of `policy` for an alert that has already DMed `notified`, with the team's
/// next_member rotation at `rotation`. `None` when `pos` is past the end of the chain.
///
/// When a member step finds nobody to choose (an empty roster, everyone inactive, everyone already
/// notified) it posts to the channel with `@here` instead, so an escalation never ends in silence.
pub fn decide(
    policy: &Policy,
    pos: Position,
    roster: &Roster,
    notified: &[String],
    rotation: u64,
    rng: &mut impl Rng,
) -> Option<Decision> {
    let step = policy.step(pos)?;
    let usable = |m: &&String| !(policy.skip_inactive && roster.inactive.contains(*m));
    let channel = |mention| Target::Channel {
        channel: roster.channel.clone(),
        mention,
    };
    let mut decision = Decision {
        notify: step.notify,
        target: channel(Mention::Here),
        fallback: None,
        newly_notified: None,
        rotation: None,
        next: policy.next(pos),
    };
    match step.notify {
        Notify::RandomMember => {
            let fresh: Vec<&String> = roster
                .members
                .iter()
                .filter(|m| !notified.contains(m))
                .filter(usable)
                .collect();
            match fresh.choose(rng) {
                Some(user) => {
                    decision.target = Target::User {
                        user: (*user).clone(),
                    };
                    decision.newly_notified = Some((*user).clone());
                }
                None => decision.fallback = Some(nobody_left(roster, notified, policy.skip_inactive)),
            }
        }
        Notify::NextMember => {
            let n = roster.members.len() as u64;
            let pick = (0..n)
                .map(|i| (rotation.wrapping_add(i) % n) as usize)
                .find(|&i| usable(&&roster.members[i]));
            match pick {
                Some(i) => {
                    decision.target = Target::User {
                        user: roster.members[i].clone(),
                    };
                    decision.rotation = Some((i as u64 + 1) % n);
                }
                None => decision.fallback = Some(nobody_left(roster, &[], policy.skip_inactive)),
            }
        }
        Notify::User => match &step.user {
            Some(user) => decision.target = Target::User { user: user.clone() },
            None => decision.fallback = Some("the step names no user".to_owned()),
        },
        Notify::Here => decision.target = channel(Mention::Here),
        Notify::Channel => decision.target = channel(Mention::Channel),
    }
    Some(decision)
}

fn nobody_left(roster: &Roster, notified: &[String], skip_inactive: bool) -> String {
    if roster.members.is_empty() {
        "the team has no members to choose from".to_owned()
    } else if notified.is_empty() || roster.members.iter().any(|m| !notified.contains(m)) {
        if skip_inactive {
            "every member who could be chosen is inactive".to_owned()
        } else {
            "no member could be chosen".to_owned()
        }
    } else {
        "every member was already notified for this alert".to_owned()
    }
}

#[cfg(test)]
mod tests;
