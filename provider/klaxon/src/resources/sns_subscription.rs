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
use serde_json::json;
use tfplugin::{
    Attribute, AttributePath, Block, Context, Mode, Nesting, Plan, Resource, Schema, Type, ValidateContext,
    Value,
};

use super::{api_error, aws_detail};
use crate::KlaxonData;

/// Deliveries per second SNS allows itself to the subscription unless `throttle_policy` says otherwise: the
/// Klaxon server's default `KLAXON_INGEST_RATE` (the provider cannot know the server's setting).
const DEFAULT_MAX_RECEIVES_PER_SECOND: i64 = 50;

/// Most retries SNS accepts in an HTTP/S retry policy.
const MAX_RETRIES: i64 = 100;

/// Longest delay SNS accepts, and the hard cap on the time a whole HTTP/S retry policy may take (seconds).
const MAX_POLICY_SECONDS: i64 = 3600;

/// The backoff functions SNS knows, as written in a delivery policy.
const BACKOFF_FUNCTIONS: [&str; 4] = ["arithmetic", "exponential", "geometric", "linear"];

/// A `healthyRetryPolicy`, wholly known.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RetryPolicy {
    /// All retries, over the four phases.
    num_retries: i64,
    /// Retries right after the failed attempt.
    num_no_delay_retries: i64,
    /// Retries `min_delay_target` apart, before the backoff.
    num_min_delay_retries: i64,
    /// Delay of the pre-backoff retries and of the first backoff retry (seconds).
    min_delay_target: i64,
    /// Delay of the last backoff retry and of the post-backoff retries (seconds).
    max_delay_target: i64,
    /// Retries `max_delay_target` apart, after the backoff.
    num_max_delay_retries: i64,
    /// How the backoff delays grow from the minimum to the maximum.
    backoff_function: String,
}

impl RetryPolicy {
    /// Klaxon's default: no immediate retry (a restarting or rate-limiting server answers the same), three
    /// retries 5 s apart for a quick restart, ten retries backing off exponentially to a minute, then one a
    /// minute: 60 retries lasting 48 to 57 minutes, within SNS's hour whatever its backoff curve.
    fn klaxon_default() -> Self {
        Self {
            num_retries: 60,
            num_no_delay_retries: 0,
            num_min_delay_retries: 3,
            min_delay_target: 5,
            max_delay_target: 60,
            num_max_delay_retries: 47,
            backoff_function: "exponential".to_owned(),
        }
    }

    /// What SNS does for an HTTP/S subscription without a policy (3 retries 20 s apart): what a subscription
    /// whose DeliveryPolicy lacks a field reads as.
    fn sns_default() -> Self {
        Self {
            num_retries: 3,
            num_no_delay_retries: 0,
            num_min_delay_retries: 0,
            min_delay_target: 20,
            max_delay_target: 20,
            num_max_delay_retries: 0,
            backoff_function: "linear".to_owned(),
        }
    }

    /// The longest the retries can take (seconds): every backoff retry counted at `max_delay_target`, since
    /// SNS does not publish its backoff curves. A policy within the hour by this count is within it for SNS.
    fn worst_case_seconds(&self) -> i64 {
        let after_pre_backoff = self.num_retries - self.num_no_delay_retries - self.num_min_delay_retries;
        self.num_min_delay_retries
            .saturating_mul(self.min_delay_target)
            .saturating_add(after_pre_backoff.saturating_mul(self.max_delay_target))
    }
}

/// The subscription's delivery policy, wholly known.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DeliveryPolicy {
    /// `throttlePolicy.maxReceivesPerSecond`; `None` = SNS does not throttle.
    max_receives_per_second: Option<i64>,
    /// `healthyRetryPolicy`.
    retry: RetryPolicy,
}

