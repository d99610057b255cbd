//! Notification subscriptions (SPEC §4): a user subscribes to an event kind by webhook or by
//! email. When
//! such an event is written, a delivery row is written with it, so the producer never waits for
//! a network. The delivery loop then sends what is due, retries with backoff and survives
//! restarts. A webhook is a JSON POST signed with `X-Uplift-Signature: sha256=HEX`, the
//! HMAC-SHA256 of the raw body with the subscription's secret. Email goes through the SMTP
//! server of `SmtpServer` (port, sender and TLS from the other `Smtp*` values).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use app::api::{Caller, Delivery, NewSubscription, Subscription};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use super::outbound::{self, Allowed, OutboundError, WebhookClient};
use super::{Service, ServiceError, ServiceResult};
use crate::credentials::random_secret;
use crate::store::{new_id, rfc3339, DueDelivery};

pub use app::api::SUBSCRIBABLE_EVENTS as EVENT_KINDS;

/// How often the delivery loop looks for due deliveries, and how many it sends at once (one
/// per target: a target that is slow to answer holds up only its own deliveries).
const TICK: Duration = Duration::from_millis(500);
const BATCH: i64 = 32;
/// The most subscriptions one user may have (migration 0014's trigger keeps it).
pub const MAX_SUBSCRIPTIONS: usize = 20;
/// A delivery is given up after this many attempts (backoff 2, 4, 8 … seconds, at most 5 min).
const MAX_ATTEMPTS: u32 = 8;
/// How long a webhook or a mail server may take to answer.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

fn lock(busy: &Mutex<HashSet<String>>) -> MutexGuard<'_, HashSet<String>> {
    busy.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `sha256=HEX` of the HMAC-SHA256 of `body` with `secret`.
pub fn signature(secret: &str, body: &[u8]) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| format!("the webhook's secret cannot key an HMAC: {e}"))?;
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// Seconds before attempt `attempts + 1`.
fn backoff(attempts: u32) -> i64 {
    (2_i64 << attempts.min(16)).min(300)
}

impl Service {
    pub async fn subscriptions(&self, caller: &Caller) -> ServiceResult<Vec<Subscription>> {
        Ok(self.store().subscriptions_of(&caller.user_id).await?)
    }

    pub async fn deliveries(&self, caller: &Caller) -> ServiceResult<Vec<Delivery>> {
        Ok(self.store().deliveries_of(&caller.user_id, 50).await?)
    }

    /// Any signed-in user subscribes for themselves.
    pub async fn subscribe(
        &self,
        caller: &Caller,
        new: NewSubscription,
    ) -> ServiceResult<Subscription> {
        if !EVENT_KINDS.contains(&new.event.as_str()) {
            return Err(ServiceError::invalid(
                "invalid_event",
                format!(
                    "{:?} is not an event one can subscribe to; use one of {}.",
                    new.event,
                    EVENT_KINDS.join(", ")
                ),
            ));
        }
        let (url, address, secret) = match new.method.as_str() {
            "webhook" => {
                let url = new.url.ok_or_else(|| {
                    ServiceError::invalid("invalid_url", "A webhook needs an http(s) \"url\".")
                })?;
                let allowed = self.webhook_networks().await?;
                outbound::check_url(&url, &allowed).map_err(|error| match error {
                    OutboundError::BadUrl(_) => {
                        ServiceError::invalid("invalid_url", "A webhook needs an http(s) \"url\".")
                    }
                    other => {
                        ServiceError::invalid("invalid_url", format!("The webhook URL is {other}."))
                    }
                })?;
                let secret = new
                    .secret
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| random_secret(24));
                (Some(url), None, Some(secret))
            }
            "email" => {
                let address = new.address.filter(|a| a.parse::<lettre::Address>().is_ok());
                let address = address.ok_or_else(|| {
                    ServiceError::invalid(
                        "invalid_address",
                        "An email subscription needs a valid \"address\".",
                    )
                })?;
                (None, Some(address), None)
            }
            other => {
                return Err(ServiceError::invalid(
                    "invalid_method",
                    format!("{other:?} is not a method; use webhook or email."),
                ))
            }
        };
        let mut subscription = Subscription {
            id: new_id(),
            event: new.event,
            method: new.method,
            url,
            address,
            secret: None,
            created_at: rfc3339(OffsetDateTime::now_utc()),
        };
        if !self
            .store()
            .insert_subscription(&caller.user_id, &subscription, secret.as_deref())
            .await?
        {
            return Err(ServiceError::Conflict(format!(
                "You have {MAX_SUBSCRIPTIONS} subscriptions, the most a user may have; delete one first."
            )));
        }
        self.record(
            "subscription_created",
            app::api::Severity::Normal,
            format!(
                "{} subscribed to {} by {}.",
                caller.name, subscription.event, subscription.method
            ),
            Some(&caller.name),
        )
        .await?;
        subscription.secret = secret;
        Ok(subscription)
    }

    pub async fn unsubscribe(&self, caller: &Caller, id: &str) -> ServiceResult<()> {
        if !self
            .store()
            .delete_subscription(&caller.user_id, id)
            .await?
        {
            return Err(ServiceError::NotFound(format!(
                "You have no subscription with id {id}."
            )));
        }
        self.record(
            "subscription_deleted",
            app::api::Severity::Normal,
            format!("{} deleted a subscription.", caller.name),
            Some(&caller.name),
        )
        .await
    }

    /// The networks webhooks may reach besides the public internet.
    async fn webhook_networks(&self) -> ServiceResult<Allowed> {
        let value = self.config_text("WebhookAllowedNetworks").await?;
        Ok(Allowed(crate::domain::config::networks(&value)))
    }

    /// Sends due deliveries, forever. Each send runs on its own task, at most one per target
    /// at a time, so a webhook that never answers delays nobody else's notifications. The
    /// HTTP client is made again when an admin changes `WebhookAllowedNetworks`.
    pub async fn run_deliveries(self) {
        let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
        let mut client: Option<(String, Arc<WebhookClient>)> = None;
        loop {
            let targets: Vec<String> = lock(&busy).iter().cloned().collect();
            let room = BATCH - targets.len() as i64;
            let due = if room > 0 {
                self.store()
                    .due_deliveries(room, &targets)
                    .await
                    .unwrap_or_else(|error| {
                        tracing::warn!(%error, "cannot read due deliveries");
                        Vec::new()
                    })
            } else {
                Vec::new()
            };
            if !due.is_empty() {
                match self.current_client(client.take()).await {
                    Ok(current) => {
                        for delivery in due {
                            lock(&busy).insert(delivery.target.clone());
                            let (service, busy, http) =
                                (self.clone(), busy.clone(), current.1.clone());
                            tokio::spawn(async move {
                                service.deliver(&http, &delivery).await;
                                lock(&busy).remove(&delivery.target);
                            });
                        }
                        client = Some(current);
                    }
                    Err(error) => tracing::error!(%error, "webhooks are not delivered"),
                }
            }
            tokio::time::sleep(TICK).await;
        }
    }

    async fn current_client(
        &self,
        cached: Option<(String, Arc<WebhookClient>)>,
    ) -> ServiceResult<(String, Arc<WebhookClient>)> {
        let value = self.config_text("WebhookAllowedNetworks").await?;
        match cached {
            Some((networks, client)) if networks == value => Ok((networks, client)),
            _ => {
                let allowed = Allowed(crate::domain::config::networks(&value));
                let client = WebhookClient::new(allowed, WEBHOOK_TIMEOUT)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
                Ok((value, Arc::new(client)))
            }
        }
    }

    async fn deliver(&self, client: &WebhookClient, delivery: &DueDelivery) {
        let outcome = match delivery.method.as_str() {
            "email" => self.send_email(delivery).await,
            _ => send_webhook(client, delivery)
                .await
                .map_err(|e| e.to_string()),
        };
        let retry_at = (delivery.attempts + 1 < MAX_ATTEMPTS).then(|| {
            rfc3339(OffsetDateTime::now_utc() + time::Duration::seconds(backoff(delivery.attempts)))
        });
        let recorded = match &outcome {
            Ok(()) => self.store().record_delivery(delivery.id, Ok(())).await,
            Err(error) => {
                tracing::warn!(delivery = delivery.id, %error, "a notification was not delivered");
                self.store()
                    .record_delivery(delivery.id, Err((error, retry_at.as_deref())))
                    .await
            }
        };
        if let Err(error) = recorded {
            tracing::error!(delivery = delivery.id, %error, "cannot record a delivery attempt");
        }
    }
}

