//! The release configuration, checked without goreleaser (it cannot be installed here): `.goreleaser.yml`
//! must produce what the Terraform Registry accepts, and `terraform-registry-manifest.json` must declare
//! protocol 6.0.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::collections::BTreeSet;

use klaxon_tests::workspace_root;
use serde_norway::Value;

fn goreleaser() -> Value {
    let text = std::fs::read_to_string(workspace_root().join(".goreleaser.yml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{key} is missing or not a string in {v:?}"))
}

fn seq_at<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_sequence)
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("{key} is missing or not a list in {v:?}"))
}

fn strings(values: &[Value]) -> Vec<&str> {
    values.iter().map(|v| v.as_str().unwrap()).collect()
}

#[test]
fn goreleaser_builds_every_registry_platform_with_the_rust_builder() {
    let config = goreleaser();
    assert_eq!(config.get("version").and_then(Value::as_u64), Some(2));
    let builds = seq_at(&config, "builds");
    assert_eq!(builds.len(), 1, "one build: the provider");
    let build = &builds[0];
    assert_eq!(str_at(build, "builder"), "rust");
    assert_eq!(
        str_at(build, "binary"),
        "terraform-provider-klaxon_v{{ .Version }}"
    );
    let flags = strings(seq_at(build, "flags"));
    assert!(flags.contains(&"--release"), "{flags:?}");
    assert!(
        flags.iter().any(|f| f.contains("terraform-provider-klaxon")),
        "builds the provider binary: {flags:?}"
    );

    // (os, arch) as goreleaser names them, from Rust target triples.
    let platforms: BTreeSet<(&str, &str)> = strings(seq_at(build, "targets"))
        .into_iter()
        .map(|t| {
            let arch = match t.split('-').next().unwrap() {
                "x86_64" => "amd64",
                "aarch64" => "arm64",
                _ => panic!("unexpected architecture in {t}"),
            };
            let os = if t.contains("-linux-") {
                "linux"
            } else if t.contains("-apple-darwin") {
                "darwin"
            } else if t.contains("-windows-") {
                "windows"
            } else {
                panic!("unexpected OS in {t}")
            };
            (os, arch)
        })
        .collect();
    let expected: BTreeSet<(&str, &str)> = ["linux", "darwin", "windows"]
        .into_iter()
        .flat_map(|os| [(os, "amd64"), (os, "arm64")])
        .collect();
    assert_eq!(platforms, expected);
}

#[test]
fn goreleaser_archives_checksums_signature_and_manifest_have_registry_names() {
    let config = goreleaser();

    let archives = seq_at(&config, "archives");
    assert_eq!(archives.len(), 1);
    assert_eq!(strings(seq_at(&archives[0], "formats")), ["zip"]);
    assert_eq!(
        str_at(&archives[0], "name_template"),
        "terraform-provider-klaxon_{{ .Version }}_{{ .Os }}_{{ .Arch }}",
        "goreleaser appends .zip"
    );

    let checksum = config.get("checksum").unwrap();
    assert_eq!(
        str_at(checksum, "name_template"),
        "terraform-provider-klaxon_{{ .Version }}_SHA256SUMS"
    );
    assert_eq!(str_at(checksum, "algorithm"), "sha256");

    let signs = seq_at(&config, "signs");
    assert_eq!(signs.len(), 1);
    let sign = &signs[0];
    assert_eq!(str_at(sign, "artifacts"), "checksum");
    let args = strings(seq_at(sign, "args"));
    assert!(args.contains(&"--batch"), "{args:?}");
    assert!(args.contains(&"--detach-sign"), "{args:?}");
    let user = args
        .iter()
        .position(|a| *a == "--local-user")
        .expect("--local-user");
    assert_eq!(args[user + 1], "{{ .Env.GPG_FINGERPRINT }}");
    let output = args.iter().position(|a| *a == "--output").expect("--output");
    assert_eq!(args[output + 1], "${signature}");
    assert_eq!(*args.last().unwrap(), "${artifact}");

    let release_files = seq_at(config.get("release").unwrap(), "extra_files");
    let manifest = release_files
        .iter()
        .find(|f| str_at(f, "glob") == "terraform-registry-manifest.json")
        .expect("the registry manifest is a release asset");
    assert_eq!(
        str_at(manifest, "name_template"),
        "terraform-provider-klaxon_{{ .Version }}_manifest.json"
    );
}

#[test]
fn registry_manifest_declares_protocol_6() {
    let text = std::fs::read_to_string(workspace_root().join("terraform-registry-manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(manifest["version"], 1);
    assert_eq!(
        manifest["metadata"]["protocol_versions"],
        serde_json::json!(["6.0"])
    );
}