impl DeliveryPolicy {
    /// The DeliveryPolicy attribute's JSON. Every field is written: SNS then uses none of its own defaults.
    fn to_json(&self) -> String {
        let r = &self.retry;
        let mut policy = json!({
            "healthyRetryPolicy": {
                "numRetries": r.num_retries,
                "numNoDelayRetries": r.num_no_delay_retries,
                "numMinDelayRetries": r.num_min_delay_retries,
                "minDelayTarget": r.min_delay_target,
                "maxDelayTarget": r.max_delay_target,
                "numMaxDelayRetries": r.num_max_delay_retries,
                "backoffFunction": r.backoff_function,
            }
        });
        if let (Some(rate), Some(obj)) = (self.max_receives_per_second, policy.as_object_mut()) {
            obj.insert("throttlePolicy".into(), json!({ "maxReceivesPerSecond": rate }));
        }
        policy.to_string()
    }

    /// The policy a DeliveryPolicy attribute means. Compared by value, not text: key order, spacing, numbers
    /// as strings and extra keys SNS may add make no difference. A missing (or unreadable) policy or field is
    /// SNS's default for it.
    fn from_json(json: Option<&str>) -> Self {
        let policy = json
            .filter(|j| !j.trim().is_empty())
            .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
            .unwrap_or_default();
        let retry = &policy["healthyRetryPolicy"];
        let default = RetryPolicy::sns_default();
        let int = |key: &str, default: i64| integer(&retry[key]).unwrap_or(default);
        Self {
            max_receives_per_second: integer(&policy["throttlePolicy"]["maxReceivesPerSecond"]),
            retry: RetryPolicy {
                num_retries: int("numRetries", default.num_retries),
                num_no_delay_retries: int("numNoDelayRetries", default.num_no_delay_retries),
                num_min_delay_retries: int("numMinDelayRetries", default.num_min_delay_retries),
                min_delay_target: int("minDelayTarget", default.min_delay_target),
                max_delay_target: int("maxDelayTarget", default.max_delay_target),
                num_max_delay_retries: int("numMaxDelayRetries", default.num_max_delay_retries),
                backoff_function: retry["backoffFunction"]
                    .as_str()
                    .map_or(default.backoff_function, str::to_ascii_lowercase),
            },
        }
    }
}

/// A whole number from a policy field: a JSON integer, an integral float or a string of digits.
fn integer(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                // Checked integral and in range just above.
                .map(|f| f as i64)
        }),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

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

/// The planned state: the throttle and every retry field the configuration leaves out plan their defaults
/// visibly (removing `num_retries = 10` plans the default again, rather than keeping 10 from the prior state).
fn planned(mut plan: SubscriptionState, config: &SubscriptionState) -> SubscriptionState {
    plan.throttle_policy = match &config.throttle_policy {
        Value::Unknown => Value::Unknown,
        Value::Null => Value::Known(ThrottleState {
            max_receives_per_second: Value::Known(DEFAULT_MAX_RECEIVES_PER_SECOND),
        }),
        Value::Known(c) => Value::Known(ThrottleState {
            max_receives_per_second: or_default(&c.max_receives_per_second, DEFAULT_MAX_RECEIVES_PER_SECOND),
        }),
    };
    let d = RetryPolicy::klaxon_default();
    plan.retry_policy = match &config.retry_policy {
        Value::Unknown => Value::Unknown,
        Value::Null => retry_state(&d),
        Value::Known(c) => Value::Known(RetryState {
            num_retries: or_default(&c.num_retries, d.num_retries),
            num_no_delay_retries: or_default(&c.num_no_delay_retries, d.num_no_delay_retries),
            num_min_delay_retries: or_default(&c.num_min_delay_retries, d.num_min_delay_retries),
            min_delay_target: or_default(&c.min_delay_target, d.min_delay_target),
            max_delay_target: or_default(&c.max_delay_target, d.max_delay_target),
            num_max_delay_retries: or_default(&c.num_max_delay_retries, d.num_max_delay_retries),
            backoff_function: or_default(&c.backoff_function, d.backoff_function),
        }),
    };
    plan
}

/// A configured value, or the default when the configuration leaves it out (unknown stays unknown).
fn or_default<T: Clone>(config: &Value<T>, default: T) -> Value<T> {
    match config {
        Value::Null => Value::Known(default),
        other => other.clone(),
    }
}

