//! `klaxon_sns_subscription`: subscribes an endpoint's `sns_url` to an SNS topic, through the AWS API.

use aws_sdk_sns::error::ProvideErrorMetadata as _;
use klaxon_api::{EndpointQuery, validate};
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, AttributePath, Block, Context, Resource, Schema, Type, ValidateContext, Value};

use super::{api_error, aws_detail};
use crate::KlaxonData;

/// State of one `klaxon_sns_subscription`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubscriptionState {
    /// The subscription ARN (also `subscription_arn`).
    pub id: Value<String>,
    /// The SNS topic.
    pub topic_arn: Value<String>,
    /// The Klaxon endpoint whose `sns_url` is subscribed.
    pub endpoint_id: Value<String>,
    /// The subscription's ARN.
    pub subscription_arn: Value<String>,
    /// Whether SNS considers the subscription confirmed.
    pub confirmed: Value<bool>,
}

/// The `klaxon_sns_subscription` resource type.
#[derive(Debug, Clone, Copy)]
pub struct SnsSubscriptionResource;

impl Resource<KlaxonData> for SnsSubscriptionResource {
    type State = SubscriptionState;

    fn type_name(&self) -> &str {
        "klaxon_sns_subscription"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description(
                    "Subscribes a Klaxon endpoint to an SNS topic (protocol `https`; `http` only when the endpoint's \
                     URL is plain http, as in a local test set-up). Klaxon confirms the subscription itself when \
                     SNS sends the confirmation. Uses the provider's `aws` block and the AWS SDK's credentials.",
                )
                .attribute(Attribute::computed("id", Type::String).description("The subscription ARN."))
                .attribute(
                    Attribute::required("topic_arn", Type::String)
                        .requires_replace()
                        .description("ARN of the SNS topic. Changing it replaces the subscription."),
                )
                .attribute(
                    Attribute::required("endpoint_id", Type::String)
                        .requires_replace()
                        .description("Id of the `klaxon_endpoint` whose `sns_url` is subscribed. Changing it replaces the subscription."),
                )
                .attribute(Attribute::computed("subscription_arn", Type::String).description("ARN of the subscription."))
                .attribute(Attribute::computed("confirmed", Type::Bool).description(
                    "Whether SNS has the subscription confirmed (false while the confirmation is pending).",
                )),
        )
    }

    async fn validate(&self, ctx: &mut ValidateContext, config: SubscriptionState) {
        if let Value::Known(arn) = &config.topic_arn
            && !validate::is_sns_topic_arn(arn)
        {
            ctx.error_at(
                AttributePath::root("topic_arn"),
                "Invalid value for topic_arn",
                format!("{arn:?} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT_ID:NAME)"),
            );
        }
    }

    async fn read(
        &self,
        ctx: &mut Context<KlaxonData>,
        state: SubscriptionState,
    ) -> Option<SubscriptionState> {
        let arn = state.subscription_arn.known().or_else(|| state.id.known())?;
        let sns = ctx.data().sns().await.clone();
        match sns
            .get_subscription_attributes()
            .subscription_arn(&arn)
            .send()
            .await
        {
            Ok(out) => {
                let attrs = out.attributes.unwrap_or_default();
                Some(SubscriptionState {
                    id: Value::Known(arn.clone()),
                    topic_arn: attrs
                        .get("TopicArn")
                        .cloned()
                        .map_or(state.topic_arn, Value::Known),
                    endpoint_id: state.endpoint_id,
                    subscription_arn: Value::Known(arn),
                    confirmed: Value::Known(attrs.get("PendingConfirmation").is_none_or(|p| p == "false")),
                })
            }
            // Unsubscribed outside terraform: gone, so the next plan creates it again.
            Err(e) if e.code() == Some("NotFound") => None,
            Err(e) => {
                ctx.error(format!("Error reading SNS subscription {arn:?}"), aws_detail(&e));
                None
            }
        }
    }

    async fn create(
        &self,
        ctx: &mut Context<KlaxonData>,
        planned: SubscriptionState,
        _config: SubscriptionState,
    ) -> Option<SubscriptionState> {
        let topic = planned.topic_arn.known()?;
        let endpoint_id = planned.endpoint_id.known()?;
        let endpoint = match ctx.data().client.get_endpoint(&endpoint_id).await {
            Ok(Some(e)) => e,
            Ok(None) => {
                ctx.error_at(
                    AttributePath::root("endpoint_id"),
                    format!("Error subscribing endpoint {endpoint_id:?}"),
                    "No endpoint with this id in the account.",
                );
                return None;
            }
            Err(e) => {
                api_error(ctx, "reading", &format!("endpoint {endpoint_id:?}"), &e, &[]);
                return None;
            }
        };
        let protocol = if endpoint.sns_url.starts_with("http://") {
            "http"
        } else {
            "https"
        };
        let sns = ctx.data().sns().await.clone();
        let out = sns
            .subscribe()
            .topic_arn(&topic)
            .protocol(protocol)
            .endpoint(&endpoint.sns_url)
            .return_subscription_arn(true)
            .send()
            .await;
        match out {
            Ok(out) => {
                let Some(arn) = out.subscription_arn else {
                    ctx.error(
                        format!("Error subscribing to {topic:?}"),
                        "SNS returned no subscription ARN.",
                    );
                    return None;
                };
                let confirmed = self.confirmed(ctx, &arn).await;
                Some(SubscriptionState {
                    id: Value::Known(arn.clone()),
                    topic_arn: Value::Known(topic),
                    endpoint_id: Value::Known(endpoint_id),
                    subscription_arn: Value::Known(arn),
                    confirmed: Value::Known(confirmed),
                })
            }
            Err(e) => {
                ctx.error_at(
                    AttributePath::root("topic_arn"),
                    format!("Error subscribing endpoint {endpoint_id:?} to {topic:?}"),
                    aws_detail(&e),
                );
                None
            }
        }
    }

    async fn update(
        &self,
        _ctx: &mut Context<KlaxonData>,
        prior: SubscriptionState,
        _planned: SubscriptionState,
        _config: SubscriptionState,
    ) -> Option<SubscriptionState> {
        // Both arguments force replacement, so there is nothing to update in place.
        Some(prior)
    }

    async fn destroy(&self, ctx: &mut Context<KlaxonData>, prior: SubscriptionState) {
        let Some(arn) = prior.subscription_arn.known().or_else(|| prior.id.known()) else {
            return;
        };
        let sns = ctx.data().sns().await.clone();
        match sns.unsubscribe().subscription_arn(&arn).send().await {
            Ok(_) => {}
            Err(e) if e.code() == Some("NotFound") => {}
            Err(e) => ctx.error(format!("Error unsubscribing {arn:?}"), aws_detail(&e)),
        }
    }

    async fn import(&self, ctx: &mut Context<KlaxonData>, id: String) -> Option<SubscriptionState> {
        let sns = ctx.data().sns().await.clone();
        let attrs = match sns
            .get_subscription_attributes()
            .subscription_arn(&id)
            .send()
            .await
        {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e) => {
                ctx.error(format!("Cannot import SNS subscription {id:?}"), aws_detail(&e));
                return None;
            }
        };
        let subscribed = attrs.get("Endpoint").cloned().unwrap_or_default();
        let endpoint_id = self.endpoint_with_sns_url(ctx, &subscribed).await?;
        Some(SubscriptionState {
            id: Value::Known(id.clone()),
            topic_arn: attrs.get("TopicArn").cloned().into(),
            endpoint_id: Value::Known(endpoint_id),
            subscription_arn: Value::Known(id),
            confirmed: Value::Known(attrs.get("PendingConfirmation").is_none_or(|p| p == "false")),
        })
    }
}

