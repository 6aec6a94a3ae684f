//! `klaxon-provider-docs`: writes the provider's registry docs (`docs/index.md`, `docs/resources/*.md`,
//! `docs/data-sources/*.md`) from the schemas in this crate and the examples in `examples/`.
//!
//! The schemas' descriptions are the documentation; this only lays them out the way the Terraform Registry (and
//! tfplugindocs) does, so a new resource needs nothing here: register it in `resources::all()` (or
//! `data_sources::all()`) and add `examples/resources/<type>/resource.tf` and `import.sh` (or
//! `examples/data-sources/<type>/data-source.tf`).
//!
//! ```text
//! cargo run -p terraform-provider-klaxon --bin klaxon-provider-docs            # rewrite docs/
//! cargo run -p terraform-provider-klaxon --bin klaxon-provider-docs -- --check # fail if docs/ is stale
//! ```
//!
//! Only `docs/index.md`, `docs/resources/` and `docs/data-sources/` are generated; other files in `docs/`
//! (operator guides, the OpenAPI document) are left alone.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    process::ExitCode,
};

use terraform_provider_klaxon::{KlaxonProvider, data_sources, resources};
use tfplugin::{Attribute, AttributeKind, Block, Mode, NestedBlock, Nesting, Provider, Schema, Type};

/// The provider's local name: the prefix of every type name.
const PROVIDER: &str = "klaxon";

/// The command that regenerates the docs, quoted in `--check` failures.
const REGENERATE: &str = "cargo run -p terraform-provider-klaxon --bin klaxon-provider-docs";

/// Directories of `docs/` whose files are all generated (stale extra files there are removed / reported).
const GENERATED_DIRS: [&str; 2] = ["resources", "data-sources"];

fn main() -> ExitCode {
    let mut check = false;
    let mut root = workspace_root();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--root" => match args.next() {
                Some(dir) => root = PathBuf::from(dir),
                None => return usage("--root needs a directory"),
            },
            "-h" | "--help" => {
                eprintln!(
                    "usage: klaxon-provider-docs [--check] [--root WORKSPACE]\n\n\
                     Writes docs/index.md, docs/resources/ and docs/data-sources/ from the provider's schemas and \
                     examples/.\n--check compares with the files on disk instead and fails when any differ."
                );
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    match run(&root, check) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("klaxon-provider-docs: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("klaxon-provider-docs: {problem}\nusage: klaxon-provider-docs [--check] [--root WORKSPACE]");
    ExitCode::from(2)
}

/// The workspace this binary was built from (`provider/klaxon/../..`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(root: &Path, check: bool) -> Result<ExitCode, String> {
    let examples = root.join("examples");
    let docs_dir = root.join("docs");
    let pages = generate(&examples)?;

    for note in orphan_examples(&examples)? {
        eprintln!("note: {note}");
    }

    let mut stale = Vec::new();
    for (rel, content) in &pages {
        let path = docs_dir.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(on_disk) if on_disk == *content => {}
            Ok(_) => stale.push(format!("docs/{rel} (differs)")),
            Err(_) => stale.push(format!("docs/{rel} (missing)")),
        }
    }
    let extra = extra_files(&docs_dir, &pages)?;
    stale.extend(
        extra
            .iter()
            .map(|rel| format!("docs/{rel} (not generated: no such resource or data source)")),
    );

    if check {
        if stale.is_empty() {
            eprintln!("docs/ is up to date ({} pages).", pages.len());
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("docs/ is stale; run `{REGENERATE}` and commit the result:");
        for s in &stale {
            eprintln!("  {s}");
        }
        return Ok(ExitCode::FAILURE);
    }

    for (rel, content) in &pages {
        let path = docs_dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(content.as_str()) {
            std::fs::write(&path, content).map_err(|e| format!("writing {}: {e}", path.display()))?;
        }
    }
    for rel in &extra {
        let path = docs_dir.join(rel);
        std::fs::remove_file(&path).map_err(|e| format!("removing {}: {e}", path.display()))?;
    }
    if stale.is_empty() {
        eprintln!("docs/ was already up to date ({} pages).", pages.len());
    } else {
        eprintln!("Updated docs/:");
        for s in &stale {
            eprintln!("  {s}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every generated page, by path relative to `docs/`.
fn generate(examples: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut pages = BTreeMap::new();
    pages.insert(
        "index.md".to_owned(),
        index_page(&KlaxonProvider.schema(), examples)?,
    );
    for r in resources::all() {
        let dir = examples.join("resources").join(r.type_name());
        let usage = read_example(&dir.join("resource.tf"), r.type_name())?;
        let import = read_optional(&dir.join("import.sh"))?;
        let page = kind_page(r.type_name(), "Resource", r.schema(), &usage, import.as_deref());
        pages.insert(format!("resources/{}.md", short_name(r.type_name())), page);
    }
    for d in data_sources::all() {
        let dir = examples.join("data-sources").join(d.type_name());
        let usage = read_example(&dir.join("data-source.tf"), d.type_name())?;
        let page = kind_page(d.type_name(), "Data Source", d.schema(), &usage, None);
        pages.insert(format!("data-sources/{}.md", short_name(d.type_name())), page);
    }
    Ok(pages)
}

/// Example directories whose type the provider does not have (yet): reported, not fatal, so an example can land
/// before its resource.
fn orphan_examples(examples: &Path) -> Result<Vec<String>, String> {
    let resource_types: Vec<String> = resources::all()
        .iter()
        .map(|r| r.type_name().to_owned())
        .collect();
    let data_types: Vec<String> = data_sources::all()
        .iter()
        .map(|d| d.type_name().to_owned())
        .collect();
    let mut notes = Vec::new();
    for (sub, known) in [("resources", &resource_types), ("data-sources", &data_types)] {
        for name in dir_names(&examples.join(sub))? {
            if !known.contains(&name) {
                notes.push(format!(
                    "examples/{sub}/{name} has no {} in the provider; no page is generated for it",
                    if sub == "resources" {
                        "resource"
                    } else {
                        "data source"
                    }
                ));
            }
        }
    }
    Ok(notes)
}

/// Files in the generated directories of `docs/` that the generator did not produce.
fn extra_files(docs_dir: &Path, pages: &BTreeMap<String, String>) -> Result<Vec<String>, String> {
    let mut extra = Vec::new();
    for sub in GENERATED_DIRS {
        for name in dir_names(&docs_dir.join(sub))? {
            let rel = format!("{sub}/{name}");
            if !pages.contains_key(&rel) {
                extra.push(rel);
            }
        }
    }
    Ok(extra)
}

/// Sorted entry names of a directory; empty when it does not exist.
fn dir_names(dir: &Path) -> Result<Vec<String>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("reading {}: {e}", dir.display())),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

fn read_example(path: &Path, type_name: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{type_name} needs an example at {} (every registry page shows one): {e}",
            path.display()
        )
    })
}