/// The delivery policy of a planned (wholly known) state; defaults stand in for anything missing.
fn policy_of(state: &SubscriptionState) -> DeliveryPolicy {
    let d = RetryPolicy::klaxon_default();
    let rate = match &state.throttle_policy {
        Value::Known(t) => t.max_receives_per_second.known(),
        _ => None,
    };
    let retry = match &state.retry_policy {
        Value::Known(r) => RetryPolicy {
            num_retries: r.num_retries.unwrap_or(d.num_retries),
            num_no_delay_retries: r.num_no_delay_retries.unwrap_or(d.num_no_delay_retries),
            num_min_delay_retries: r.num_min_delay_retries.unwrap_or(d.num_min_delay_retries),
            min_delay_target: r.min_delay_target.unwrap_or(d.min_delay_target),
            max_delay_target: r.max_delay_target.unwrap_or(d.max_delay_target),
            num_max_delay_retries: r.num_max_delay_retries.unwrap_or(d.num_max_delay_retries),
            backoff_function: r.backoff_function.clone().unwrap_or(d.backoff_function),
        },
        _ => d,
    };
    DeliveryPolicy {
        max_receives_per_second: Some(rate.unwrap_or(DEFAULT_MAX_RECEIVES_PER_SECOND)),
        retry,
    }
}

/// `throttle_policy` of a policy (a policy without throttle has a null rate, which plans an update).
fn throttle_state(policy: &DeliveryPolicy) -> Value<ThrottleState> {
    Value::Known(ThrottleState {
        max_receives_per_second: policy.max_receives_per_second.into(),
    })
}

/// `retry_policy` of a policy.
fn retry_state(r: &RetryPolicy) -> Value<RetryState> {
    Value::Known(RetryState {
        num_retries: Value::Known(r.num_retries),
        num_no_delay_retries: Value::Known(r.num_no_delay_retries),
        num_min_delay_retries: Value::Known(r.num_min_delay_retries),
        min_delay_target: Value::Known(r.min_delay_target),
        max_delay_target: Value::Known(r.max_delay_target),
        num_max_delay_retries: Value::Known(r.num_max_delay_retries),
        backoff_function: Value::Known(r.backoff_function.clone()),
    })
}

/// The RedrivePolicy attribute's value: the queue, or empty (which detaches one).
fn redrive_policy(dead_letter_queue_arn: Option<&str>) -> String {
    dead_letter_queue_arn.map_or_else(String::new, |arn| {
        json!({ "deadLetterTargetArn": arn }).to_string()
    })
}

