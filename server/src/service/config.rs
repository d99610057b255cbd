//! Configuration values: read by anyone signed in, changed by admins and the CLI, always
//! validated first, every change an event. The running server reads values from the database
//! when it needs them, so a change made by the CLI takes effect without a restart.

use app::api::{ConfigEntry, Severity};

use super::{Actor, Service, ServiceError, ServiceResult};
use crate::domain::config::{definition, ConfigError, Definition, DEFINITIONS};

impl From<ConfigError> for ServiceError {
    fn from(error: ConfigError) -> Self {
        match error {
            ConfigError::Unknown(_) => ServiceError::NotFound(error.to_string()),
            ConfigError::Invalid { .. } => {
                ServiceError::invalid("invalid_config_value", error.to_string())
            }
            ConfigError::NotMergeable(_) => {
                ServiceError::invalid("not_mergeable", error.to_string())
            }
        }
    }
}

fn entry(definition: &Definition, stored: Option<String>) -> ConfigEntry {
    ConfigEntry {
        name: definition.name.to_string(),
        value: stored.unwrap_or_else(|| definition.default.to_string()),
        default: definition.default.to_string(),
        description: definition.meaning.to_string(),
    }
}

/// How often a merge retries when another writer changed the value in between.
const MERGE_ATTEMPTS: usize = 8;

impl Service {
    pub async fn config_list(&self) -> ServiceResult<Vec<ConfigEntry>> {
        let mut stored = self.store().config_values().await?;
        Ok(DEFINITIONS
            .iter()
            .map(|d| entry(d, stored.remove(d.name)))
            .collect())
    }

    pub async fn config_get(&self, name: &str) -> ServiceResult<ConfigEntry> {
        let definition = definition(name)?;
        Ok(entry(definition, self.store().config_value(name).await?))
    }

    /// The current value of a setting as text (its default when never set).
    pub async fn config_text(&self, name: &str) -> ServiceResult<String> {
        Ok(self.config_get(name).await?.value)
    }

    /// The current value of a numeric setting.
    pub async fn config_number(&self, name: &str) -> ServiceResult<u64> {
        let text = self.config_text(name).await?;
        text.parse().map_err(|_| {
            ServiceError::Internal(format!("stored value of {name} is not a number: {text:?}"))
        })
    }

    pub async fn config_set(
        &self,
        actor: Actor<'_>,
        name: &str,
        value: &str,
    ) -> ServiceResult<ConfigEntry> {
        actor.require_admin()?;
        let definition = definition(name)?;
        let value = definition.normalize(value)?;
        self.write_config(actor, definition, |_| Ok(value.clone()))
            .await
    }

    /// Adds comma-separated items to a list value, without duplicates.
    pub async fn config_merge(
        &self,
        actor: Actor<'_>,
        name: &str,
        items: &str,
    ) -> ServiceResult<ConfigEntry> {
        actor.require_admin()?;
        let definition = definition(name)?;
        definition.merge("", items)?; // refuse bad items before touching anything
        self.write_config(actor, definition, |current| {
            Ok(definition.merge(current, items)?)
        })
        .await
    }

    /// Compare-and-set loop shared by set and merge; writes an event when the value changed.
    async fn write_config(
        &self,
        actor: Actor<'_>,
        definition: &'static Definition,
        next: impl Fn(&str) -> ServiceResult<String>,
    ) -> ServiceResult<ConfigEntry> {
        for _ in 0..MERGE_ATTEMPTS {
            let stored = self.store().config_value(definition.name).await?;
            let current = stored
                .clone()
                .unwrap_or_else(|| definition.default.to_string());
            let value = next(&current)?;
            if value == current {
                return Ok(entry(definition, Some(value)));
            }
            if self
                .store()
                .replace_config(definition.name, stored.as_deref(), &value, &actor.name())
                .await?
            {
                self.record(
                    "config_changed",
                    Severity::Normal,
                    format!(
                        "{} was changed from {current:?} to {value:?}.",
                        definition.name
                    ),
                    Some(&actor.name()),
                )
                .await?;
                return Ok(entry(definition, Some(value)));
            }
        }
        Err(ServiceError::Conflict(format!(
            "{} kept changing while it was being written; try again.",
            definition.name
        )))
    }
}
