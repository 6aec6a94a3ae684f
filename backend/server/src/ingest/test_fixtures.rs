//! Test access to the fixtures copied into `backend/server/tests/fixtures` (from `shared/fixtures`, data written
//! by others: real payloads and real AWS signatures), and a check that the copies have not drifted.

use std::path::{Path, PathBuf};

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

/// The fixture folder inside the repo.
pub(crate) fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fixture's text, by path under the fixture folder.
pub(crate) fn fixture(rel: &str) -> String {
    let path = dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture parsed as JSON.
pub(crate) fn fixture_json(rel: &str) -> Value {
    serde_json::from_str(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// File names in a fixture sub-folder ending with `suffix`, sorted.
pub(crate) fn fixture_names(sub: &str, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir().join(sub))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    names
}

/// The headers of a `*.headers.txt` capture (request line skipped).
pub(crate) fn fixture_headers(rel: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in fixture(rel).lines().skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(
                HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                HeaderValue::from_str(value.trim()).unwrap(),
            );
        }
    }
    headers
}

#[test]
fn copies_match_shared_fixtures_when_present() {
    // CI has shared/ beside the clone; elsewhere only the copies exist and this has nothing to compare.
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    if !shared.is_dir() {
        return;
    }
    for sub in ["payloads", "sns-signed-real", "sns-signed-test"] {
        for name in fixture_names(sub, "") {
            let ours = std::fs::read(dir().join(sub).join(&name)).unwrap();
            let theirs = std::fs::read(shared.join(sub).join(&name)).unwrap();
            assert!(
                ours == theirs,
                "tests/fixtures/{sub}/{name} differs from shared/fixtures"
            );
        }
    }
}
