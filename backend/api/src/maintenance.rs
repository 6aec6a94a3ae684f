//! Maintenance windows: times when a team's (or some endpoints') alerts are posted but nobody is paged.
//!
//! A window is either *one-off* (`starts_at` and `ends_at`, RFC 3339 instants, at most 7 days apart) or
//! *recurring* (`recurrence`: a 5-field cron expression saying when each occurrence starts, how long it lasts
//! and in which IANA time zone the expression is read), never both. This module holds the wire types, the
//! validation both the server and the Terraform provider run ([`validate`]), the cron parser ([`Cron`]) and
//! the rule deciding whether an instant falls in a window ([`Schedule::active_until`]), so the server and the
//! provider cannot disagree about what a window means.

use std::str::FromStr;

use jiff::{Timestamp, tz::TimeZone};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::validate::{self, FieldError, SchemaRule, rule};

/// Longest one-off window, and longest occurrence of a recurring one: 7 days, in minutes.
pub const MAX_WINDOW_MINUTES: u32 = 10_080;
/// Most endpoints one window names.
pub const MAX_WINDOW_ENDPOINTS: usize = 100;
/// Longest description of a window.
pub const MAX_WINDOW_DESCRIPTION_LEN: usize = 1000;
/// Longest cron expression accepted (generous: the longest useful one is far shorter).
pub const MAX_CRON_LEN: usize = 200;

/// A maintenance window as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaintenanceWindow {
    /// Server-assigned id.
    pub id: String,
    /// The team whose alerts it covers; null when it covers `endpoint_ids`.
    pub team_id: Option<String>,
    /// The endpoints whose alerts it covers, in the order given; empty when it covers `team_id`.
    pub endpoint_ids: Vec<String>,
    /// Start of a one-off window, RFC 3339 in UTC; null for a recurring window.
    pub starts_at: Option<String>,
    /// End of a one-off window (exclusive), RFC 3339 in UTC; null for a recurring window.
    pub ends_at: Option<String>,
    /// When a recurring window occurs; null for a one-off window.
    pub recurrence: Option<Recurrence>,
    /// Free text, shown with the alerts it holds.
    pub description: Option<String>,
}

/// When a recurring window occurs: each time `cron` matches (a minute, read in `time_zone`), an occurrence
/// starts and lasts `duration_minutes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Recurrence {
    /// Standard 5-field cron expression: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or
    /// `JAN`-`DEC`), day of week (0-7 or `SUN`-`SAT`; 0 and 7 are Sunday). Each field is `*`, a value, a
    /// range `a-b`, a step `*/n`, `a-b/n` or `a/n`, or a comma-separated list of these; names are
    /// case-insensitive and go wherever a number does (`MON-FRI`). As in cron, when both day fields are
    /// restricted a day matching either one matches. Example: `0 22 * * SAT` (Saturdays at 22:00).
    pub cron: String,
    /// Length of each occurrence in minutes, 1 to 10080 (7 days).
    #[serde(deserialize_with = "crate::int::u32")]
    pub duration_minutes: u32,
    /// IANA time zone the expression is read in, e.g. `Europe/Paris` or `UTC`. Start times that do not
    /// exist on a daylight-saving change day (skipped by the clock) do not start an occurrence that day.
    pub time_zone: String,
}

/// The body of `POST /v1/maintenance-windows` and `PUT /v1/maintenance-windows/{id}` (a full replacement).
///
/// Exactly one of `team_id` and `endpoint_ids`; exactly one of (`starts_at` with `ends_at`) and
/// `recurrence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindowInput {
    /// The team whose alerts it covers (must exist in the caller's account). Not with `endpoint_ids`.
    #[serde(default)]
    pub team_id: Option<String>,
    /// The endpoints whose alerts it covers (each must exist in the caller's account), 1 to 100, no
    /// duplicates. Not with `team_id`.
    #[serde(default)]
    pub endpoint_ids: Vec<String>,
    /// Start of a one-off window: an RFC 3339 instant with its offset (`2026-12-01T22:00:00Z`,
    /// `2026-12-01T23:00:00+01:00`), at most millisecond precision. Not with `recurrence`.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// End of a one-off window (exclusive): after `starts_at`, at most 7 days later. Not with `recurrence`.
    #[serde(default)]
    pub ends_at: Option<String>,
    /// A recurring window. Not with `starts_at`/`ends_at`.
    #[serde(default)]
    pub recurrence: Option<Recurrence>,
    /// Free text, at most 1000 characters, shown with the alerts it holds.
    #[serde(default)]
    pub description: Option<String>,
}

