//! End-to-end: the example provider driven by the real `terraform` CLI, with AutoMTLS on.
//!
//! Steps: apply → no-op plan (`-detailed-exitcode` = 0) → in-place update → replacement (`requires_replace`)
//! → `import` block → validation error with the attribute's config line → out-of-band delete shows as a create →
//! destroy. The provider log proves the TLS session was established with terraform's pinned client certificate.
//!
//! The example binary is built by running `cargo build --example` from the test (a no-op when `cargo test`
//! already built it) and located through cargo's JSON messages, so it works from a fresh clone with any target
//! dir. Needs `terraform` (>= 1.5 for `import` blocks) on PATH; without it the test is skipped with a message,
//! unless `TFPLUGIN_REQUIRE_TERRAFORM=1` (CI) makes that a failure.

#![allow(clippy::unwrap_used, reason = "test support code: a panic is a test failure")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXAMPLE: &str = "terraform-provider-tfpluginexample";
const SOURCE: &str = "example.local/tfplugin/tfpluginexample";

/// Builds the example provider with the same profile as this test and returns its path.
fn build_example() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
    let release =
        std::env::current_exe().is_ok_and(|exe| exe.components().any(|c| c.as_os_str() == "release"));
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "tfplugin",
        "--example",
        EXAMPLE,
        "--message-format=json",
    ]);
    if release {
        cmd.arg("--release");
    }
    let output = cmd.output().expect("run cargo");
    assert!(
        output.status.success(),
        "cargo build failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == EXAMPLE)
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported no executable for the example")
}

struct Workspace {
    root: PathBuf,
    items: PathBuf,
}