fn read_optional(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("reading {}: {e}", path.display())),
    }
}

/// `klaxon_team` -> `team` (the registry's file name for a type's page).
fn short_name(type_name: &str) -> &str {
    type_name
        .strip_prefix(&format!("{PROVIDER}_"))
        .unwrap_or(type_name)
}

/// The YAML front matter the registry reads (page title and summary).
fn front_matter(out: &mut String, title: &str, description: &str) {
    let _ = writeln!(
        out,
        "---\npage_title: \"{title}\"\nsubcategory: \"\"\ndescription: |-"
    );
    for line in description.lines() {
        // A blank line between paragraphs stays blank: indenting it would only leave trailing spaces.
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "  {line}");
        }
    }
    out.push_str("---\n\n");
}

fn code_block(out: &mut String, lang: &str, code: &str) {
    let _ = write!(out, "```{lang}\n{}\n```\n", code.trim_end());
}

/// A resource's or data source's page: description, example, schema, import.
fn kind_page(type_name: &str, kind: &str, schema: &Schema, usage: &str, import: Option<&str>) -> String {
    let mut out = String::new();
    let description = schema.block.description.trim();
    front_matter(&mut out, &format!("{type_name} {kind} - {PROVIDER}"), description);
    let _ = writeln!(
        out,
        "# {type_name} ({kind})\n\n{description}\n\n## Example Usage\n"
    );
    code_block(&mut out, "terraform", usage);
    out.push_str("\n## Schema\n");
    schema_sections(&mut out, &schema.block);
    if let Some(import) = import {
        out.push_str("\n## Import\n\nImport is supported using the following syntax:\n\n");
        code_block(&mut out, "shell", import);
    }
    out
}