/// Filters of `GET /v1/maintenance-windows`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindowQuery {
    /// Only windows of this team (windows naming endpoints are not listed by team).
    pub team_id: Option<String>,
    /// Page size, 1 to 1000; default 100.
    #[serde(default, deserialize_with = "crate::int::query_u32")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Parses an RFC 3339 instant of a window: an offset is required, and precision stops at milliseconds (what
/// is stored), so what is read back denotes exactly the instant sent.
pub fn parse_instant(s: &str) -> Result<Timestamp, String> {
    let bad = || {
        format!(
            "{s:?} is not an RFC 3339 date and time with an offset, e.g. 2026-12-01T22:00:00Z or \
             2026-12-01T23:00:00+01:00"
        )
    };
    // jiff also reads RFC 9557 annotations (`[Europe/Paris]`) and a space for `T`: RFC 3339 has neither.
    let bytes = s.as_bytes();
    if s.contains('[') || bytes.get(10).is_none_or(|b| !matches!(b, b'T' | b't')) {
        return Err(bad());
    }
    let ts = Timestamp::from_str(s).map_err(|_| bad())?;
    if ts.subsec_nanosecond() % 1_000_000 != 0 {
        return Err(format!("{s:?} is more precise than a millisecond"));
    }
    Ok(ts)
}

/// An instant as the API answers it: RFC 3339 in UTC, with milliseconds only when there are some.
pub fn format_instant_ms(ms: i64) -> String {
    Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

/// Reads an IANA time zone name (from the database bundled into the binary).
pub fn parse_time_zone(name: &str) -> Result<TimeZone, String> {
    if name.is_empty() || name.len() > 64 {
        return Err(format!("{name:?} is not an IANA time zone name"));
    }
    TimeZone::get(name).map_err(|_| {
        format!("{name:?} is not an IANA time zone name, e.g. UTC, Europe/Paris, America/New_York")
    })
}

/// Checks a window (everything but the existence of its team and endpoints).
pub fn validate(input: &MaintenanceWindowInput) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let err = |errs: &mut Vec<FieldError>, field: &str, message: String| {
        errs.push(FieldError {
            field: field.to_owned(),
            message,
        });
    };
    match (&input.team_id, input.endpoint_ids.is_empty()) {
        (Some(_), false) => err(
            &mut errs,
            "endpoint_ids",
            "a window covers a team or a list of endpoints, not both: set team_id or endpoint_ids".into(),
        ),
        (None, true) => err(
            &mut errs,
            "team_id",
            "required unless endpoint_ids is set: a window covers a team or a list of endpoints".into(),
        ),
        (Some(t), true) => validate::id(&mut errs, "team_id", t),
        (None, false) => {}
    }
    if input.endpoint_ids.len() > MAX_WINDOW_ENDPOINTS {
        err(
            &mut errs,
            "endpoint_ids",
            format!("at most {MAX_WINDOW_ENDPOINTS} endpoints are allowed"),
        );
    }
    for (i, e) in input.endpoint_ids.iter().enumerate() {
        let field = format!("endpoint_ids[{i}]");
        let before = errs.len();
        validate::id(&mut errs, &field, e);
        if errs.len() == before && input.endpoint_ids[..i].contains(e) {
            err(&mut errs, &field, format!("{e} is listed twice"));
        }
    }
    let one_off = input.starts_at.is_some() || input.ends_at.is_some();
    match (&input.recurrence, one_off) {
        // Named at the one-off instant written (an attribute a Terraform diagnostic can quote), not at the
        // recurrence block.
        (Some(_), true) => err(
            &mut errs,
            if input.starts_at.is_some() {
                "starts_at"
            } else {
                "ends_at"
            },
            "a window is one-off (starts_at and ends_at) or recurring (recurrence), not both".into(),
        ),
        (Some(r), false) => recurrence(&mut errs, r),
        (None, _) => {
            let starts = instant(&mut errs, "starts_at", input.starts_at.as_deref());
            let ends = instant(&mut errs, "ends_at", input.ends_at.as_deref());
            if let (Some(s), Some(e)) = (starts, ends) {
                if e <= s {
                    err(&mut errs, "ends_at", "must be after starts_at".into());
                } else if e.as_millisecond() - s.as_millisecond() > i64::from(MAX_WINDOW_MINUTES) * 60_000 {
                    err(
                        &mut errs,
                        "ends_at",
                        "a one-off window lasts at most 7 days; use recurrence for a window that comes back"
                            .into(),
                    );
                }
            }
        }
    }
    if let Some(d) = &input.description {
        if d.chars().count() > MAX_WINDOW_DESCRIPTION_LEN {
            err(
                &mut errs,
                "description",
                format!("at most {MAX_WINDOW_DESCRIPTION_LEN} characters"),
            );
        }
        validate::no_nul(&mut errs, "description", d);
    }
    errs
}