impl Workspace {
    fn new(provider: &Path) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let root = std::env::temp_dir().join(format!("tfplugin-e2e-{}-{nanos}", std::process::id()));
        let bin = root.join("bin");
        let items = root.join("items");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(root.join("work")).unwrap();
        // dev_overrides runs `<dir>/terraform-provider-<type>`: give it a directory holding only that file.
        std::fs::copy(provider, bin.join(EXAMPLE)).unwrap();
        let tfrc = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            bin.display()
        );
        std::fs::write(root.join("dev.tfrc"), tfrc).unwrap();
        Self { root, items }
    }

    fn config(&self, body: &str) {
        let header = format!(
            "terraform {{\n  required_providers {{\n    tfpluginexample = {{ source = \"{SOURCE}\" }}\n  }}\n}}\n\
             provider \"tfpluginexample\" {{\n  directory = \"{}\"\n}}\n",
            self.items.display()
        );
        std::fs::write(self.root.join("work/main.tf"), format!("{header}{body}")).unwrap();
    }

    fn terraform(&self, args: &[&str]) -> Output {
        Command::new("terraform")
            .args(args)
            .arg("-no-color")
            .current_dir(self.root.join("work"))
            .env("TF_CLI_CONFIG_FILE", self.root.join("dev.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_DISABLE_PLUGIN_TLS")
            .env_remove("TF_LOG")
            .env("TF_LOG_PROVIDER", "debug")
            .env("TF_LOG_PATH", self.root.join("terraform.log"))
            .env("PLUGIN_LOG_FILE", self.root.join("provider.log"))
            .output()
            .expect("run terraform")
    }

    /// Runs terraform, asserts the exit code, returns stdout + stderr.
    fn run(&self, args: &[&str], expected_code: i32) -> String {
        let output = self.terraform(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            output.status.code(),
            Some(expected_code),
            "terraform {args:?}:\n{text}"
        );
        text
    }

    fn item_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(&self.items)
            .map(|dir| dir.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn terraform_available() -> bool {
    Command::new("terraform")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

const ITEM_A: &str = r#"
resource "tfpluginexample_item" "a" {
  name  = "NAME"
  KIND
  tags  = ["x", "y"]
  steps = [
    { notify = "user", user = "U1" },
    { notify = "here" },
  ]
}
data "tfpluginexample_item" "a" {
  id = tfpluginexample_item.a.id
}
output "looked_up" {
  value = data.tfpluginexample_item.a.name
}
"#;

fn item_a(name: &str, kind: Option<&str>) -> String {
    let kind = kind.map(|k| format!("kind  = \"{k}\"")).unwrap_or_default();
    ITEM_A.replace("NAME", name).replace("KIND", &kind)
}

#[test]
fn terraform_lifecycle_with_mtls() {
    if !terraform_available() {
        assert!(
            std::env::var_os("TFPLUGIN_REQUIRE_TERRAFORM").is_none(),
            "terraform is required but not on PATH"
        );
        eprintln!("SKIPPED: terraform not on PATH");
        return;
    }
    let ws = Workspace::new(&build_example());

    // Create.
    ws.config(&item_a("alpha", None));
    let out = ws.run(&["apply", "-auto-approve"], 0);
    assert!(out.contains("Apply complete! Resources: 1 added"), "{out}");
    assert!(out.contains(r#"looked_up = "alpha""#), "{out}");
    assert_eq!(ws.item_files().len(), 1);
    let log = std::fs::read_to_string(ws.root.join("provider.log")).unwrap();
    assert!(
        log.contains("TLS established with the pinned client certificate"),
        "no mTLS in provider log:\n{log}"
    );

    // Quiet plan after apply.
    ws.run(&["plan", "-detailed-exitcode"], 0);

    // In-place update keeps the id (same file).
    let file = ws.item_files();
    ws.config(&item_a("beta", None));
    let out = ws.run(&["plan", "-detailed-exitcode"], 2);
    assert!(
        out.contains("updated in-place") && out.contains("1 to change"),
        "{out}"
    );
    let out = ws.run(&["apply", "-auto-approve"], 0);
    assert!(out.contains("0 added, 1 changed, 0 destroyed"), "{out}");
    assert_eq!(ws.item_files(), file);
    ws.run(&["plan", "-detailed-exitcode"], 0);

    // A requires_replace attribute forces replacement.
    ws.config(&item_a("beta", Some("special")));
    let out = ws.run(&["apply", "-auto-approve"], 0);
    assert!(out.contains("forces replacement"), "{out}");
    assert!(out.contains("1 added, 0 changed, 1 destroyed"), "{out}");
    assert_ne!(ws.item_files(), file);

    // Import an item created outside terraform.
    std::fs::write(
        ws.items.join("item-imported.json"),
        r#"{"name":"imp","kind":null,"description":"managed by terraform","tags":null,"steps":null}"#,
    )
    .unwrap();
    let imported = "\nimport {\n  to = tfpluginexample_item.b\n  id = \"item-imported\"\n}\n\
                    resource \"tfpluginexample_item\" \"b\" {\n  name = \"imp\"\n}\n";
    ws.config(&format!("{}{imported}", item_a("beta", Some("special"))));
    let out = ws.run(&["apply", "-auto-approve"], 0);
    assert!(
        out.contains("1 imported, 0 added, 0 changed, 0 destroyed"),
        "{out}"
    );
    ws.run(&["plan", "-detailed-exitcode"], 0);

    // Validation error points at the attribute's line.
    let bad = "\nresource \"tfpluginexample_item\" \"bad\" {\n  name = \"bad\"\n  steps = [\n    {\n      \
               notify = \"bogus\"\n    },\n  ]\n}\n";
    ws.config(&format!("{}{imported}{bad}", item_a("beta", Some("special"))));
    let out = ws.run(&["plan"], 1);
    assert!(out.contains("Error: Invalid notify"), "{out}");
    assert!(out.contains("with tfpluginexample_item.bad"), "{out}");
    assert!(
        out.contains(r#"notify = "bogus""#),
        "the diagnostic should show the attribute's line:\n{out}"
    );
    assert!(out.contains(r#""bogus" is not one of"#), "{out}");

    // Deleted outside terraform: read reports it gone, the plan re-creates it.
    ws.config(&format!("{}{imported}", item_a("beta", Some("special"))));
    std::fs::remove_file(ws.items.join("item-imported.json")).unwrap();
    let out = ws.run(&["plan", "-detailed-exitcode"], 2);
    assert!(out.contains("tfpluginexample_item.b will be created"), "{out}");

    // Destroy everything.
    let out = ws.run(&["destroy", "-auto-approve"], 0);
    assert!(out.contains("Destroy complete! Resources: 1 destroyed"), "{out}");
    assert!(ws.item_files().is_empty(), "{:?}", ws.item_files());
}
