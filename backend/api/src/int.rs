//! Whole numbers as JSON Schema reads them: `4`, `4.0` and `4e0` are the same integer there, and a client
//! generated from the OpenAPI document may send any of them. serde reads only the first into a `u32`, so the
//! integer fields of inputs use these instead (through `deserialize_with`). In a query everything is text:
//! [`query_u32`] reads `limit=4.0` as 4. A fraction, a negative number, one past `u32::MAX`, or (in JSON) a
//! string is refused as before.

use std::fmt;

use serde::{Deserializer, de};

/// Reads a `u32` from any JSON number that is a whole number in range.
pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    d.deserialize_any(Whole { text: false })
}

/// [`u32`] for an optional field (`null` and absence are `None`).
pub fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    d.deserialize_option(OptWhole { text: false })
}

/// [`opt_u32`] for a query parameter, whose value is text.
pub fn query_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    d.deserialize_option(OptWhole { text: true })
}

#[derive(Clone, Copy)]
struct Whole {
    /// Numbers written as text are read (query strings).
    text: bool,
}

impl de::Visitor<'_> for Whole {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a whole number between 0 and {}", u32::MAX)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
        u32::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
        u32::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u32, E> {
        if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) {
            // In range and whole: the conversion is exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(v as u32)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u32, E> {
        if !self.text {
            return Err(E::invalid_type(de::Unexpected::Str(v), &self));
        }
        if let Ok(n) = v.parse::<u64>() {
            return self.visit_u64(n);
        }
        match v.parse::<f64>() {
            Ok(f) if f.is_finite() => self.visit_f64(f),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
}

struct OptWhole {
    text: bool,
}

impl<'de> de::Visitor<'de> for OptWhole {
    type Value = Option<u32>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a whole number between 0 and {}, or null", u32::MAX)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<u32>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<u32>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<u32>, D::Error> {
        d.deserialize_any(Whole { text: self.text }).map(Some)
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct T {
        #[serde(deserialize_with = "super::u32")]
        n: u32,
        #[serde(default, deserialize_with = "super::opt_u32")]
        o: Option<u32>,
    }

    fn n(json: &str) -> Option<(u32, Option<u32>)> {
        serde_json::from_str::<T>(json).ok().map(|t| (t.n, t.o))
    }

    #[test]
    fn whole_numbers_in_any_spelling() {
        assert_eq!(n(r#"{"n": 4}"#), Some((4, None)));
        assert_eq!(n(r#"{"n": 4.0, "o": 1e1}"#), Some((4, Some(10))));
        assert_eq!(n(r#"{"n": 0, "o": null}"#), Some((0, None)));
        assert_eq!(n(r#"{"n": 4294967295}"#), Some((u32::MAX, None)));
    }

    #[test]
    fn fractions_negatives_and_overflow_are_refused() {
        for bad in [
            r#"{"n": 4.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": -1.0}"#,
            r#"{"n": 4294967296}"#,
            r#"{"n": "4"}"#,
        ] {
            assert!(n(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn query_strings() {
        #[derive(Debug, serde::Deserialize)]
        struct Q {
            #[serde(default, deserialize_with = "super::query_u32")]
            limit: Option<u32>,
        }
        let q = |s: &str| serde_urlencoded::from_str::<Q>(s).ok().map(|q| q.limit);
        assert_eq!(q("limit=4"), Some(Some(4)));
        assert_eq!(q("limit=4.0"), Some(Some(4)));
        assert_eq!(q(""), Some(None));
        assert_eq!(q("limit=x"), None);
        assert_eq!(q("limit=-2"), None);
    }
}