/// Reads a required instant of a one-off window, reporting why it cannot be read.
fn instant(errs: &mut Vec<FieldError>, field: &str, value: Option<&str>) -> Option<Timestamp> {
    let message = match value.map(parse_instant) {
        Some(Ok(t)) => return Some(t),
        Some(Err(m)) => m,
        None => "required for a one-off window (or set recurrence instead)".to_owned(),
    };
    errs.push(FieldError {
        field: field.to_owned(),
        message,
    });
    None
}

/// Checks a recurrence.
fn recurrence(errs: &mut Vec<FieldError>, r: &Recurrence) {
    if let Err(m) = Cron::parse(&r.cron) {
        errs.push(FieldError {
            field: "recurrence.cron".into(),
            message: m,
        });
    }
    if !(1..=MAX_WINDOW_MINUTES).contains(&r.duration_minutes) {
        errs.push(FieldError {
            field: "recurrence.duration_minutes".into(),
            message: format!("must be between 1 and {MAX_WINDOW_MINUTES} minutes (7 days)"),
        });
    }
    if let Err(m) = parse_time_zone(&r.time_zone) {
        errs.push(FieldError {
            field: "recurrence.time_zone".into(),
            message: m,
        });
    }
}

/// The OpenAPI constraints of the window's fields: what JSON Schema can say exactly (one of team and
/// endpoints, one of one-off and recurring, the lengths and ranges). What it cannot (the instants' order
/// and distance, the cron grammar, the zone names) is in the fields' descriptions, and the server answers 400
/// naming the field.
pub fn schema_rules() -> Vec<SchemaRule> {
    let id = json!({"pattern": validate::ID_PATTERN});
    let string = json!({"type": "string"});
    let none = json!({"type": "null"});
    let one_of = json!({"allOf": [
        {"oneOf": [
            {"required": ["team_id"], "properties": {"team_id": string, "endpoint_ids": {"maxItems": 0}}},
            {"required": ["endpoint_ids"], "properties": {"team_id": none, "endpoint_ids": {"minItems": 1}}},
        ]},
        {"oneOf": [
            {"required": ["starts_at", "ends_at"],
                "properties": {"starts_at": string, "ends_at": string, "recurrence": none}},
            {"required": ["recurrence"],
                "properties": {"recurrence": {"type": "object"}, "starts_at": none, "ends_at": none}},
        ]},
    ]});
    vec![
        rule("MaintenanceWindowInput", "", one_of),
        rule("MaintenanceWindowInput", "team_id", id.clone()),
        rule(
            "MaintenanceWindowInput",
            "endpoint_ids",
            json!({"maxItems": MAX_WINDOW_ENDPOINTS, "uniqueItems": true, "items": id}),
        ),
        rule(
            "MaintenanceWindowInput",
            "description",
            json!({"maxLength": MAX_WINDOW_DESCRIPTION_LEN, "pattern": validate::NO_NUL_PATTERN}),
        ),
        rule(
            "Recurrence",
            "duration_minutes",
            json!({"minimum": 1, "maximum": MAX_WINDOW_MINUTES}),
        ),
        rule(
            "Recurrence",
            "cron",
            json!({"minLength": 9, "maxLength": MAX_CRON_LEN}),
        ),
    ]
}

