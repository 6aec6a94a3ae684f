//! `klaxon_cloudwatch_dashboard` with the real `terraform` and moto as the CloudWatch API: create with the
//! shared dashboard definition, quiet plan, in-place update, an edit outside terraform planned back, import by
//! name, a delete outside terraform planned as a create, destroy.
//!
//! The dashboard does not call Klaxon's API, but the provider block needs an endpoint and a token, so a real
//! `klaxon serve` with an account stands behind it as in the other Terraform tests.

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use aws_sdk_cloudwatch::error::ProvideErrorMetadata as _;
use klaxon_api::metrics::dashboard_body;
use klaxon_tests::{Server, moto::Moto, terraform::Terraform};

/// The region of the provider's `aws` block in the configuration below.
const REGION: &str = "eu-west-1";

/// A CloudWatch client of moto, for checking what terraform did and editing behind its back.
fn cloudwatch(moto: &Moto, rt: &tokio::runtime::Runtime) -> aws_sdk_cloudwatch::Client {
    let config = rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(&moto.url)
            .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load(),
    );
    aws_sdk_cloudwatch::Client::new(&config)
}

/// The dashboard's body in CloudWatch, or `None` when there is no such dashboard.
fn remote_body(cw: &aws_sdk_cloudwatch::Client, rt: &tokio::runtime::Runtime, name: &str) -> Option<String> {
    match rt.block_on(cw.get_dashboard().dashboard_name(name).send()) {
        Ok(out) => Some(out.dashboard_body().unwrap_or_default().to_owned()),
        Err(e) if e.code() == Some("ResourceNotFound") => None,
        Err(e) => panic!(
            "GetDashboard {name:?}: {}",
            aws_sdk_cloudwatch::error::DisplayErrorContext(&e)
        ),
    }
}

/// The configuration: one dashboard with its namespace and period set.
fn config(moto: &Moto, period: u32) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    klaxon = {{ source = "klaxon/klaxon" }}
  }}
}}
provider "klaxon" {{
  aws {{
    region       = "{REGION}"
    endpoint_url = "{moto}"
  }}
}}
resource "klaxon_cloudwatch_dashboard" "ops" {{
  name      = "klaxon-ops"
  namespace = "KlaxonTest"
  period    = {period}
}}
output "dashboard_arn" {{ value = klaxon_cloudwatch_dashboard.ops.dashboard_arn }}
"#,
        moto = moto.url
    )
}

#[test]
fn creates_updates_restores_imports_and_deletes_the_dashboard() {
    let Some(moto) = Moto::start() else { return };
    let server = Server::start_sqlite();
    let token = server.create_account("dashboard");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cw = cloudwatch(&moto, &rt);
    let name = "klaxon-ops";
    let mut tf = Terraform::new(&server.url, &token);
    for (k, v) in moto.env() {
        tf.env(k, &v);
    }

    // Create: CloudWatch holds exactly the shared definition, and the plan after apply is quiet.
    tf.write(&config(&moto, 300));
    tf.apply();
    assert_eq!(
        remote_body(&cw, &rt, name).as_deref(),
        Some(dashboard_body("KlaxonTest", 300, REGION).as_str())
    );
    assert!(
        tf.output("dashboard_arn").ends_with(":dashboard/klaxon-ops"),
        "{}",
        tf.output("dashboard_arn")
    );
    tf.assert_quiet();

    // A new period is an in-place update of the same dashboard.
    tf.write(&config(&moto, 60));
    let (code, plan) = tf.plan();
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("klaxon_cloudwatch_dashboard.ops will be updated in-place"),
        "{plan}"
    );
    tf.apply();
    assert_eq!(
        remote_body(&cw, &rt, name).as_deref(),
        Some(dashboard_body("KlaxonTest", 60, REGION).as_str())
    );
    tf.assert_quiet();

    // Edited in the console: the next plan puts the definition back.
    rt.block_on(
        cw.put_dashboard()
            .dashboard_name(name)
            .dashboard_body(r#"{"widgets":[]}"#)
            .send(),
    )
    .unwrap();
    let (code, plan) = tf.plan();
    assert_eq!(code, 2, "an edit outside terraform must show:\n{plan}");
    assert!(
        plan.contains("klaxon_cloudwatch_dashboard.ops will be updated in-place"),
        "{plan}"
    );
    tf.apply();
    assert_eq!(
        remote_body(&cw, &rt, name).as_deref(),
        Some(dashboard_body("KlaxonTest", 60, REGION).as_str())
    );
    tf.assert_quiet();

    // Import by name reads namespace and period from the body: the plan after it is quiet.
    tf.ok(&["state", "rm", "klaxon_cloudwatch_dashboard.ops"]);
    tf.ok(&["import", "-no-color", "klaxon_cloudwatch_dashboard.ops", name]);
    tf.assert_quiet();

    // Deleted outside terraform: the next plan creates it again.
    rt.block_on(cw.delete_dashboards().dashboard_names(name).send())
        .unwrap();
    let (code, plan) = tf.plan();
    assert_eq!(code, 2);
    assert!(
        plan.contains("klaxon_cloudwatch_dashboard.ops will be created"),
        "{plan}"
    );
    tf.apply();
    tf.assert_quiet();

    // Destroy deletes it.
    tf.ok(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(remote_body(&cw, &rt, name), None);
}
