//! The engine's rules, without I/O: timelines, repeat, skipping inactive members, rotation, random picks.

use std::collections::BTreeSet;

use crate::{Notify, Step};
use rand::{SeedableRng as _, rngs::StdRng};

use super::*;

fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

fn step(notify: Notify, after: Option<u32>) -> Step {
    Step {
        notify,
        user: None,
        escalate_after_minutes: after,
    }
}

fn roster(members: &[&str], inactive: &[&str]) -> Roster {
    Roster {
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        inactive: inactive.iter().map(|m| (*m).to_owned()).collect::<BTreeSet<_>>(),
        channel: Some("C1".to_owned()),
    }
}

fn kinds(entries: &[TimelineEntry]) -> Vec<(u64, Notify)> {
    entries.iter().map(|e| (e.at_minute, e.notify)).collect()
}

#[test]
fn default_chain_is_the_seeds() {
    let t = timeline(&Policy::default_chain(), None, 0, &mut rng());
    assert_eq!(
        kinds(&t),
        vec![
            (0, Notify::RandomMember),
            (5, Notify::RandomMember),
            (10, Notify::Here),
            (15, Notify::Channel)
        ]
    );
    assert!(t.iter().all(|e| e.round == 0 && e.note.is_none()));
}

#[test]
fn default_chain_with_members_dms_two_different_people() {
    let t = timeline(
        &Policy::default_chain(),
        Some(&roster(&["U1", "U2", "U3"], &[])),
        0,
        &mut rng(),
    );
    let (a, b) = (t[0].user.clone().unwrap(), t[1].user.clone().unwrap());
    assert_ne!(a, b);
    assert_eq!(t[2].mention, Some(Mention::Here));
    assert_eq!(t[3].mention, Some(Mention::Channel));
    assert_eq!(t[3].channel.as_deref(), Some("C1"));
}

#[test]
fn repeat_runs_the_chain_again_after_the_last_wait() {
    let policy = Policy {
        policy_id: None,
        steps: vec![step(Notify::Here, Some(3)), step(Notify::Channel, Some(10))],
        repeat: 2,
        skip_inactive: true,
        remind_after_minutes: None,
    };
    let t = timeline(&policy, None, 0, &mut rng());
    let rounds: Vec<(u64, u32, u32)> = t.iter().map(|e| (e.at_minute, e.round, e.step)).collect();
    assert_eq!(
        rounds,
        vec![
            (0, 0, 0),
            (3, 0, 1),
            (13, 1, 0),
            (16, 1, 1),
            (26, 2, 0),
            (29, 2, 1)
        ]
    );
    assert_eq!(policy.next(Position { round: 2, step: 1 }), None);
}

#[test]
fn a_step_without_a_wait_ends_the_chain() {
    let policy = Policy {
        policy_id: None,
        steps: vec![step(Notify::Here, None), step(Notify::Channel, Some(1))],
        repeat: 0,
        skip_inactive: true,
        remind_after_minutes: None,
    };
    assert_eq!(timeline(&policy, None, 0, &mut rng()).len(), 1);
    assert_eq!(policy.step(policy.ended(Position::START)), None);
}

#[test]
fn skip_inactive_skips_away_members_and_falls_back_to_the_channel() {
    let policy = Policy {
        policy_id: None,
        steps: vec![
            step(Notify::NextMember, Some(1)),
            step(Notify::RandomMember, None),
        ],
        repeat: 0,
        skip_inactive: true,
        remind_after_minutes: None,
    };
    let r = roster(&["U1", "U2", "U3"], &["U1", "U3"]);
    let d = decide(&policy, Position::START, &r, &[], 0, &mut rng()).unwrap();
    assert_eq!(d.target, Target::User { user: "U2".into() });
    assert_eq!(d.rotation, Some(2));
    // Only U2 is active and it was already notified: nobody left, so the channel hears about it.
    let pos = Position { round: 0, step: 1 };
    let d = decide(&policy, pos, &r, &["U2".into()], 0, &mut rng()).unwrap();
    assert_eq!(
        d.target,
        Target::Channel {
            channel: Some("C1".into()),
            mention: Mention::Here
        }
    );
    assert!(d.fallback.is_some());
    // Without skip_inactive the away members are fair game.
    let all = Policy {
        skip_inactive: false,
        ..policy
    };
    let d = decide(&all, Position::START, &r, &[], 0, &mut rng()).unwrap();
    assert_eq!(d.target, Target::User { user: "U1".into() });
}

#[test]
fn next_member_rotates_across_alerts_of_a_team() {
    let policy = Policy {
        policy_id: None,
        steps: vec![step(Notify::NextMember, None)],
        repeat: 0,
        skip_inactive: true,
        remind_after_minutes: None,
    };
    let r = roster(&["U1", "U2", "U3"], &[]);
    let mut rotation = 0;
    let mut picks = Vec::new();
    // Each alert is a fresh escalation; the team's rotation carries over between them.
    for _ in 0..5 {
        let d = decide(&policy, Position::START, &r, &[], rotation, &mut rng()).unwrap();
        let Target::User { user } = d.target else {
            panic!("expected a DM")
        };
        picks.push(user);
        rotation = d.rotation.unwrap();
    }
    assert_eq!(picks, ["U1", "U2", "U3", "U1", "U2"]);
}

#[test]
fn random_member_never_repeats_a_person_within_one_alert() {
    let policy = Policy {
        policy_id: None,
        steps: vec![step(Notify::RandomMember, Some(1)); 6],
        repeat: 0,
        skip_inactive: true,
        remind_after_minutes: None,
    };
    let members = ["U1", "U2", "U3", "U4", "U5"];
    for seed in 0..50 {
        let t = timeline(
            &policy,
            Some(&roster(&members, &[])),
            0,
            &mut StdRng::seed_from_u64(seed),
        );
        let users: Vec<String> = t.iter().filter_map(|e| e.user.clone()).collect();
        assert_eq!(users.len(), 5, "five members, five DMs");
        let distinct: BTreeSet<_> = users.iter().collect();
        assert_eq!(distinct.len(), 5, "seed {seed}: {users:?}");
        assert!(t[5].note.is_some(), "the sixth step has nobody left");
    }
}