/// What a window means in time, parsed: the server decides with it whether an alert is held.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// From `starts` (inclusive) to `ends` (exclusive), Unix milliseconds.
    Once {
        /// Start.
        starts_ms: i64,
        /// End.
        ends_ms: i64,
    },
    /// Occurrences starting each time `cron` matches in `zone`, each `duration_minutes` long.
    Recurring {
        /// When occurrences start.
        cron: Cron,
        /// Length of each.
        duration_minutes: u32,
        /// Where the expression is read.
        zone: TimeZone,
    },
}

impl Schedule {
    /// A recurring schedule from its stored parts.
    pub fn recurring(r: &Recurrence) -> Result<Self, String> {
        Ok(Self::Recurring {
            cron: Cron::parse(&r.cron)?,
            duration_minutes: r.duration_minutes,
            zone: parse_time_zone(&r.time_zone)?,
        })
    }

    /// When the window ends if it is in effect at `at_ms` (Unix milliseconds): the end of the one-off
    /// window, or of the occurrence in effect (the latest-starting one when several overlap); `None` when it
    /// is not in effect.
    pub fn active_until(&self, at_ms: i64) -> Option<i64> {
        match self {
            Self::Once { starts_ms, ends_ms } => {
                (*starts_ms <= at_ms && at_ms < *ends_ms).then_some(*ends_ms)
            }
            Self::Recurring {
                cron,
                duration_minutes,
                zone,
            } => {
                let length = i64::from(*duration_minutes) * 60_000;
                // Occurrences start on whole minutes: walk back from the minute of `at` to the earliest start
                // whose occurrence still covers `at`; the first match is the latest start.
                let minute = at_ms.div_euclid(60_000) * 60_000;
                let mut start = minute;
                while start > at_ms - length {
                    let ts = Timestamp::from_millisecond(start).ok()?;
                    if cron.matches(&ts.to_zoned(zone.clone())) {
                        return Some(start + length);
                    }
                    start -= 60_000;
                }
                None
            }
        }
    }
}

/// A parsed 5-field cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// The day-of-month field is `*` (or starts with it): then only the weekday decides.
    any_day: bool,
    /// The day-of-week field is `*` (or starts with it): then only the day of month decides.
    any_weekday: bool,
}

/// One field's name, range and the names its values may also be written with (from `min`).
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
    },
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    },
];

impl Cron {
    /// Parses `minute hour day-of-month month day-of-week`.
    pub fn parse(expr: &str) -> Result<Self, String> {
        if expr.len() > MAX_CRON_LEN {
            return Err(format!("at most {MAX_CRON_LEN} characters"));
        }
        let parts: Vec<&str> = expr.split_ascii_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "{expr:?} is not a 5-field cron expression (minute hour day-of-month month day-of-week), \
                 e.g. \"0 22 * * 6\""
            ));
        }
        let mut sets = [0u64; 5];
        for ((part, field), set) in parts.iter().zip(&FIELDS).zip(&mut sets) {
            *set = parse_field(part, field).map_err(|m| format!("{} field {part:?}: {m}", field.name))?;
        }
        // 7 is Sunday too.
        let weekdays = if sets[4] & (1 << 7) != 0 {
            (sets[4] | 1) & !(1 << 7)
        } else {
            sets[4]
        };
        Ok(Self {
            minutes: sets[0],
            hours: sets[1],
            days: sets[2],
            months: sets[3],
            weekdays,
            any_day: parts[2].starts_with('*'),
            any_weekday: parts[4].starts_with('*'),
        })
    }

    /// Whether the expression matches the minute of `at` (seconds are ignored).
    pub fn matches(&self, at: &jiff::Zoned) -> bool {
        let bit = |set: u64, v: i8| u8::try_from(v).is_ok_and(|v| v < 64 && set & (1 << v) != 0);
        let day = bit(self.days, at.day());
        let weekday = bit(self.weekdays, at.weekday().to_sunday_zero_offset());
        let day_matches = match (self.any_day, self.any_weekday) {
            (true, true) => true,
            (true, false) => weekday,
            (false, true) => day,
            // Cron's rule: both restricted, either one will do.
            (false, false) => day || weekday,
        };
        bit(self.minutes, at.minute())
            && bit(self.hours, at.hour())
            && bit(self.months, at.month())
            && day_matches
    }
}