impl SnsSubscriptionResource {
    /// Whether SNS has the subscription confirmed; false when it cannot tell.
    async fn confirmed(&self, ctx: &mut Context<KlaxonData>, arn: &str) -> bool {
        let sns = ctx.data().sns().await.clone();
        match sns
            .get_subscription_attributes()
            .subscription_arn(arn)
            .send()
            .await
        {
            Ok(out) => out
                .attributes
                .unwrap_or_default()
                .get("PendingConfirmation")
                .is_none_or(|p| p == "false"),
            Err(_) => false,
        }
    }

    /// The id of the account's endpoint whose `sns_url` is `url` (for import, where SNS only knows the URL).
    async fn endpoint_with_sns_url(&self, ctx: &mut Context<KlaxonData>, url: &str) -> Option<String> {
        let mut query = EndpointQuery {
            limit: Some(1000),
            ..EndpointQuery::default()
        };
        loop {
            match ctx.data().client.list_endpoints(&query).await {
                Ok(page) => {
                    if let Some(e) = page.items.iter().find(|e| e.sns_url == url) {
                        return Some(e.id.clone());
                    }
                    match page.next_cursor {
                        Some(c) => query.cursor = Some(c),
                        None => break,
                    }
                }
                Err(e) => {
                    api_error(ctx, "listing", "endpoints", &e, &[]);
                    return None;
                }
            }
        }
        ctx.error(
            "Cannot import SNS subscription",
            "The subscription's endpoint URL is not the sns_url of any endpoint of this account.",
        );
        None
    }
}
