//! `klaxon_sns_subscription`: subscribes an endpoint's `sns_url` to an SNS topic, through the AWS API, with a
//! delivery policy that keeps SNS retrying for the hour it allows (instead of its default three retries 20 s
//! apart) and throttles it to the endpoint's ingest rate, and optionally a dead-letter queue for what is left.
//!
//! The policy is owned by this resource: it is written whole (DeliveryPolicy) at subscribe and on every change,
//! and read back field by field from GetSubscriptionAttributes, so a policy SNS reformats reads as the same
//! values and only a change made outside Terraform plans an update.

use std::collections::HashMap;

use aws_sdk_sns::error::ProvideErrorMetadata as _;
use klaxon_api::{EndpointQuery, validate};
use serde::{Deserialize, Serialize};
use tfplugin::{
    Attribute, AttributePath, Block, Context, Mode, Nesting, Plan, Resource, Schema, Type, ValidateContext,
    Value,
};

mod delivery_policy;

use delivery_policy::{
    DEFAULT_MAX_RECEIVES_PER_SECOND, DeliveryPolicy, MAX_POLICY_SECONDS, MAX_RETRIES, RetryPolicy,
    dead_letter_target, planned, policy_of, problems, redrive_policy, retry_state, throttle_state,
};

use super::{api_error, aws_detail};
use crate::KlaxonData;

/// State of one `klaxon_sns_subscription`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// SNS's self-throttling towards the endpoint.
    pub throttle_policy: Value<ThrottleState>,
    /// How SNS retries a failed delivery.
    pub retry_policy: Value<RetryState>,
    /// SQS queue for messages SNS gives up on.
    pub dead_letter_queue_arn: Value<String>,
}

/// `throttle_policy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThrottleState {
    /// Deliveries per second at most.
    pub max_receives_per_second: Value<i64>,
}

