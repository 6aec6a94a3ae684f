//! The provider block: where the Klaxon API is, the token to call it with, and AWS settings for the resources
//! that call AWS directly (the SNS subscription and the CloudWatch dashboard).

use serde::Deserialize;
use tfplugin::{
    Attribute, AttributePath, Block, ConfigureContext, DataSourceHandle, NestedBlock, Nesting, Provider,
    ResourceHandle, Schema, Type, Value,
};

use crate::{data_sources, resources};

/// The provider's source address.
pub const SOURCE_ADDRESS: &str = "registry.terraform.io/klaxon/klaxon";

/// Used when neither `endpoint` nor `KLAXON_ENDPOINT` is set: `klaxon serve`'s default address.
const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8080";

/// The `klaxon` provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct KlaxonProvider;

/// The provider block. Its `Debug` hides the token.
#[derive(Deserialize)]
pub struct ProviderConfig {
    /// Base URL of the Klaxon API.
    endpoint: Value<String>,
    /// The account's API token.
    token: Value<String>,
    /// AWS settings.
    aws: Value<AwsConfig>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("endpoint", &self.endpoint)
            .field("token", &"***")
            .field("aws", &self.aws)
            .finish()
    }
}

/// The `aws` block.
#[derive(Debug, Deserialize)]
pub(crate) struct AwsConfig {
    /// AWS region.
    region: Value<String>,
    /// Endpoint override.
    endpoint_url: Value<String>,
}

/// What every resource reaches through `ctx.data()`.
#[derive(Debug)]
pub struct KlaxonData {
    /// The management API client.
    pub client: klaxon_api::Client,
    /// AWS region for SNS and CloudWatch calls (`aws.region`, else the SDK's own resolution).
    pub aws_region: Option<String>,
    /// AWS endpoint override for SNS and CloudWatch calls (`aws.endpoint_url`, else `AWS_ENDPOINT_URL`).
    pub aws_endpoint_url: Option<String>,
    /// The AWS SDK configuration, loaded on first use: only configurations with resources that call AWS pay
    /// for resolving region and credentials. Shared by the clients, so they share one credentials cache.
    aws: tokio::sync::OnceCell<aws_config::SdkConfig>,
    /// The SNS client, built on first use.
    sns: tokio::sync::OnceCell<aws_sdk_sns::Client>,
    /// The CloudWatch client, built on first use.
    cloudwatch: tokio::sync::OnceCell<aws_sdk_cloudwatch::Client>,
}

impl KlaxonData {
    /// The SNS client for the configured region and endpoint.
    pub async fn sns(&self) -> &aws_sdk_sns::Client {
        self.sns
            .get_or_init(|| async { aws_sdk_sns::Client::new(self.aws_config().await) })
            .await
    }

    /// The CloudWatch client for the configured region and endpoint.
    pub async fn cloudwatch(&self) -> &aws_sdk_cloudwatch::Client {
        self.cloudwatch
            .get_or_init(|| async { aws_sdk_cloudwatch::Client::new(self.aws_config().await) })
            .await
    }

    /// The AWS SDK configuration of the `aws` block: one place decides region and endpoint for every client.
    async fn aws_config(&self) -> &aws_config::SdkConfig {
        self.aws
            .get_or_init(|| async {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
                if let Some(region) = &self.aws_region {
                    loader = loader.region(aws_config::Region::new(region.clone()));
                }
                if let Some(url) = &self.aws_endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                loader.load().await
            })
            .await
    }
}

impl Provider for KlaxonProvider {
    type Config = ProviderConfig;
    type Data = KlaxonData;

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("Configures the Klaxon API the resources are managed through.")
                .attribute(Attribute::optional("endpoint", Type::String).description(
                    "Base URL of the Klaxon API, e.g. `https://klaxon.example.com`. Falls back to the \
                     `KLAXON_ENDPOINT` environment variable, then to `http://127.0.0.1:8080`.",
                ))
                .attribute(Attribute::optional("token", Type::String).sensitive().description(
                    "API token of the Klaxon account (`klaxon account create` prints one). Falls back to the \
                     `KLAXON_TOKEN` environment variable. Sensitive: never shown in plans.",
                ))
                .block(
                    NestedBlock::new(
                        "aws",
                        Nesting::Single,
                        Block::new()
                            .description(
                                "AWS settings for the resources that call AWS themselves: `klaxon_sns_subscription` \
                                 (SNS) and `klaxon_cloudwatch_dashboard` (CloudWatch). Credentials come from the AWS \
                                 SDK's default chain (environment, shared config, instance role).",
                            )
                            .attribute(Attribute::optional("region", Type::String).description(
                                "AWS region of the SNS topics and of the CloudWatch metrics the dashboard shows, \
                                 e.g. `eu-west-1`. Falls back to `AWS_REGION` and the SDK's usual resolution.",
                            ))
                            .attribute(Attribute::optional("endpoint_url", Type::String).description(
                                "Endpoint override for AWS API calls, e.g. a local moto server. Falls back to \
                                 `AWS_ENDPOINT_URL`.",
                            )),
                    )
                    .items(0, 1),
                ),
        )
    }

    async fn configure(&self, ctx: &mut ConfigureContext, config: ProviderConfig) -> Option<KlaxonData> {
        let endpoint = match config.endpoint {
            Value::Known(e) => e,
            Value::Null => std::env::var("KLAXON_ENDPOINT").unwrap_or_else(|_| DEFAULT_ENDPOINT.to_owned()),
            Value::Unknown => {
                ctx.error_at(
                    AttributePath::root("endpoint"),
                    "Klaxon endpoint is not known yet",
                    "The provider's endpoint must be known at plan time; set it to a literal or a variable.",
                );
                return None;
            }
        };
        let token = match config.token {
            Value::Known(t) => t,
            Value::Null => std::env::var("KLAXON_TOKEN").unwrap_or_default(),
            Value::Unknown => {
                ctx.error_at(
                    AttributePath::root("token"),
                    "Klaxon token is not known yet",
                    "The provider's token must be known at plan time.",
                );
                return None;
            }
        };
        if token.trim().is_empty() {
            ctx.error_at(
                AttributePath::root("token"),
                "Missing Klaxon API token",
                "Set `token` in the provider block or the KLAXON_TOKEN environment variable \
                 (`klaxon account create --name NAME` prints a token).",
            );
            return None;
        }
        let client = match klaxon_api::Client::new(klaxon_api::ClientConfig::new(&endpoint, token)) {
            Ok(c) => c,
            Err(e) => {
                ctx.error_at(
                    AttributePath::root("endpoint"),
                    "Invalid Klaxon endpoint",
                    e.to_string(),
                );
                return None;
            }
        };
        let (aws_region, aws_endpoint_url) = match config.aws {
            Value::Known(aws) => (aws.region.known(), aws.endpoint_url.known()),
            _ => (None, None),
        };
        Some(KlaxonData {
            client,
            aws_region: aws_region.or_else(|| std::env::var("AWS_REGION").ok()),
            aws_endpoint_url: aws_endpoint_url.or_else(|| std::env::var("AWS_ENDPOINT_URL").ok()),
            aws: tokio::sync::OnceCell::new(),
            sns: tokio::sync::OnceCell::new(),
            cloudwatch: tokio::sync::OnceCell::new(),
        })
    }

    fn resources(&self) -> Vec<ResourceHandle<KlaxonData>> {
        resources::all()
    }

    fn data_sources(&self) -> Vec<DataSourceHandle<KlaxonData>> {
        data_sources::all()
    }
}