/// The provider's page: what it is, a start-to-finish local guide, the provider block's example and schema.
fn index_page(schema: &Schema, examples: &Path) -> Result<String, String> {
    let provider_tf = read_example(&examples.join("provider/provider.tf"), "the provider")?;
    let mut out = String::new();
    let summary = "The Klaxon provider manages Klaxon's teams, escalation policies and ingest endpoints through \
                   the Klaxon management API, and on the AWS side the SNS subscriptions of endpoints and Klaxon's \
                   CloudWatch dashboard.";
    front_matter(&mut out, &format!("{PROVIDER} Provider"), summary);
    let _ = writeln!(
        out,
        "# {PROVIDER} Provider\n\n{summary}\n\n{}\n",
        schema.block.description.trim()
    );
    out.push_str(GUIDE);
    out.push_str("\n## Example Usage\n\n");
    code_block(&mut out, "terraform", &provider_tf);
    out.push_str("\n## Schema\n");
    schema_sections(&mut out, &schema.block);
    Ok(out)
}

/// The newcomer's guide on the index page: from a checkout to an applied stack, all local.
const GUIDE: &str = r#"## Getting started locally

Until the provider is published, terraform runs the binary you build, through a `dev_overrides` CLI
configuration (no `terraform init` needed; terraform warns that overrides are in effect).

1. Build the provider and the Klaxon server:

   ```shell
   cargo build --release -p terraform-provider-klaxon -p klaxon
   ```

2. Point terraform at `target/release` with a CLI configuration, and tell terraform to use it:

   ```shell
   cat > "$HOME/klaxon-dev.tfrc" <<EOF
   provider_installation {
     dev_overrides {
       "klaxon/klaxon" = "$PWD/target/release"
     }
     direct {}
   }
   EOF
   export TF_CLI_CONFIG_FILE="$HOME/klaxon-dev.tfrc"
   ```

3. Start Klaxon (SQLite in `./klaxon.db`, listening on `127.0.0.1:8080`; Slack and AWS can be connected later):

   ```shell
   ./target/release/klaxon serve &
   ```

4. Create an account; its API token is printed once, alone on stdout:

   ```shell
   export KLAXON_TOKEN="$(./target/release/klaxon account create --name my-company)"
   ```

5. Apply the full example stack (a team, its escalation policy, an endpoint and the SNS subscription of an
   existing topic; the subscription needs AWS credentials, or `-var aws_endpoint_url=...` for a local moto):

   ```shell
   cd examples/stacks/full
   terraform apply -var topic_arn=arn:aws:sns:eu-west-1:123456789012:alarms
   terraform output -raw webhook_url   # POST alerts here
   ```

A second `terraform plan` shows no changes; `terraform destroy` removes everything again.
"#;

/// `### Required` / `### Optional` / `### Read-Only` lists of a block, then one section per nested schema.
fn schema_sections(out: &mut String, block: &Block) {
    let mut nested = Vec::new();
    write_block(out, block, "", None, &mut nested);
    // Nested schemas can nest further; the queue grows while it is walked.
    let mut i = 0;
    while i < nested.len() {
        let (anchor, title, inner): (String, String, Nested) = nested[i].clone();
        let _ = write!(
            out,
            "\n<a id=\"{anchor}\"></a>\n### Nested Schema for `{title}`\n"
        );
        match inner {
            Nested::Block(b) => write_block(out, &b, &anchor, Some(&title), &mut nested),
            Nested::Attributes(attrs) => {
                let b = Block {
                    attributes: attrs,
                    ..Block::default()
                };
                write_block(out, &b, &anchor, Some(&title), &mut nested);
            }
        }
        i += 1;
    }
}

