//! `terraform-provider-klaxon`: started by terraform, never by hand (run with `--debug` to serve for a
//! debugger and print the `TF_REATTACH_PROVIDERS` line).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tfplugin::serve(
        terraform_provider_klaxon::KlaxonProvider,
        tfplugin::ServeOptions::new(terraform_provider_klaxon::SOURCE_ADDRESS),
    )
    .await
}