/// One field: a comma-separated list of `*`, `n`, `a-b`, each optionally `/step`.
fn parse_field(text: &str, field: &Field) -> Result<u64, String> {
    let mut set = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step = number(s)?;
                if step == 0 {
                    return Err("a step must be at least 1".into());
                }
                (r, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = if range == "*" {
            (field.min, field.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(a, field)?, value(b, field)?);
            if a > b {
                return Err(format!("the range {a}-{b} runs backwards"));
            }
            (a, b)
        } else {
            let a = value(range, field)?;
            // `a/n` is `a-max/n`, as in cron.
            (a, if step.is_some() { field.max } else { a })
        };
        for v in [lo, hi] {
            if !(field.min..=field.max).contains(&v) {
                return Err(format!("{v} is out of range {}-{}", field.min, field.max));
            }
        }
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            set |= 1 << v;
            v += step;
        }
    }
    Ok(set)
}

/// A value of `field`: a number, or one of its names.
fn value(s: &str, field: &Field) -> Result<u32, String> {
    if s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()) && !field.names.is_empty() {
        return field
            .names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(s))
            .and_then(|i| u32::try_from(i).ok())
            .map(|i| field.min + i)
            .ok_or_else(|| format!("{s:?} is not a number or one of {}", field.names.join(", ")));
    }
    number(s)
}