/// The queue a RedrivePolicy attribute names, if any.
fn dead_letter_target(redrive_policy: Option<&str>) -> Option<String> {
    let policy: serde_json::Value = serde_json::from_str(redrive_policy?).ok()?;
    policy["deadLetterTargetArn"]
        .as_str()
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
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

/// What is wrong with a configuration's delivery policy and queue, each at its attribute path. Fields left out
/// count as their defaults; unknown fields are not checked (nor the rules they take part in).
fn problems(config: &SubscriptionState) -> Vec<(Vec<&'static str>, String)> {
    let mut out = Vec::new();
    if let Value::Known(t) = &config.throttle_policy
        && let Value::Known(rate) = t.max_receives_per_second
        && rate < 1
    {
        out.push((
            vec!["throttle_policy", "max_receives_per_second"],
            format!("must be 1 or more deliveries per second, got {rate}"),
        ));
    }
    if let Value::Known(r) = &config.retry_policy {
        out.extend(retry_problems(r).into_iter().map(|(field, message)| {
            (
                field.map_or(vec!["retry_policy"], |f| vec!["retry_policy", f]),
                message,
            )
        }));
    }
    if let Value::Known(arn) = &config.dead_letter_queue_arn
        && let Some(problem) = queue_problem(arn, config.topic_arn.as_deref().known())
    {
        out.push((vec!["dead_letter_queue_arn"], problem));
    }
    out
}

/// What is wrong with a configured retry policy: `(Some(field), message)`, or `(None, message)` for a rule
/// over several fields.
fn retry_problems(r: &RetryState) -> Vec<(Option<&'static str>, String)> {
    let d = RetryPolicy::klaxon_default();
    // Left out = default; unknown = None.
    let field = |v: &Value<i64>, default: i64| match v {
        Value::Known(n) => Some(*n),
        Value::Null => Some(default),
        Value::Unknown => None,
    };
    let retries = field(&r.num_retries, d.num_retries);
    let no_delay = field(&r.num_no_delay_retries, d.num_no_delay_retries);
    let min_delay = field(&r.num_min_delay_retries, d.num_min_delay_retries);
    let max_delay = field(&r.num_max_delay_retries, d.num_max_delay_retries);
    let min = field(&r.min_delay_target, d.min_delay_target);
    let max = field(&r.max_delay_target, d.max_delay_target);

    let mut out = Vec::new();
    if let Some(n) = retries
        && !(0..=MAX_RETRIES).contains(&n)
    {
        out.push((
            Some("num_retries"),
            format!("must be 0 to {MAX_RETRIES} (SNS's limit), got {n}"),
        ));
    }
    for (name, v) in [
        ("num_no_delay_retries", no_delay),
        ("num_min_delay_retries", min_delay),
        ("num_max_delay_retries", max_delay),
    ] {
        if let Some(n) = v
            && n < 0
        {
            out.push((Some(name), format!("must be 0 or more, got {n}")));
        }
    }
    if let Some(n) = min
        && n < 1
    {
        out.push((
            Some("min_delay_target"),
            format!("must be at least 1 second, got {n}"),
        ));
    }
    if let Some(n) = max
        && !(1..=MAX_POLICY_SECONDS).contains(&n)
    {
        out.push((
            Some("max_delay_target"),
            format!("must be 1 to {MAX_POLICY_SECONDS} seconds, got {n}"),
        ));
    }
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        out.push((
            Some("min_delay_target"),
            format!("must not exceed max_delay_target: {lo} > {hi}"),
        ));
    }
    if let Value::Known(f) = &r.backoff_function
        && !BACKOFF_FUNCTIONS.contains(&f.as_str())
    {
        out.push((
            Some("backoff_function"),
            format!(
                "{f:?} is not a backoff function; use one of {}",
                BACKOFF_FUNCTIONS.join(", ")
            ),
        ));
    }
    let (Some(retries), Some(no_delay), Some(min_delay), Some(max_delay), Some(min), Some(max)) =
        (retries, no_delay, min_delay, max_delay, min, max)
    else {
        return out;
    };
    if !out.is_empty() {
        return out;
    }
    let phases = no_delay + min_delay + max_delay;
    if phases > retries {
        out.push((
            Some("num_retries"),
            format!(
                "must be at least num_no_delay_retries + num_min_delay_retries + num_max_delay_retries \
                 ({no_delay} + {min_delay} + {max_delay} = {phases}), got {retries}"
            ),
        ));
        return out;
    }
    let policy = RetryPolicy {
        num_retries: retries,
        num_no_delay_retries: no_delay,
        num_min_delay_retries: min_delay,
        min_delay_target: min,
        max_delay_target: max,
        num_max_delay_retries: max_delay,
        backoff_function: d.backoff_function,
    };
    let worst = policy.worst_case_seconds();
    if worst > MAX_POLICY_SECONDS {
        out.push((
            None,
            format!(
                "the retries could take up to {worst} s ({min_delay} × {min} s + {} × {max} s, every backoff \
                 retry counted at max_delay_target), over the {MAX_POLICY_SECONDS} s SNS allows an HTTP/S \
                 policy; lower num_retries or max_delay_target",
                retries - no_delay - min_delay
            ),
        ));
    }
    out
}

