//! A policy's timeline in words a reviewer reads at a glance: "0 min: DM a random active member of payments",
//! "15 min: @here in C0PAYMENTS", "then again from minute 30, twice". The provider plans these lines as the
//! policy's `timeline` (so `terraform plan` shows who is paged when, before and after an edit) and `simulate`
//! answers them too; both call [`summary`], over the entries of [`timeline`](super::timeline).
//!
//! The words depend only on the policy and the team's name and channel, never on a random pick or on who is
//! active now: the same configuration always gives the same lines, so a plan with no edit stays quiet.

use super::{Mention, Policy, Roster, TimelineEntry, timeline};
use crate::Notify;

/// What the words name: the team and its channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Audience<'a> {
    /// The team's name (`payments`).
    pub team: &'a str,
    /// The team's Slack channel id (`C0PAYMENTS`).
    pub channel: &'a str,
}

/// One line per step of the first round, then one for the rounds that repeat it and one for reminders.
pub fn summary(policy: &Policy, audience: Audience<'_>) -> Vec<String> {
    let entries = entries(policy, audience);
    let mut lines: Vec<String> = entries
        .iter()
        .filter(|e| e.round == 0)
        .map(|e| format!("{} min: {}", e.at_minute, describe(e, policy, audience)))
        .collect();
    if let Some(again) = entries.iter().find(|e| e.round == 1) {
        lines.push(format!(
            "then again from minute {}, {}",
            again.at_minute,
            times(policy.repeat)
        ));
    }
    if let Some(m) = policy.remind_after_minutes {
        lines.push(format!(
            "once acknowledged: remind the acknowledger every {m} min until closed"
        ));
    }
    lines
}

/// Every step of every round, with its words: what [`summary`] condenses.
pub fn entries(policy: &Policy, audience: Audience<'_>) -> Vec<TimelineEntry> {
    // No members: the words name the kind of DM ("a random active member"), never a pick, so they do not
    // change from one plan to the next.
    let roster = Roster {
        members: Vec::new(),
        inactive: Default::default(),
        channel: (!audience.channel.is_empty()).then(|| audience.channel.to_owned()),
    };
    // The random source is never consulted without members.
    let mut rng = rand::rng();
    timeline(policy, Some(&roster), 0, &mut rng)
}

/// What one step does, in words.
pub fn describe(entry: &TimelineEntry, policy: &Policy, audience: Audience<'_>) -> String {
    let active = if policy.skip_inactive { "active " } else { "" };
    let team = if audience.team.is_empty() {
        "the team".to_owned()
    } else {
        audience.team.to_owned()
    };
    let channel = if audience.channel.is_empty() {
        "the team's channel"
    } else {
        audience.channel
    };
    match entry.notify {
        Notify::RandomMember => {
            let earlier = policy
                .steps
                .iter()
                .take(usize::try_from(entry.step).unwrap_or(0))
                .any(|s| s.notify == Notify::RandomMember);
            let which = if earlier { "another" } else { "a" };
            format!("DM {which} random {active}member of {team}")
        }
        Notify::NextMember => format!("DM the next {active}member of {team} in turn"),
        Notify::User => match &entry.user {
            Some(user) => format!("DM {user}"),
            None => "DM the step's user".to_owned(),
        },
        Notify::Here | Notify::Channel => {
            let mention = match entry.mention {
                Some(Mention::Channel) => "@channel",
                _ if entry.notify == Notify::Channel => "@channel",
                _ => "@here",
            };
            format!("{mention} in {channel}")
        }
    }
}

fn times(n: u32) -> String {
    match n {
        1 => "once".to_owned(),
        2 => "twice".to_owned(),
        n => format!("{n} times"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Step;

    fn step(notify: Notify, user: Option<&str>, after: Option<u32>) -> Step {
        Step {
            notify,
            user: user.map(str::to_owned),
            escalate_after_minutes: after,
        }
    }

    fn payments() -> Audience<'static> {
        Audience {
            team: "payments",
            channel: "C0PAYMENTS",
        }
    }

    #[test]
    fn a_repeating_chain_reads_as_the_issue_writes_it() {
        let policy = Policy {
            policy_id: None,
            steps: vec![
                step(Notify::RandomMember, None, Some(5)),
                step(Notify::User, Some("U0PAYLEAD1"), Some(10)),
                step(Notify::Here, None, Some(15)),
            ],
            repeat: 2,
            skip_inactive: true,
            remind_after_minutes: Some(30),
        };
        assert_eq!(
            summary(&policy, payments()),
            [
                "0 min: DM a random active member of payments",
                "5 min: DM U0PAYLEAD1",
                "15 min: @here in C0PAYMENTS",
                "then again from minute 30, twice",
                "once acknowledged: remind the acknowledger every 30 min until closed",
            ]
        );
    }

    #[test]
    fn the_default_chain_says_another_member_and_ends_with_channel() {
        let lines = summary(&Policy::default_chain(), payments());
        assert_eq!(
            lines,
            [
                "0 min: DM a random active member of payments",
                "5 min: DM another random active member of payments",
                "10 min: @here in C0PAYMENTS",
                "15 min: @channel in C0PAYMENTS",
            ]
        );
    }

    #[test]
    fn the_same_policy_always_reads_the_same() {
        let policy = Policy {
            policy_id: None,
            steps: vec![
                step(Notify::NextMember, None, Some(5)),
                step(Notify::RandomMember, None, Some(5)),
            ],
            repeat: 9,
            skip_inactive: false,
            remind_after_minutes: None,
        };
        let first = summary(&policy, payments());
        for _ in 0..20 {
            assert_eq!(summary(&policy, payments()), first);
        }
        assert_eq!(first[0], "0 min: DM the next member of payments in turn");
        assert_eq!(first[2], "then again from minute 10, 9 times");
        assert_eq!(entries(&policy, payments()).len(), 20);
    }

    #[test]
    fn a_chain_that_ends_early_has_no_repeat_line() {
        let policy = Policy {
            policy_id: None,
            steps: vec![
                step(Notify::Channel, None, None),
                step(Notify::Here, None, Some(5)),
            ],
            repeat: 0,
            skip_inactive: true,
            remind_after_minutes: None,
        };
        assert_eq!(
            summary(&policy, Audience::default()),
            ["0 min: @channel in the team's channel"]
        );
    }
}
