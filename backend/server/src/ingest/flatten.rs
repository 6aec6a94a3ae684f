//! Flattening of nested JSON into `a.b.c` keys: the shape of [`Event::fields`](crate::event::Event), so every
//! format shows its details the same way (array items are numbered: `items.0.name`).

use std::collections::BTreeMap;

use serde_json::Value;

/// At most this many fields are kept: a huge payload must not become a huge alert (or a slow Slack message).
pub const MAX_FIELDS: usize = 200;

/// Titles are one line of at most this many characters (see [`one_line`]), whatever the sender wrote.
pub const MAX_TITLE_CHARS: usize = 150;

/// The key used when the JSON is a bare value rather than an object.
pub const ROOT_KEY: &str = "value";

/// Flattens `value` into `a.b.c` keys. Nulls are left out (they tell nothing); strings are kept as they are,
/// numbers and booleans in their JSON spelling; empty objects and arrays vanish.
pub fn flatten(value: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match value {
        Value::Object(_) | Value::Array(_) => walk(value, &mut String::new(), &mut out),
        _ => walk(value, &mut ROOT_KEY.to_owned(), &mut out),
    }
    out
}

fn walk(value: &Value, prefix: &mut String, out: &mut BTreeMap<String, String>) {
    if out.len() >= MAX_FIELDS {
        return;
    }
    let children: Box<dyn Iterator<Item = (String, &Value)>> = match value {
        Value::Null => return,
        Value::String(s) => {
            out.insert(prefix.clone(), s.clone());
            return;
        }
        Value::Bool(_) | Value::Number(_) => {
            out.insert(prefix.clone(), value.to_string());
            return;
        }
        Value::Object(map) => Box::new(map.iter().map(|(k, v)| (k.clone(), v))),
        Value::Array(items) => Box::new(items.iter().enumerate().map(|(i, v)| (i.to_string(), v))),
    };
    for (key, child) in children {
        let len = prefix.len();
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(&key);
        walk(child, prefix, out);
        prefix.truncate(len);
    }
}

/// Keeps the first [`MAX_FIELDS`] fields in key order: the bound [`flatten`] keeps, for fields that do not come
/// through it (form bodies, query strings, SNS message attributes), so no sender can make a huge alert.
pub fn cap_fields(fields: &mut BTreeMap<String, String>) {
    if let Some(first_dropped) = fields.keys().nth(MAX_FIELDS).cloned() {
        fields.split_off(&first_dropped);
    }
}

/// The first non-empty value among `keys`, trimmed.
pub fn first<'a>(fields: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .filter_map(|k| fields.get(*k))
        .map(|v| v.trim())
        .find(|v| !v.is_empty())
}

/// `text` cut to at most `max` characters (on a character boundary), with `…` when cut: titles are one line.
pub fn one_line(text: &str, max: usize) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.chars().count() <= max {
        return line.to_owned();
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_objects_and_arrays_become_dotted_keys() {
        let fields = flatten(&json!({
            "a": {"b": {"c": "deep"}, "n": 1.5, "t": true, "gone": null},
            "list": [{"name": "x"}, "y"],
            "empty": {}
        }));
        let expected: BTreeMap<String, String> = [
            ("a.b.c", "deep"),
            ("a.n", "1.5"),
            ("a.t", "true"),
            ("list.0.name", "x"),
            ("list.1", "y"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(fields, expected);
    }

    #[test]
    fn a_bare_value_gets_the_root_key_and_size_is_capped() {
        assert_eq!(
            flatten(&json!("hi")).get(ROOT_KEY).map(String::as_str),
            Some("hi")
        );
        let many: Vec<u32> = (0..1000).collect();
        assert_eq!(flatten(&json!({ "n": many })).len(), MAX_FIELDS);
        let mut form: BTreeMap<String, String> =
            (0..1000).map(|i| (format!("f{i:04}"), String::new())).collect();
        cap_fields(&mut form);
        assert_eq!(form.len(), MAX_FIELDS);
        assert_eq!(form.keys().next_back().map(String::as_str), Some("f0199"));
    }

    #[test]
    fn one_line_takes_the_first_line_and_cuts_on_characters() {
        assert_eq!(one_line("\n  first \nsecond", 80), "first");
        assert_eq!(one_line("ééééé", 3), "éé…");
        let fields = flatten(&json!({"a": " ", "b": " x "}));
        assert_eq!(first(&fields, &["a", "b"]), Some("x"));
    }
}
