//! From API errors and validation rules to diagnostics at attribute paths, so `terraform plan` points at the
//! line in the configuration.

use klaxon_api::{ClientError, validate::FieldError};
use tfplugin::{AttributePath, ValidateContext};

/// The attribute path of a field path of the API (`steps[1].user`). Set elements have no index in
/// terraform's paths, so an error inside a set points at the set itself.
pub(crate) fn path_of(field: &str, sets: &[&str]) -> AttributePath {
    let mut path = AttributePath::empty();
    for part in field.split('.') {
        let (name, indexes) = part.split_once('[').map_or((part, ""), |(n, rest)| (n, rest));
        path = if path.is_empty() {
            AttributePath::root(name)
        } else {
            path.attr(name)
        };
        if sets.contains(&name) {
            return path;
        }
        for idx in indexes.split('[').filter(|s| !s.is_empty()) {
            if let Ok(i) = idx.trim_end_matches(']').parse::<usize>() {
                path = path.index(i);
            }
        }
    }
    path
}

/// Reports validation errors at their attributes.
pub(crate) fn report(ctx: &mut ValidateContext, errors: Vec<FieldError>, sets: &[&str]) {
    for e in errors {
        let summary = format!(
            "Invalid value for {}",
            e.field.split('[').next().unwrap_or(&e.field)
        );
        ctx.error_at(path_of(&e.field, sets), summary, e.message);
    }
}

/// The detail of an API error; a field-level error also names the attribute.
pub(crate) fn detail(err: &ClientError) -> String {
    match err {
        ClientError::Api { status: 401, .. } => {
            format!(
                "{err}. Check the provider's `token` (or KLAXON_TOKEN): it must be an API token of the account."
            )
        }
        _ => err.to_string(),
    }
}

/// The attribute an API error is about, when it names a field.
pub(crate) fn field_path(err: &ClientError, sets: &[&str]) -> Option<AttributePath> {
    match err {
        ClientError::Api { field: Some(f), .. } => Some(path_of(f, sets)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_become_attribute_paths() {
        assert_eq!(
            path_of("steps[1].user", &[]),
            AttributePath::root("steps").index(1).attr("user")
        );
        assert_eq!(path_of("name", &[]), AttributePath::root("name"));
        assert_eq!(
            path_of("allowed_topic_arns[3]", &["allowed_topic_arns"]),
            AttributePath::root("allowed_topic_arns")
        );
    }
}
