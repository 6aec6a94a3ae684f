//! The real `terraform` binary against the workspace's provider, in a temporary working directory.
//!
//! Terraform finds the provider through a CLI configuration with `dev_overrides` pointing at the debug build
//! (no `terraform init` needed), or through a filesystem mirror with `terraform init` ([`Terraform::with_mirror`]).

use std::{
    path::PathBuf,
    process::{Command, Output},
};

use crate::{TempDir, binary};

/// The provider's source address as written in `required_providers`.
pub const SOURCE: &str = "klaxon/klaxon";

/// A terraform working directory wired to a Klaxon server.
#[derive(Debug)]
pub struct Terraform {
    dir: TempDir,
    env: Vec<(String, String)>,
}

/// The provider binary (debug build).
pub fn provider_binary() -> PathBuf {
    binary("terraform-provider-klaxon", "terraform-provider-klaxon")
}

impl Terraform {
    /// A working directory using the provider through `dev_overrides`, talking to `endpoint` with `token`.
    pub fn new(endpoint: &str, token: &str) -> Self {
        let dir = TempDir::new("tf");
        let provider_dir = provider_binary()
            .parent()
            .expect("binary has a directory")
            .to_owned();
        let rc = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"{SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir.display()
        );
        Self::with_rc(dir, &rc, endpoint, token)
    }

    /// A working directory installing the provider from a filesystem mirror (needs `terraform init`).
    pub fn with_mirror(endpoint: &str, token: &str, version: &str) -> Self {
        let dir = TempDir::new("tfmirror");
        let platform = format!("{}_{}", std::env::consts::OS, go_arch());
        let target = dir
            .path()
            .join("mirror/registry.terraform.io/klaxon/klaxon")
            .join(version)
            .join(platform)
            .join(format!("terraform-provider-klaxon_v{version}"));
        std::fs::create_dir_all(target.parent().expect("has parent")).expect("create mirror");
        std::fs::copy(provider_binary(), &target).expect("copy provider into the mirror");
        let rc = format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n    include = [\"registry.terraform.io/klaxon/*\"]\n  }}\n}}\n",
            dir.path().join("mirror").display()
        );
        Self::with_rc(dir, &rc, endpoint, token)
    }

    fn with_rc(dir: TempDir, rc: &str, endpoint: &str, token: &str) -> Self {
        let rc_path = dir.path().join("cli.tfrc");
        std::fs::write(&rc_path, rc).expect("write CLI config");
        std::fs::create_dir_all(dir.path().join("work")).expect("create work dir");
        let env = vec![
            ("TF_CLI_CONFIG_FILE".into(), rc_path.display().to_string()),
            ("TF_IN_AUTOMATION".into(), "1".into()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            ("TF_INPUT".into(), "0".into()),
            ("KLAXON_ENDPOINT".into(), endpoint.to_owned()),
            ("KLAXON_TOKEN".into(), token.to_owned()),
        ];
        Self { dir, env }
    }

    /// The working directory holding the configuration and state.
    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// Adds an environment variable for every command.
    pub fn env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// Replaces `main.tf`.
    pub fn write(&self, config: &str) {
        std::fs::write(self.work().join("main.tf"), config).expect("write main.tf");
    }

    /// Writes another file of the configuration.
    pub fn write_file(&self, name: &str, content: &str) {
        std::fs::write(self.work().join(name), content).expect("write config file");
    }

    /// Removes a file of the configuration (or the state).
    pub fn remove(&self, name: &str) {
        let _ = std::fs::remove_file(self.work().join(name));
    }

    /// Runs terraform with arguments in the working directory.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("terraform")
            .args(args)
            .current_dir(self.work())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run terraform (is it installed?)")
    }

    /// Runs terraform and fails the test unless it succeeds; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "terraform {args:?} failed:\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `apply -auto-approve`.
    pub fn apply(&self) -> String {
        self.ok(&["apply", "-auto-approve", "-no-color"])
    }

    /// `plan -detailed-exitcode`: `(0, output)` = no changes, `(2, output)` = changes; fails on errors.
    pub fn plan(&self) -> (i32, String) {
        let out = self.run(&["plan", "-detailed-exitcode", "-no-color"]);
        let code = out.status.code().unwrap_or(-1);
        assert!(code == 0 || code == 2, "terraform plan failed:\n{}", text(&out));
        (code, String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Asserts a plan with no changes.
    pub fn assert_quiet(&self) {
        let (code, out) = self.plan();
        assert_eq!(code, 0, "expected no changes, got:\n{out}");
    }

    /// `terraform output -raw NAME`.
    pub fn output(&self, name: &str) -> String {
        self.ok(&["output", "-raw", name])
    }

    /// The path of a file in the working directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.work().join(name)
    }
}

/// Stdout and stderr of a command, for messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}