/// `retry_policy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryState {
    /// All retries.
    pub num_retries: Value<i64>,
    /// Immediate retries.
    pub num_no_delay_retries: Value<i64>,
    /// Pre-backoff retries.
    pub num_min_delay_retries: Value<i64>,
    /// Minimum delay.
    pub min_delay_target: Value<i64>,
    /// Maximum delay.
    pub max_delay_target: Value<i64>,
    /// Post-backoff retries.
    pub num_max_delay_retries: Value<i64>,
    /// Backoff function.
    pub backoff_function: Value<String>,
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
        let d = RetryPolicy::klaxon_default();
        let fixed_phases = d.num_no_delay_retries + d.num_min_delay_retries + d.num_max_delay_retries;
        Schema::new(
            Block::new()
                .description(format!(
                    "Subscribes a Klaxon endpoint to an SNS topic (protocol `https`; `http` only when the endpoint's \
                     URL is plain http, as in a local test set-up). Klaxon confirms the subscription itself when \
                     SNS sends the confirmation. Uses the provider's `aws` block and the AWS SDK's credentials \
                     (`sns:Subscribe`, `sns:GetSubscriptionAttributes`, `sns:SetSubscriptionAttributes`, \
                     `sns:Unsubscribe`).\n\n\
                     The subscription gets a delivery policy so that SNS does not drop an alarm while Klaxon \
                     restarts, deploys or answers 429 to a storm: by default SNS retries an HTTP/S delivery only 3 \
                     times, 20 s apart, and then discards the message. This resource writes a retry policy that \
                     keeps retrying for most of the hour SNS allows ({} retries over 48 to 57 minutes) and a \
                     throttle of {DEFAULT_MAX_RECEIVES_PER_SECOND} deliveries per second, the Klaxon server's \
                     default `KLAXON_INGEST_RATE`; both can be overridden. What SNS still gives up on can go to \
                     an SQS dead-letter queue (`dead_letter_queue_arn`). The policy is read back from SNS, so a \
                     change made outside Terraform shows as an update. A topic whose own delivery policy sets \
                     `disableSubscriptionOverrides` makes SNS ignore this one.",
                    d.num_retries
                ))
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
                ))
                .attribute(
                    Attribute::nested(
                        "throttle_policy",
                        Nesting::Single,
                        vec![Attribute::optional_computed("max_receives_per_second", Type::Number).description(
                            format!(
                                "Deliveries per second SNS makes to the endpoint at most, a whole number of 1 or more \
                                 (`throttlePolicy.maxReceivesPerSecond`). Messages above the rate wait at SNS (a \
                                 backlog delays them) instead of being sent to be refused with 429. Set it to the \
                                 server's `KLAXON_INGEST_RATE` (the provider cannot read the server's setting), \
                                 less what other subscriptions and webhook callers of the same endpoint need: SNS \
                                 throttles each subscription on its own, while Klaxon limits the endpoint as a \
                                 whole. Default `{DEFAULT_MAX_RECEIVES_PER_SECOND}`, the server's default rate.",
                            ),
                        )],
                        Mode::OptionalComputed,
                    )
                    .description(format!(
                        "How fast SNS delivers to the endpoint (the delivery policy's `throttlePolicy`). \
                         Default `{{ max_receives_per_second = {DEFAULT_MAX_RECEIVES_PER_SECOND} }}`."
                    )),
                )
                .attribute(
                    Attribute::nested(
                        "retry_policy",
                        Nesting::Single,
                        vec![
                            Attribute::optional_computed("num_retries", Type::Number).description(format!(
                                "All retries after the first failed attempt, over the four phases (immediate, \
                                 pre-backoff, backoff, post-backoff), 0 to {MAX_RETRIES}. The backoff phase has \
                                 what the other three leave. Default `{}`.",
                                d.num_retries
                            )),
                            Attribute::optional_computed("num_no_delay_retries", Type::Number).description(format!(
                                "Retries made at once, without delay (immediate phase), 0 or more. Default `{}`: \
                                 a restarting or rate-limited server gives the same answer a moment later.",
                                d.num_no_delay_retries
                            )),
                            Attribute::optional_computed("num_min_delay_retries", Type::Number).description(format!(
                                "Retries `min_delay_target` apart before the backoff (pre-backoff phase), 0 or \
                                 more. Default `{}`.",
                                d.num_min_delay_retries
                            )),
                            Attribute::optional_computed("min_delay_target", Type::Number).description(format!(
                                "Seconds between pre-backoff retries and before the first backoff retry, 1 to \
                                 `max_delay_target`. Default `{}`.",
                                d.min_delay_target
                            )),
                            Attribute::optional_computed("max_delay_target", Type::Number).description(format!(
                                "Seconds before the last backoff retry and between post-backoff retries, \
                                 `min_delay_target` to {MAX_POLICY_SECONDS}. Default `{}`.",
                                d.max_delay_target
                            )),
                            Attribute::optional_computed("num_max_delay_retries", Type::Number).description(format!(
                                "Retries `max_delay_target` apart after the backoff (post-backoff phase), 0 or \
                                 more. Default `{}`.",
                                d.num_max_delay_retries
                            )),
                            Attribute::optional_computed("backoff_function", Type::String).description(format!(
                                "How the backoff delays grow from `min_delay_target` to `max_delay_target`: \
                                 `arithmetic`, `exponential`, `geometric` or `linear`. Default `{}`.",
                                d.backoff_function
                            )),
                        ],
                        Mode::OptionalComputed,
                    )
                    .description(format!(
                        "How SNS retries a delivery Klaxon did not accept (a 5xx, a 429 or no answer within 15 s): \
                         the delivery policy's `healthyRetryPolicy`. All fields are whole numbers except \
                         `backoff_function`; each field left out takes its default. The immediate, pre-backoff and \
                         post-backoff retries must fit in `num_retries` (with the other fields at their defaults, a \
                         `num_retries` below {fixed_phases} needs a lower `num_max_delay_retries` too). The defaults are {} retries: {} at once, {} spaced {} s, {} backing off ({}) from {} s to {} \
                         s, then {} spaced {} s, which last 48 to 57 minutes. SNS caps a policy at {MAX_POLICY_SECONDS} \
                         s; since it does not publish its backoff curves, a policy is accepted only when it fits \
                         even with every backoff retry at `max_delay_target` (`num_min_delay_retries` × \
                         `min_delay_target` + (`num_retries` − `num_no_delay_retries` − `num_min_delay_retries`) × \
                         `max_delay_target` ≤ {MAX_POLICY_SECONDS}). After the last retry SNS discards the message \
                         unless `dead_letter_queue_arn` is set.",
                        d.num_retries,
                        d.num_no_delay_retries,
                        d.num_min_delay_retries,
                        d.min_delay_target,
                        d.num_retries - d.num_no_delay_retries - d.num_min_delay_retries - d.num_max_delay_retries,
                        d.backoff_function,
                        d.min_delay_target,
                        d.max_delay_target,
                        d.num_max_delay_retries,
                        d.max_delay_target,
                    )),
                )
                .attribute(Attribute::optional("dead_letter_queue_arn", Type::String).description(
                    "ARN of an SQS queue that receives the messages SNS gives up on (the subscription's \
                     `RedrivePolicy`): after the last retry, or at once when Klaxon refuses a message for good \
                     (a 4xx other than 429). The queue must be in the topic's account and region, and its access \
                     policy must let `sns.amazonaws.com` call `sqs:SendMessage` for this topic (`aws:SourceArn`). \
                     Not set: SNS discards those messages. Removing it detaches the queue.",
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
        for (path, problem) in problems(&config) {
            let Some((attr, inner)) = path.split_first() else {
                continue;
            };
            let at = inner
                .iter()
                .fold(AttributePath::root(*attr), |at, step| at.attr(*step));
            ctx.error_at(at, format!("Invalid value for {attr}"), problem);
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
                let topic_arn = match attrs.get("TopicArn") {
                    Some(t) => Value::Known(t.clone()),
                    None => state.topic_arn,
                };
                Some(flatten(arn, topic_arn, state.endpoint_id, &attrs))
            }
            // Unsubscribed outside terraform: gone, so the next plan creates it again.
            Err(e) if e.code() == Some("NotFound") => None,
            Err(e) => {
                ctx.error(format!("Error reading SNS subscription {arn:?}"), aws_detail(&e));
                None
            }
        }
    }

    async fn plan_create(
        &self,
        _ctx: &mut Context<KlaxonData>,
        proposed: SubscriptionState,
        config: SubscriptionState,
    ) -> Option<SubscriptionState> {
        Some(planned(proposed, &config))
    }

    async fn plan_update(
        &self,
        _ctx: &mut Context<KlaxonData>,
        _prior: SubscriptionState,
        proposed: SubscriptionState,
        config: SubscriptionState,
    ) -> Option<Plan<SubscriptionState>> {
        Some(Plan::new(planned(proposed, &config)))
    }

    async fn create(
        &self,
        ctx: &mut Context<KlaxonData>,
        planned: SubscriptionState,
        _config: SubscriptionState,
    ) -> Option<SubscriptionState> {
        let topic = planned.topic_arn.clone().known()?;
        let endpoint_id = planned.endpoint_id.clone().known()?;
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
        let policy = policy_of(&planned);
        let sns = ctx.data().sns().await.clone();
        // The policies go with Subscribe: they then hold from the first delivery (the confirmation request
        // included), and a subscription pending confirmation needs no second call.
        let mut subscribe = sns
            .subscribe()
            .topic_arn(&topic)
            .protocol(protocol)
            .endpoint(&endpoint.sns_url)
            .return_subscription_arn(true)
            .attributes("DeliveryPolicy", policy.to_json());
        if let Value::Known(dlq) = &planned.dead_letter_queue_arn {
            subscribe = subscribe.attributes("RedrivePolicy", redrive_policy(Some(dlq)));
        }
        match subscribe.send().await {
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
                    throttle_policy: throttle_state(&policy),
                    retry_policy: retry_state(&policy.retry),
                    dead_letter_queue_arn: planned.dead_letter_queue_arn,
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
        ctx: &mut Context<KlaxonData>,
        prior: SubscriptionState,
        planned: SubscriptionState,
        _config: SubscriptionState,
    ) -> Option<SubscriptionState> {
        // Topic and endpoint force replacement; only the delivery policy and the dead-letter queue change here.
        let arn = prior
            .subscription_arn
            .clone()
            .known()
            .or_else(|| prior.id.clone().known())?;
        let sns = ctx.data().sns().await.clone();
        let mut writes = Vec::new();
        if prior.throttle_policy != planned.throttle_policy || prior.retry_policy != planned.retry_policy {
            writes.push(("DeliveryPolicy", policy_of(&planned).to_json()));
        }
        if prior.dead_letter_queue_arn != planned.dead_letter_queue_arn {
            // An empty RedrivePolicy detaches the queue.
            writes.push((
                "RedrivePolicy",
                redrive_policy(planned.dead_letter_queue_arn.as_deref().known()),
            ));
        }
        for (name, value) in writes {
            if let Err(e) = sns
                .set_subscription_attributes()
                .subscription_arn(&arn)
                .attribute_name(name)
                .attribute_value(value)
                .send()
                .await
            {
                // The prior state stays; the next refresh reads whatever SNS holds.
                let attr = if name == "RedrivePolicy" {
                    "dead_letter_queue_arn"
                } else {
                    "retry_policy"
                };
                ctx.error_at(
                    AttributePath::root(attr),
                    format!("Error setting {name} of SNS subscription {arn:?}"),
                    aws_detail(&e),
                );
                return None;
            }
        }
        Some(planned)
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
        let topic_arn = attrs.get("TopicArn").cloned().into();
        Some(flatten(id, topic_arn, Value::Known(endpoint_id), &attrs))
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

/// State from GetSubscriptionAttributes.
fn flatten(
    arn: String,
    topic_arn: Value<String>,
    endpoint_id: Value<String>,
    attrs: &HashMap<String, String>,
) -> SubscriptionState {
    let policy = DeliveryPolicy::from_json(attrs.get("DeliveryPolicy").map(String::as_str));
    SubscriptionState {
        id: Value::Known(arn.clone()),
        topic_arn,
        endpoint_id,
        subscription_arn: Value::Known(arn),
        confirmed: Value::Known(attrs.get("PendingConfirmation").is_none_or(|p| p == "false")),
        throttle_policy: throttle_state(&policy),
        retry_policy: retry_state(&policy.retry),
        dead_letter_queue_arn: dead_letter_target(attrs.get("RedrivePolicy").map(String::as_str)).into(),
    }
}

#[cfg(test)]
mod tests;