fn number(s: &str) -> Result<u32, String> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(if s.is_empty() {
            "an empty item (expected *, a number, a range a-b or a step /n)".into()
        } else {
            format!("{s:?} is not a number (expected *, a number, a range a-b or a step /n)")
        });
    }
    s.parse().map_err(|_| format!("{s:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zoned(s: &str, tz: &str) -> jiff::Zoned {
        let ts: Timestamp = s.parse().unwrap();
        ts.to_zoned(TimeZone::get(tz).unwrap())
    }

    fn window() -> MaintenanceWindowInput {
        MaintenanceWindowInput {
            team_id: Some("team_1".into()),
            endpoint_ids: vec![],
            starts_at: Some("2026-12-01T22:00:00Z".into()),
            ends_at: Some("2026-12-02T01:00:00+01:00".into()),
            recurrence: None,
            description: None,
        }
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    fn ms(s: &str) -> i64 {
        parse_instant(s).unwrap().as_millisecond()
    }

    #[test]
    fn cron_fields() {
        let c = Cron::parse("*/15 9-17 * * 1-5").unwrap();
        assert!(c.matches(&zoned("2026-12-01T09:45:00Z", "UTC")), "a Tuesday");
        assert!(!c.matches(&zoned("2026-12-01T09:46:00Z", "UTC")));
        assert!(!c.matches(&zoned("2026-12-01T18:00:00Z", "UTC")));
        assert!(!c.matches(&zoned("2026-12-05T10:00:00Z", "UTC")), "a Saturday");
        let lists = Cron::parse("0,30 22 1,15 1-3,12 *").unwrap();
        assert!(lists.matches(&zoned("2026-12-15T22:30:00Z", "UTC")));
        assert!(!lists.matches(&zoned("2026-11-15T22:30:00Z", "UTC")));
        assert!(!lists.matches(&zoned("2026-12-14T22:30:00Z", "UTC")));
        let steps = Cron::parse("5/20 0-10/5 * * *").unwrap();
        for (m, h, ok) in [
            (5, 0, true),
            (25, 5, true),
            (45, 10, true),
            (0, 0, false),
            (5, 1, false),
        ] {
            let at = zoned(&format!("2026-12-01T{h:02}:{m:02}:00Z"), "UTC");
            assert_eq!(steps.matches(&at), ok, "{h}:{m}");
        }
    }

    #[test]
    fn cron_day_fields_follow_cron() {
        // Both restricted: the 1st of the month OR a Saturday.
        let either = Cron::parse("0 0 1 * 6").unwrap();
        assert!(
            either.matches(&zoned("2026-12-01T00:00:00Z", "UTC")),
            "the 1st, a Tuesday"
        );
        assert!(
            either.matches(&zoned("2026-12-05T00:00:00Z", "UTC")),
            "a Saturday"
        );
        assert!(!either.matches(&zoned("2026-12-02T00:00:00Z", "UTC")));
        // Day of month `*`: only the weekday decides; 7 is Sunday.
        let sunday = Cron::parse("0 0 * * 7").unwrap();
        assert!(sunday.matches(&zoned("2026-12-06T00:00:00Z", "UTC")));
        assert!(!sunday.matches(&zoned("2026-12-07T00:00:00Z", "UTC")));
        assert_eq!(sunday, Cron::parse("0 0 * * 0").unwrap());
    }

    #[test]
    fn cron_names_are_the_numbers_they_stand_for() {
        for (named, numbered) in [
            ("0 22 * * SAT", "0 22 * * 6"),
            ("0 9 * * mon-fri", "0 9 * * 1-5"),
            ("0 0 1 jan,Jul *", "0 0 1 1,7 *"),
            ("0 0 * NOV-DEC SUN", "0 0 * 11-12 0"),
            ("0 0 * * SUN,7", "0 0 * * 0"),
            ("*/30 * * FEB/2 *", "*/30 * * 2-12/2 *"),
        ] {
            assert_eq!(Cron::parse(named), Cron::parse(numbered), "{named:?}");
        }
    }

    #[test]
    fn cron_refusals_say_which_field() {
        for (expr, says) in [
            ("* * * *", "5-field"),
            ("* * * * * *", "5-field"),
            ("60 * * * *", "minute field"),
            ("* 24 * * *", "hour field"),
            ("* * 0 * *", "day of month field"),
            ("* * * 13 *", "month field"),
            ("* * * * 8", "day of week field"),
            ("5-1 * * * *", "backwards"),
            ("*/0 * * * *", "at least 1"),
            ("a * * * *", "not a number"),
            ("1,,2 * * * *", "empty item"),
            ("-1 * * * *", "minute field"),
            ("* * * JANUARY *", "month field"),
            ("* * * * MON-FOO", "one of SUN, MON"),
            ("* * * * */MON", "not a number"),
            ("* MON * * *", "hour field"),
        ] {
            let e = Cron::parse(expr).unwrap_err();
            assert!(e.contains(says), "{expr:?}: {e}");
        }
    }

    #[test]
    fn a_valid_one_off_window() {
        assert!(validate(&window()).is_empty());
        let mut w = window();
        w.team_id = None;
        w.endpoint_ids = vec!["ep_1".into(), "ep_2".into()];
        assert!(validate(&w).is_empty());
    }

    #[test]
    fn exactly_one_of_team_and_endpoints() {
        let mut w = window();
        w.endpoint_ids = vec!["ep_1".into()];
        assert_eq!(fields(&validate(&w)), ["endpoint_ids"]);
        w.team_id = None;
        w.endpoint_ids = vec![];
        assert_eq!(fields(&validate(&w)), ["team_id"]);
        w.endpoint_ids = vec!["ep_1".into(), "../x".into(), "ep_1".into()];
        assert_eq!(fields(&validate(&w)), ["endpoint_ids[1]", "endpoint_ids[2]"]);
    }

    #[test]
    fn one_off_bounds() {
        let mut w = window();
        w.ends_at = Some("2026-12-01T22:00:00Z".into());
        assert_eq!(fields(&validate(&w)), ["ends_at"], "end equal to start");
        w.ends_at = Some("2026-12-08T22:00:00Z".into());
        assert!(validate(&w).is_empty(), "exactly 7 days");
        w.ends_at = Some("2026-12-08T22:00:00.001Z".into());
        assert_eq!(fields(&validate(&w)), ["ends_at"], "over 7 days");
        w.starts_at = None;
        assert_eq!(fields(&validate(&w)), ["starts_at"]);
        w.starts_at = Some("2026-12-01 22:00:00Z".into());
        w.ends_at = Some("tomorrow".into());
        assert_eq!(fields(&validate(&w)), ["starts_at", "ends_at"]);
        for bad in [
            "2026-12-01T22:00:00",
            "2026-12-01T22:00:00Z[Europe/Paris]",
            "2026-12-01T22:00:00.0001Z",
            "2026-13-01T22:00:00Z",
            "",
        ] {
            assert!(parse_instant(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ms("2026-12-01T23:00:00+01:00"), ms("2026-12-01T22:00:00Z"));
        assert_eq!(
            format_instant_ms(ms("2026-12-01T23:00:00.250+01:00")),
            "2026-12-01T22:00:00.25Z"
        );
        assert_eq!(
            format_instant_ms(ms("2026-12-01t22:00:00z")),
            "2026-12-01T22:00:00Z"
        );
    }

    #[test]
    fn recurring_or_one_off_not_both() {
        let r = Recurrence {
            cron: "0 22 * * 6".into(),
            duration_minutes: 120,
            time_zone: "Europe/Paris".into(),
        };
        let mut w = window();
        w.recurrence = Some(r.clone());
        assert_eq!(fields(&validate(&w)), ["starts_at"]);
        w.starts_at = None;
        assert_eq!(fields(&validate(&w)), ["ends_at"]);
        w.starts_at = None;
        w.ends_at = None;
        assert!(validate(&w).is_empty());
        w.recurrence = Some(Recurrence {
            cron: "0 25 * * *".into(),
            duration_minutes: 10_081,
            time_zone: "Mars/Olympus".into(),
        });
        assert_eq!(
            fields(&validate(&w)),
            [
                "recurrence.cron",
                "recurrence.duration_minutes",
                "recurrence.time_zone"
            ]
        );
        w.recurrence = Some(Recurrence {
            duration_minutes: 0,
            ..r
        });
        assert_eq!(fields(&validate(&w)), ["recurrence.duration_minutes"]);
    }

    #[test]
    fn one_off_activity() {
        let s = Schedule::Once {
            starts_ms: 1000,
            ends_ms: 2000,
        };
        assert_eq!(s.active_until(999), None);
        assert_eq!(s.active_until(1000), Some(2000));
        assert_eq!(s.active_until(1999), Some(2000));
        assert_eq!(s.active_until(2000), None);
    }

    #[test]
    fn recurring_activity_in_its_zone() {
        // Saturdays 22:00 to 00:00 in Paris (UTC+1 in December).
        let s = Schedule::recurring(&Recurrence {
            cron: "0 22 * * 6".into(),
            duration_minutes: 120,
            time_zone: "Europe/Paris".into(),
        })
        .unwrap();
        let end = ms("2026-12-05T23:00:00Z");
        assert_eq!(s.active_until(ms("2026-12-05T20:59:59Z")), None);
        assert_eq!(s.active_until(ms("2026-12-05T21:00:00Z")), Some(end));
        assert_eq!(s.active_until(ms("2026-12-05T22:59:59.999Z")), Some(end));
        assert_eq!(s.active_until(ms("2026-12-05T23:00:00Z")), None);
        assert_eq!(s.active_until(ms("2026-12-04T21:30:00Z")), None, "a Friday");
        // Overlapping occurrences (every minute, 7 days long): the latest start decides the end.
        let every = Schedule::recurring(&Recurrence {
            cron: "* * * * *".into(),
            duration_minutes: MAX_WINDOW_MINUTES,
            time_zone: "UTC".into(),
        })
        .unwrap();
        let at = ms("2026-12-05T21:00:30Z");
        assert_eq!(
            every.active_until(at),
            Some(ms("2026-12-05T21:00:00Z") + i64::from(MAX_WINDOW_MINUTES) * 60_000)
        );
        // A start that never comes within reach.
        let never = Schedule::recurring(&Recurrence {
            cron: "0 0 31 2 *".into(),
            duration_minutes: MAX_WINDOW_MINUTES,
            time_zone: "UTC".into(),
        })
        .unwrap();
        assert_eq!(never.active_until(at), None);
    }

    #[test]
    fn skipped_local_times_start_nothing() {
        // 2026-03-29: Paris skips 02:00-03:00.
        let s = Schedule::recurring(&Recurrence {
            cron: "30 2 * * *".into(),
            duration_minutes: 60,
            time_zone: "Europe/Paris".into(),
        })
        .unwrap();
        assert!(
            s.active_until(ms("2026-03-28T01:45:00Z")).is_some(),
            "the day before"
        );
        assert_eq!(s.active_until(ms("2026-03-29T01:45:00Z")), None);
    }

    #[test]
    fn zones_are_bundled() {
        for z in ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"] {
            assert!(parse_time_zone(z).is_ok(), "{z}");
        }
        for z in ["", "Europe/Nowhere", "../etc/passwd", "+01:00"] {
            assert!(parse_time_zone(z).is_err(), "{z:?}");
        }
    }
}
