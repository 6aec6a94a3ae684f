//! The provider's docs and examples stay true: `docs/` is what the generator makes from the schemas and
//! `examples/` (run it to fix a failure), and every example is formatted and valid against the provider's real
//! schema (`terraform validate` through `dev_overrides`, no `terraform init`).

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use klaxon_tests::{
    TempDir, binary,
    terraform::{SOURCE, provider_binary, text},
    workspace_root,
};

#[test]
fn committed_docs_match_the_generator() {
    let out = Command::new(binary("terraform-provider-klaxon", "klaxon-provider-docs"))
        .args(["--check", "--root"])
        .arg(workspace_root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docs/ is stale (regenerate with `cargo run -p terraform-provider-klaxon --bin klaxon-provider-docs`):\n{}",
        text(&out)
    );
}

#[test]
fn examples_are_formatted() {
    let out = terraform(&workspace_root().join("examples"), None)
        .args(["fmt", "-check", "-recursive", "-diff", "-no-color", "."])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "run `terraform fmt -recursive examples`:\n{}",
        text(&out)
    );
}

#[test]
fn every_example_validates_against_the_provider_schema() {
    let provider_dir = provider_binary().parent().unwrap().to_owned();
    let scratch = TempDir::new("examples");
    let rc = scratch.path().join("cli.tfrc");
    std::fs::write(
        &rc,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir.display()
        ),
    )
    .unwrap();

    let examples = example_dirs(&workspace_root().join("examples"));
    assert!(
        examples.len() >= 8,
        "expected the registry layout under examples/, found {examples:?}"
    );
    let mut failures = Vec::new();
    for (i, dir) in examples.iter().enumerate() {
        let name = dir.strip_prefix(workspace_root()).unwrap().display().to_string();
        // A copy, so validate never leaves files in the repository.
        let work = scratch.path().join(format!("ex{i}"));
        copy_dir(dir, &work);
        // Registry examples of a resource or data source show only their blocks; terraform still needs the
        // provider's source address to pick the dev override instead of hashicorp/klaxon.
        if !tf_files(&work)
            .iter()
            .any(|f| std::fs::read_to_string(f).unwrap().contains("required_providers"))
        {
            std::fs::write(
                work.join("zz_required_providers.tf"),
                format!("terraform {{\n  required_providers {{\n    klaxon = {{ source = \"{SOURCE}\" }}\n  }}\n}}\n"),
            )
            .unwrap();
        }
        let out = terraform(&work, Some(&rc))
            .args(["validate", "-no-color"])
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(format!("{name}:\n{}", text(&out)));
        }
    }
    assert!(
        failures.is_empty(),
        "examples failing `terraform validate`:\n{}",
        failures.join("\n")
    );
}

/// A terraform command in `dir`, with no user CLI configuration leaking in.
fn terraform(dir: &Path, rc: Option<&Path>) -> Command {
    let mut cmd = Command::new("terraform");
    cmd.current_dir(dir)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_INPUT", "0");
    match rc {
        Some(rc) => cmd.env("TF_CLI_CONFIG_FILE", rc),
        None => cmd.env("TF_CLI_CONFIG_FILE", "/dev/null"),
    };
    cmd
}

/// Every directory under `root` that holds `.tf` files, sorted.
fn example_dirs(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        if !tf_files(&dir).is_empty() {
            found.push(dir.clone());
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != ".terraform") {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

fn tf_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "tf"))
        .collect()
}

/// Copies the files of one example directory (examples are flat).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}