/// What a nested schema section documents.
#[derive(Clone)]
enum Nested {
    Block(Block),
    Attributes(Vec<Attribute>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Required,
    Optional,
    ReadOnly,
}

impl Group {
    fn of(mode: Mode) -> Self {
        match mode {
            Mode::Required => Group::Required,
            Mode::Optional | Mode::OptionalComputed => Group::Optional,
            Mode::Computed => Group::ReadOnly,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Group::Required => "Required",
            Group::Optional => "Optional",
            Group::ReadOnly => "Read-Only",
        }
    }
}

/// One entry of a list: its group, name and rendered line.
type Entry = (Group, String, String);

fn write_block(
    out: &mut String,
    block: &Block,
    parent_anchor: &str,
    parent_title: Option<&str>,
    nested: &mut Vec<(String, String, Nested)>,
) {
    let mut entries: Vec<Entry> = Vec::new();
    for a in &block.attributes {
        let mut line = format!("- `{}` ({}", a.name, type_label(a));
        if a.sensitive {
            line.push_str(", Sensitive");
        }
        if a.deprecated {
            line.push_str(", Deprecated");
        }
        line.push(')');
        push_description(&mut line, &a.description);
        if let AttributeKind::Nested(_, attrs) = &a.kind {
            let (anchor, title) = nested_ids("nestedatt", parent_anchor, parent_title, &a.name);
            let _ = write!(line, " (see [below for nested schema](#{anchor}))");
            nested.push((anchor, title, Nested::Attributes(attrs.clone())));
        }
        entries.push((Group::of(a.mode), a.name.clone(), line));
    }
    for b in &block.blocks {
        let group = if b.min_items > 0 {
            Group::Required
        } else {
            Group::Optional
        };
        let mut line = format!("- `{}` ({})", b.type_name, block_label(b));
        push_description(&mut line, &b.block.description);
        let (anchor, title) = nested_ids("nestedblock", parent_anchor, parent_title, &b.type_name);
        let _ = write!(line, " (see [below for nested schema](#{anchor}))");
        nested.push((anchor, title, Nested::Block(b.block.clone())));
        entries.push((group, b.type_name.clone(), line));
    }
    entries.sort_by(|a, b| a.1.cmp(&b.1));
    for group in [Group::Required, Group::Optional, Group::ReadOnly] {
        let lines: Vec<&str> = entries
            .iter()
            .filter(|e| e.0 == group)
            .map(|e| e.2.as_str())
            .collect();
        if lines.is_empty() {
            continue;
        }
        // Top-level groups are headings; inside a nested schema they are plain labels (as tfplugindocs does).
        if parent_title.is_some() {
            let _ = writeln!(out, "\n{}:\n", group.title());
        } else {
            let _ = writeln!(out, "\n### {}\n", group.title());
        }
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
    }
}

fn push_description(line: &mut String, description: &str) {
    let d = description.trim();
    if !d.is_empty() {
        line.push(' ');
        line.push_str(d);
    }
}

/// The anchor and the dotted title of a nested schema (`nestedatt--steps`, `steps`).
fn nested_ids(prefix: &str, parent_anchor: &str, parent_title: Option<&str>, name: &str) -> (String, String) {
    match parent_title {
        None => (format!("{prefix}--{name}"), name.to_owned()),
        Some(t) => (format!("{parent_anchor}--{name}"), format!("{t}.{name}")),
    }
}

fn type_label(a: &Attribute) -> String {
    match &a.kind {
        AttributeKind::Type(ty) => type_name(ty),
        AttributeKind::Nested(nesting, _) => match nesting {
            Nesting::Single | Nesting::Group => "Attributes".to_owned(),
            Nesting::List => "Attributes List".to_owned(),
            Nesting::Set => "Attributes Set".to_owned(),
            Nesting::Map => "Attributes Map".to_owned(),
        },
    }
}

fn block_label(b: &NestedBlock) -> String {
    let mut label = match b.nesting {
        Nesting::Single | Nesting::Group => "Block".to_owned(),
        Nesting::List => "Block List".to_owned(),
        Nesting::Set => "Block Set".to_owned(),
        Nesting::Map => "Block Map".to_owned(),
    };
    if b.min_items > 0 && !matches!(b.nesting, Nesting::Single | Nesting::Group) {
        let _ = write!(label, ", Min: {}", b.min_items);
    }
    if b.max_items > 0 && !matches!(b.nesting, Nesting::Single | Nesting::Group) {
        let _ = write!(label, ", Max: {}", b.max_items);
    }
    if b.min_items == 0 {
        label.push_str(", Optional");
    }
    label
}

/// Type names as the registry writes them: `String`, `List of String`, `Set of Object`.
fn type_name(ty: &Type) -> String {
    match ty {
        Type::String => "String".to_owned(),
        Type::Number => "Number".to_owned(),
        Type::Bool => "Boolean".to_owned(),
        Type::Dynamic => "Dynamic".to_owned(),
        Type::List(e) => format!("List of {}", type_name(e)),
        Type::Set(e) => format!("Set of {}", type_name(e)),
        Type::Map(e) => format!("Map of {}", type_name(e)),
        Type::Object(_) => "Object".to_owned(),
        Type::Tuple(_) => "Tuple".to_owned(),
    }
}
