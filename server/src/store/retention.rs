//! Retention: what the periodic prune deletes. Each kind has its own cutoff (a config value
//! each, read by `service::retention`); rows something still needs are kept: a pending
//! delivery keeps its event, a job that is running keeps its parent, an unended job is never
//! deleted.

use super::{Store, StoreResult};

/// The cutoffs of one prune, as RFC 3339 times: rows older than these go.
#[derive(Clone, Debug)]
pub struct Cutoffs {
    pub events: String,
    pub jobs: String,
    pub deliveries: String,
    /// Tokens that expired before this go (now: an expired token is of no use).
    pub tokens: String,
}

/// How many rows one prune deleted, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub events: u64,
    pub jobs: u64,
    pub deliveries: u64,
    pub tokens: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.events + self.jobs + self.deliveries + self.tokens
    }
}

/// Jobs a prune may delete: ended before the cutoff, and no job still refers to them.
const PRUNABLE_JOBS: &str = "SELECT j.id FROM jobs j
     WHERE j.ended_at IS NOT NULL AND j.ended_at < $1
       AND NOT EXISTS (SELECT 1 FROM jobs c WHERE c.parent_id = j.id)";

impl Store {
    /// Deletes what is older than `cutoffs`, in one transaction.
    pub async fn prune(&self, cutoffs: &Cutoffs) -> StoreResult<Pruned> {
        let mut tx = self.pool.begin().await?;
        let deliveries = sqlx::query(
            "DELETE FROM deliveries WHERE status <> 'pending'
               AND event_id IN (SELECT id FROM events WHERE time < $1)",
        )
        .bind(&cutoffs.deliveries)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let events = sqlx::query(
            "DELETE FROM events WHERE time < $1
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)",
        )
        .bind(&cutoffs.events)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let mut pruned = Pruned {
            events,
            deliveries,
            ..Pruned::default()
        };
        // Children before their parents: a cluster run's host upgrades go first, the run in
        // the next round. Runs nest one level, so three rounds end it.
        for _ in 0..3 {
            sqlx::query(&format!(
                "DELETE FROM job_steps WHERE job_id IN ({PRUNABLE_JOBS})"
            ))
            .bind(&cutoffs.jobs)
            .execute(&mut *tx)
            .await?;
            let jobs = sqlx::query(&format!("DELETE FROM jobs WHERE id IN ({PRUNABLE_JOBS})"))
                .bind(&cutoffs.jobs)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            pruned.jobs += jobs;
            if jobs == 0 {
                break;
            }
        }
        pruned.tokens = sqlx::query("DELETE FROM api_tokens WHERE expires_at < $1")
            .bind(&cutoffs.tokens)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // The change log keeps its newest rows only (a browser further behind resyncs).
        sqlx::query(
            "DELETE FROM changes WHERE id <= (SELECT COALESCE(MAX(id), 0) FROM changes) - $1",
        )
        .bind(super::changes::CHANGES_KEPT)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(pruned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "2020-01-01T00:00:00.000Z";
    const NEW: &str = "2030-01-01T00:00:00.000Z";

    async fn run(store: &Store, sql: &str) {
        sqlx::query(sql).execute(&store.pool).await.unwrap();
    }

    async fn count(store: &Store, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_prune_deletes_what_is_old_and_keeps_what_is_still_needed() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = Store::open(&url).await.unwrap();
        run(
            &store,
            "INSERT INTO users (id, name, role, password_hash, created_at)
                     VALUES ('u', 'u', 'viewer', 'x', '2020-01-01')",
        )
        .await;
        run(
            &store,
            "INSERT INTO subscriptions (id, user_id, event, method, target, created_at)
                     VALUES ('s', 'u', 'host_upgrade_failed', 'webhook', 'https://x', '2020')",
        )
        .await;
        // Events 1 and 2 are old; 2 has a delivery still pending; 3 is new.
        for (id, time) in [(1, OLD), (2, OLD), (3, NEW)] {
            run(
                &store,
                &format!(
                    "INSERT INTO events (id, code, severity, time, message)
                                  VALUES ({id}, 'x', 'normal', '{time}', 'm')"
                ),
            )
            .await;
        }
        run(
            &store,
            "INSERT INTO deliveries (subscription_id, event_id, status, next_attempt_at)
                     VALUES ('s', 1, 'delivered', '2020'), ('s', 2, 'pending', '2020')",
        )
        .await;
        // An old run with an old child; an old run whose child still runs; a new job.
        for (id, parent, ended) in [
            ("run1", "NULL", format!("'{OLD}'")),
            ("child1", "'run1'", format!("'{OLD}'")),
            ("run2", "NULL", format!("'{OLD}'")),
            ("child2", "'run2'", "NULL".to_string()),
            ("fresh", "NULL", format!("'{NEW}'")),
        ] {
            run(&store, &format!(
                "INSERT INTO jobs (id, kind, status, correlation_id, created_at, ended_at, parent_id)
                 VALUES ('{id}', 'host_upgrade', 'succeeded', 'c', '{OLD}', {ended}, {parent})"
            ))
            .await;
            run(
                &store,
                &format!(
                    "INSERT INTO job_steps (job_id, phase, status, started_at)
                 VALUES ('{id}', 'p', 'succeeded', '{OLD}')"
                ),
            )
            .await;
        }
        run(
            &store,
            &format!(
                "INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at)
             VALUES ('old', 'u', '{OLD}', '{OLD}'), ('new', 'u', '{OLD}', '{NEW}')"
            ),
        )
        .await;

        let now = "2026-11-29T00:00:00.000Z".to_string();
        let cutoffs = Cutoffs {
            events: now.clone(),
            jobs: now.clone(),
            deliveries: now.clone(),
            tokens: now,
        };
        let pruned = store.prune(&cutoffs).await.unwrap();
        assert_eq!(
            pruned,
            Pruned {
                events: 1,
                jobs: 2,
                deliveries: 1,
                tokens: 1
            }
        );
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM jobs ORDER BY id")
            .fetch_all(&store.pool)
            .await
            .unwrap();
        assert_eq!(ids, ["child2", "fresh", "run2"]);
        assert_eq!(count(&store, "job_steps").await, 3);
        assert_eq!(
            count(&store, "events").await,
            2,
            "the pending delivery keeps its event"
        );
        assert_eq!(count(&store, "deliveries").await, 1);
        assert_eq!(count(&store, "api_tokens").await, 1);
        // A second prune finds nothing more.
        assert_eq!(store.prune(&cutoffs).await.unwrap().total(), 0);
    }
}