impl Service {
    async fn send_email(&self, delivery: &DueDelivery) -> Result<(), String> {
        use lettre::message::header::ContentType;
        use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

        let text = |e: ServiceError| e.to_string();
        let server = self.config_text("SmtpServer").await.map_err(text)?;
        if server.is_empty() {
            return Err("no mail server is configured (SmtpServer)".to_string());
        }
        let port = u16::try_from(self.config_number("SmtpPort").await.map_err(text)?)
            .map_err(|e| format!("SmtpPort: {e}"))?;
        let from = self.config_text("SmtpFrom").await.map_err(text)?;
        let message = Message::builder()
            .from(
                from.parse()
                    .map_err(|e| format!("SmtpFrom {from:?}: {e}"))?,
            )
            .to(delivery
                .target
                .parse()
                .map_err(|e| format!("the address {:?}: {e}", delivery.target))?)
            .subject(format!("[Uplift] {}", delivery.code.replace('_', " ")))
            .header(ContentType::TEXT_PLAIN)
            .body(format!(
                "{}\n\nEvent {} ({}), {}.\n",
                delivery.message, delivery.code, delivery.severity, delivery.time
            ))
            .map_err(|e| format!("the mail cannot be built: {e}"))?;
        let builder = match self.config_text("SmtpTls").await.map_err(text)?.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&server),
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&server),
            _ => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &server,
            )),
        }
        .map_err(|e| format!("the mail server {server}: {e}"))?;
        builder
            .port(port)
            .timeout(Some(WEBHOOK_TIMEOUT))
            .build()
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("the mail server {server}:{port} refused the mail: {e}"))
    }
}

async fn send_webhook(client: &WebhookClient, delivery: &DueDelivery) -> Result<(), OutboundError> {
    let body = serde_json::json!({
        "event": delivery.code,
        "event_id": delivery.event_id,
        "severity": delivery.severity,
        "time": delivery.time,
        "message": delivery.message,
    })
    .to_string();
    let signed = signature(
        delivery.secret.as_deref().unwrap_or_default(),
        body.as_bytes(),
    )
    .map_err(OutboundError::Client)?;
    client
        .post(&delivery.target, &[("x-uplift-signature", signed)], body)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            Ok("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843".into())
        );
    }

    #[test]
    fn backoff_grows_and_stops_growing() {
        assert_eq!(backoff(0), 2);
        assert_eq!(backoff(3), 16);
        assert_eq!(backoff(20), 300);
    }
}