/// What is wrong with a dead-letter queue ARN (`arn:PARTITION:sqs:REGION:ACCOUNT:NAME`), including a region or
/// account other than the topic's (SNS requires the queue in the subscription's account and region).
fn queue_problem(arn: &str, topic_arn: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let well_formed = match parts.as_slice() {
        ["arn", partition, "sqs", region, account, name] => {
            partition.starts_with("aws")
                && !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && queue_name_ok(name)
        }
        _ => false,
    };
    if !well_formed {
        return Some(format!(
            "{arn:?} is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT_ID:QUEUE_NAME)"
        ));
    }
    let topic: Vec<&str> = topic_arn?.split(':').collect();
    match (topic.as_slice(), parts.as_slice()) {
        ([_, _, _, t_region, t_account, ..], [_, _, _, q_region, q_account, _])
            if (t_region, t_account) != (q_region, q_account) =>
        {
            Some(format!(
                "the queue is in {q_region}/{q_account} but the topic in {t_region}/{t_account}; SNS needs the \
                 dead-letter queue in the subscription's account and region"
            ))
        }
        _ => None,
    }
}

/// An SQS queue name: 1 to 80 letters, digits, `-` and `_`, a FIFO queue's ending in `.fifo` (counted).
fn queue_name_ok(name: &str) -> bool {
    let stem = name.strip_suffix(".fifo").unwrap_or(name);
    !stem.is_empty()
        && name.len() <= 80
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:alarms";

    fn config() -> SubscriptionState {
        SubscriptionState {
            id: Value::Null,
            topic_arn: Value::Known(TOPIC.into()),
            endpoint_id: Value::Known("end_1".into()),
            subscription_arn: Value::Null,
            confirmed: Value::Null,
            throttle_policy: Value::Null,
            retry_policy: Value::Null,
            dead_letter_queue_arn: Value::Null,
        }
    }

    fn retry(f: impl FnOnce(&mut RetryState)) -> RetryState {
        let mut r = RetryState {
            num_retries: Value::Null,
            num_no_delay_retries: Value::Null,
            num_min_delay_retries: Value::Null,
            min_delay_target: Value::Null,
            max_delay_target: Value::Null,
            num_max_delay_retries: Value::Null,
            backoff_function: Value::Null,
        };
        f(&mut r);
        r
    }

    fn json(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn default_policy_json_retries_for_the_hour_at_the_ingest_rate() {
        let c = config();
        let plan = planned(c.clone(), &c);
        let policy = policy_of(&plan);
        assert_eq!(
            json(&policy.to_json()),
            json(
                r#"{"healthyRetryPolicy":{"numRetries":60,"numNoDelayRetries":0,"numMinDelayRetries":3,
                    "minDelayTarget":5,"maxDelayTarget":60,"numMaxDelayRetries":47,"backoffFunction":"exponential"},
                    "throttlePolicy":{"maxReceivesPerSecond":50}}"#
            )
        );
        // The documented bounds: at least every backoff retry at the minimum, at most every one at the maximum.
        let r = &policy.retry;
        let backoff =
            r.num_retries - r.num_no_delay_retries - r.num_min_delay_retries - r.num_max_delay_retries;
        let best = r.num_min_delay_retries * r.min_delay_target
            + backoff * r.min_delay_target
            + r.num_max_delay_retries * r.max_delay_target;
        assert_eq!((best / 60, r.worst_case_seconds() / 60), (48, 57));
        assert!(r.worst_case_seconds() <= MAX_POLICY_SECONDS);
        assert!(
            retry_problems(&retry(|_| {})).is_empty(),
            "the defaults pass validation"
        );
        // Planned state carries every default, so the plan shows them.
        assert_eq!(plan.retry_policy, retry_state(&RetryPolicy::klaxon_default()));
        assert_eq!(
            plan.throttle_policy,
            Value::Known(ThrottleState {
                max_receives_per_second: Value::Known(50)
            })
        );
    }

    #[test]
    fn overrides_replace_only_their_fields() {
        let mut c = config();
        c.throttle_policy = Value::Known(ThrottleState {
            max_receives_per_second: Value::Known(10),
        });
        c.retry_policy = Value::Known(retry(|r| {
            r.num_retries = Value::Known(20);
            r.max_delay_target = Value::Known(120);
            r.backoff_function = Value::Known("linear".into());
        }));
        let policy = policy_of(&planned(c.clone(), &c));
        assert_eq!(
            json(&policy.to_json()),
            json(
                r#"{"healthyRetryPolicy":{"numRetries":20,"numNoDelayRetries":0,"numMinDelayRetries":3,
                    "minDelayTarget":5,"maxDelayTarget":120,"numMaxDelayRetries":47,"backoffFunction":"linear"},
                    "throttlePolicy":{"maxReceivesPerSecond":10}}"#
            )
        );

        // A field removed from the configuration plans its default, not the prior value the proposal kept.
        let mut proposed = c.clone();
        proposed.retry_policy = Value::Known(retry(|r| {
            r.num_retries = Value::Known(20);
            r.max_delay_target = Value::Known(120);
            r.backoff_function = Value::Known("linear".into());
        }));
        let mut without = c;
        without.retry_policy = Value::Known(retry(|r| r.num_retries = Value::Known(20)));
        let plan = planned(proposed, &without);
        assert_eq!(policy_of(&plan).retry.max_delay_target, 60);
        assert_eq!(policy_of(&plan).retry.backoff_function, "exponential");

        // Unknown configuration stays unknown until apply.
        let mut unknown = config();
        unknown.retry_policy = Value::Known(retry(|r| r.num_retries = Value::Unknown));
        unknown.throttle_policy = Value::Unknown;
        let plan = planned(unknown.clone(), &unknown);
        assert!(plan.throttle_policy.is_unknown());
        let Value::Known(r) = plan.retry_policy else {
            panic!()
        };
        assert!(r.num_retries.is_unknown());
        assert_eq!(r.min_delay_target, Value::Known(5));
    }

    #[test]
    fn read_back_compares_values_not_text() {
        let written = policy_of(&planned(config(), &config()));
        // What SNS may send back: other key order, spacing, numbers as strings, extra keys, upper-case function.
        let reformatted = r#"{ "throttlePolicy": {"maxReceivesPerSecond": "50"}, "guaranteed": false,
            "healthyRetryPolicy": {"backoffFunction": "EXPONENTIAL", "numMaxDelayRetries": 47.0,
            "maxDelayTarget": 60, "minDelayTarget": 5, "numMinDelayRetries": 3, "numNoDelayRetries": 0,
            "numRetries": 60}, "sicklyRetryPolicy": null }"#;
        assert_eq!(DeliveryPolicy::from_json(Some(reformatted)), written);
        assert_eq!(DeliveryPolicy::from_json(Some(&written.to_json())), written);

        // No policy at all is SNS's own: 3 retries 20 s apart, no throttle. It differs from the plan: drift.
        let none = DeliveryPolicy::from_json(None);
        assert_eq!(none.retry.num_retries, 3);
        assert_eq!(
            (none.retry.min_delay_target, none.retry.max_delay_target),
            (20, 20)
        );
        assert_eq!(none.max_receives_per_second, None);
        assert_eq!(DeliveryPolicy::from_json(Some("")), none);
        assert_eq!(
            throttle_state(&none),
            Value::Known(ThrottleState {
                max_receives_per_second: Value::Null
            })
        );

        // A change outside terraform reads as that change.
        let edited = written.to_json().replace("\"numRetries\":60", "\"numRetries\":3");
        assert_eq!(DeliveryPolicy::from_json(Some(&edited)).retry.num_retries, 3);
    }

    #[test]
    fn dead_letter_queue_is_a_redrive_policy() {
        let arn = "arn:aws:sqs:eu-west-1:123456789012:klaxon-dlq";
        let policy = redrive_policy(Some(arn));
        assert_eq!(
            json(&policy),
            json(r#"{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:123456789012:klaxon-dlq"}"#)
        );
        assert_eq!(dead_letter_target(Some(&policy)).as_deref(), Some(arn));
        assert_eq!(redrive_policy(None), "");
        assert_eq!(dead_letter_target(Some("")), None);
        assert_eq!(dead_letter_target(None), None);

        let attrs = HashMap::from([
            ("RedrivePolicy".to_owned(), policy),
            ("PendingConfirmation".to_owned(), "false".to_owned()),
        ]);
        let state = flatten("arn:sub".into(), Value::Known(TOPIC.into()), Value::Null, &attrs);
        assert_eq!(state.dead_letter_queue_arn, Value::Known(arn.to_owned()));
        assert_eq!(state.confirmed, Value::Known(true));
    }

    #[test]
    fn bad_values_are_named_at_their_paths() {
        let at = |c: &SubscriptionState| -> Vec<String> {
            problems(c).into_iter().map(|(p, _)| p.join(".")).collect()
        };

        let mut c = config();
        c.retry_policy = Value::Known(retry(|r| {
            r.min_delay_target = Value::Known(90);
        }));
        assert_eq!(
            at(&c),
            ["retry_policy.min_delay_target"],
            "min above the default max"
        );

        c.retry_policy = Value::Known(retry(|r| r.num_retries = Value::Known(101)));
        assert_eq!(at(&c), ["retry_policy.num_retries"]);

        c.retry_policy = Value::Known(retry(|r| {
            r.max_delay_target = Value::Known(3601);
            r.min_delay_target = Value::Known(0);
            r.num_no_delay_retries = Value::Known(-1);
            r.backoff_function = Value::Known("Exponential".into());
        }));
        assert_eq!(
            at(&c),
            [
                "retry_policy.num_no_delay_retries",
                "retry_policy.min_delay_target",
                "retry_policy.max_delay_target",
                "retry_policy.backoff_function"
            ]
        );

        // Phases beyond the total.
        c.retry_policy = Value::Known(retry(|r| r.num_retries = Value::Known(40)));
        assert_eq!(at(&c), ["retry_policy.num_retries"]);

        // Over the hour even though every field is in range: 100 retries, 97 of them up to a minute.
        c.retry_policy = Value::Known(retry(|r| {
            r.num_retries = Value::Known(100);
            r.num_max_delay_retries = Value::Known(80);
        }));
        let found = problems(&c);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, ["retry_policy"]);
        assert!(found[0].1.contains("5835 s"), "{}", found[0].1);

        // Exactly the hour is allowed; unknown fields skip the rules they are in.
        c.retry_policy = Value::Known(retry(|r| {
            r.num_retries = Value::Known(60);
            r.num_min_delay_retries = Value::Known(0);
            r.num_max_delay_retries = Value::Known(50);
        }));
        assert!(at(&c).is_empty());
        c.retry_policy = Value::Known(retry(|r| {
            r.num_retries = Value::Unknown;
            r.num_max_delay_retries = Value::Known(99);
        }));
        assert!(at(&c).is_empty());

        c.retry_policy = Value::Null;
        c.throttle_policy = Value::Known(ThrottleState {
            max_receives_per_second: Value::Known(0),
        });
        assert_eq!(at(&c), ["throttle_policy.max_receives_per_second"]);

        c.throttle_policy = Value::Null;
        for bad in [
            "klaxon-dlq",
            "arn:aws:sns:eu-west-1:123456789012:klaxon-dlq",
            "arn:aws:sqs:eu-west-1:12345:klaxon-dlq",
            "arn:aws:sqs:eu-west-1:123456789012:has space",
            "arn:aws:sqs:eu-west-1:123456789012:",
        ] {
            c.dead_letter_queue_arn = Value::Known(bad.into());
            assert_eq!(at(&c), ["dead_letter_queue_arn"], "{bad}");
        }
        c.dead_letter_queue_arn = Value::Known("arn:aws:sqs:us-east-1:123456789012:klaxon-dlq".into());
        assert!(
            problems(&c)[0].1.contains("region"),
            "another region than the topic's"
        );
        for good in [
            "arn:aws:sqs:eu-west-1:123456789012:klaxon-dlq",
            "arn:aws:sqs:eu-west-1:123456789012:klaxon_dlq.fifo",
        ] {
            c.dead_letter_queue_arn = Value::Known(good.into());
            assert!(at(&c).is_empty(), "{good}");
        }
    }
}
