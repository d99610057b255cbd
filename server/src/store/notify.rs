//! Subscriptions and their deliveries.

use app::api::{Delivery, Subscription};
use sqlx::{any::AnyRow, Row};

use super::{now_rfc3339, Store, StoreResult};

/// A delivery that is due, with what sending it needs.
#[derive(Debug)]
pub struct DueDelivery {
    pub id: i64,
    pub attempts: u32,
    pub method: String,
    pub target: String,
    pub secret: Option<String>,
    pub event_id: i64,
    pub code: String,
    pub severity: String,
    pub time: String,
    pub message: String,
}

fn subscription_from(row: AnyRow) -> StoreResult<Subscription> {
    let method: String = row.try_get("method")?;
    let target: String = row.try_get("target")?;
    let webhook = method == "webhook";
    Ok(Subscription {
        id: row.try_get("id")?,
        event: row.try_get("event")?,
        url: webhook.then(|| target.clone()),
        address: (!webhook).then_some(target),
        method,
        secret: None,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Stores a subscription; `false` when the user already has the most the database allows
    /// (migration 0014's trigger).
    pub async fn insert_subscription(
        &self,
        user_id: &str,
        subscription: &Subscription,
        secret: Option<&str>,
    ) -> StoreResult<bool> {
        let target = subscription
            .url
            .as_deref()
            .or(subscription.address.as_deref())
            .unwrap_or_default();
        let inserted = sqlx::query(
            "INSERT INTO subscriptions (id, user_id, event, method, target, secret, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&subscription.id)
        .bind(user_id)
        .bind(&subscription.event)
        .bind(&subscription.method)
        .bind(target)
        .bind(secret)
        .bind(&subscription.created_at)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(error)) if error.message().contains("subscription_limit") => {
                Ok(false)
            }
            Err(error) => Err(error.into()),
        }
    }

    pub async fn subscriptions_of(&self, user_id: &str) -> StoreResult<Vec<Subscription>> {
        sqlx::query(
            "SELECT id, event, method, target, created_at FROM subscriptions
             WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(subscription_from)
        .collect()
    }

    /// Deletes one of the user's subscriptions; false when the user has none with that id.
    pub async fn delete_subscription(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM subscriptions WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One pending delivery per subscription to the event's kind.
    pub async fn queue_deliveries(&self, event_id: i64, code: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO deliveries (subscription_id, event_id, status, next_attempt_at)
             SELECT id, $1, 'pending', $2 FROM subscriptions WHERE event = $3
             ON CONFLICT DO NOTHING",
        )
        .bind(event_id)
        .bind(now_rfc3339())
        .bind(code)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Due deliveries, the oldest first, at most one per target and none to the targets in
    /// `busy` (those still being sent to): a slow target holds only its own queue.
    pub async fn due_deliveries(
        &self,
        limit: i64,
        busy: &[String],
    ) -> StoreResult<Vec<DueDelivery>> {
        let busy = serde_json::to_string(busy).map_err(|e| super::corrupt("busy targets", e))?;
        sqlx::query(
            "SELECT id, attempts, method, target, secret, event_id, code, severity, time, message
             FROM (SELECT d.id, d.attempts, s.method, s.target, s.secret, e.id AS event_id,
                          e.code, e.severity, e.time, e.message, d.next_attempt_at,
                          ROW_NUMBER() OVER (PARTITION BY s.target
                                             ORDER BY d.next_attempt_at, d.id) AS place
                   FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
                   JOIN events e ON e.id = d.event_id
                   WHERE d.status = 'pending' AND d.next_attempt_at <= $1
                     AND s.target NOT IN (SELECT value FROM json_each($2))) AS due
             WHERE place = 1
             ORDER BY next_attempt_at, id LIMIT $3",
        )
        .bind(now_rfc3339())
        .bind(busy)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| {
            let attempts: i64 = row.try_get("attempts")?;
            Ok(DueDelivery {
                id: row.try_get("id")?,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                method: row.try_get("method")?,
                target: row.try_get("target")?,
                secret: row.try_get("secret")?,
                event_id: row.try_get("event_id")?,
                code: row.try_get("code")?,
                severity: row.try_get("severity")?,
                time: row.try_get("time")?,
                message: row.try_get("message")?,
            })
        })
        .collect()
    }

    /// Records an attempt: delivered, retried at `retry_at`, or given up (`retry_at` None).
    pub async fn record_delivery(
        &self,
        id: i64,
        outcome: Result<(), (&str, Option<&str>)>,
    ) -> StoreResult<()> {
        let now = now_rfc3339();
        let query = match outcome {
            Ok(()) => sqlx::query(
                "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1,
                        delivered_at = $1, last_error = NULL WHERE id = $2",
            )
            .bind(now)
            .bind(id),
            Err((error, retry_at)) => sqlx::query(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = $1,
                        status = CASE WHEN $2 IS NULL THEN 'failed' ELSE 'pending' END,
                        next_attempt_at = COALESCE($3, next_attempt_at) WHERE id = $4",
            )
            .bind(error.to_string())
            .bind(retry_at.map(str::to_string))
            .bind(retry_at.map(str::to_string))
            .bind(id),
        };
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// The newest deliveries of the user's subscriptions.
    pub async fn deliveries_of(&self, user_id: &str, limit: i64) -> StoreResult<Vec<Delivery>> {
        sqlx::query(
            "SELECT d.id, d.subscription_id, e.code, e.message, d.status, d.attempts,
                    d.last_error, d.delivered_at
             FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
             JOIN events e ON e.id = d.event_id
             WHERE s.user_id = $1 ORDER BY d.id DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| {
            let attempts: i64 = row.try_get("attempts")?;
            Ok(Delivery {
                id: row.try_get("id")?,
                subscription_id: row.try_get("subscription_id")?,
                event: row.try_get("code")?,
                message: row.try_get("message")?,
                status: row.try_get("status")?,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                last_error: row.try_get("last_error")?,
                delivered_at: row.try_get("delivered_at")?,
            })
        })
        .collect()
    }
}
