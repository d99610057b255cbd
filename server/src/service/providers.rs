//! Content providers (issue 21, seed 001 steps 2–5): registering, testing, changing and
//! removing them (admins only; every change an event with its user, never with the
//! password), and linking a host to its content host there.
//!
//! Not here: talking to a provider (`content`), errata and their install flow (`errata`).

use std::collections::HashMap;

use app::api::{
    Host, HostContent, HostContentLink, Provider, ProviderInput, ProviderKind, ProviderTest, Ref,
    Severity,
};

use super::{Actor, Service, ServiceError, ServiceResult};
use crate::content::{self, ContentHost, ContentProvider, ProviderError};
use crate::store::{ContentLink, NewEvent, ProviderRow, ProviderWrite, Written};

/// The longest provider name.
const MAX_NAME: usize = 100;

impl From<ProviderError> for ServiceError {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::NotFound(words) => ServiceError::NotFound(words),
            other => ServiceError::Provider(other.to_string()),
        }
    }
}

/// A provider's input, checked: a name, and for Foreman an http(s) URL and a user.
fn validate(input: &ProviderInput, creating: bool) -> ServiceResult<()> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(ServiceError::invalid(
            "invalid_name",
            format!("A provider needs a name of 1 to {MAX_NAME} characters."),
        ));
    }
    if !input.url.is_empty() || input.kind == ProviderKind::Foreman {
        let url = url::Url::parse(&input.url).map_err(|e| {
            ServiceError::invalid(
                "invalid_url",
                format!("The provider's URL {:?} is not a URL: {e}.", input.url),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ServiceError::invalid(
                "invalid_url",
                format!(
                    "The provider's URL must be http:// or https:// with a host, not {:?}.",
                    input.url
                ),
            ));
        }
    }
    if input.kind == ProviderKind::Foreman {
        if input.username.trim().is_empty() {
            return Err(ServiceError::invalid(
                "invalid_username",
                "A Foreman/Katello provider needs a user name.",
            ));
        }
        let password = input.password.as_deref().unwrap_or("");
        if (creating && password.is_empty()) || input.password.as_deref() == Some("") {
            return Err(ServiceError::invalid(
                "invalid_password",
                "A Foreman/Katello provider needs a password or personal access token.",
            ));
        }
    }
    Ok(())
}

fn provider_view(row: ProviderRow, hosts: &HashMap<String, i64>) -> ServiceResult<Provider> {
    let kind = ProviderKind::parse(&row.kind).ok_or_else(|| {
        ServiceError::Internal(format!(
            "provider {} has an unknown kind {}",
            row.id, row.kind
        ))
    })?;
    Ok(Provider {
        hosts: u32::try_from(hosts.get(&row.id).copied().unwrap_or(0)).unwrap_or(u32::MAX),
        has_password: !row.password.is_empty(),
        id: row.id,
        name: row.name,
        kind,
        url: row.url,
        username: row.username,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

impl Service {
    pub async fn providers(&self) -> ServiceResult<Vec<Provider>> {
        let hosts: HashMap<_, _> = self
            .store()
            .provider_host_counts()
            .await?
            .into_iter()
            .collect();
        self.store()
            .providers()
            .await?
            .into_iter()
            .map(|row| provider_view(row, &hosts))
            .collect()
    }

    async fn provider_row(&self, id: &str) -> ServiceResult<ProviderRow> {
        self.store()
            .provider(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("There is no provider with id {id}.")))
    }

    async fn provider_by_id(&self, id: &str) -> ServiceResult<Provider> {
        self.providers()
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| ServiceError::NotFound(format!("There is no provider with id {id}.")))
    }

    /// The client of a stored provider.
    pub(super) fn provider_client(
        &self,
        row: &ProviderRow,
    ) -> ServiceResult<Box<dyn ContentProvider>> {
        Ok(content::client(row, self.store())?)
    }

    async fn provider_event(
        &self,
        actor: &Actor<'_>,
        code: &'static str,
        message: String,
    ) -> ServiceResult<()> {
        let user = actor.name();
        self.emit(NewEvent::new(code, Severity::Normal, message).user(Some(&user)))
            .await
    }

    /// `POST /api/providers`.
    pub async fn add_provider(
        &self,
        actor: Actor<'_>,
        input: ProviderInput,
    ) -> ServiceResult<Provider> {
        actor.require_admin()?;
        validate(&input, true)?;
        let write = ProviderWrite {
            name: input.name.trim(),
            kind: input.kind.as_str(),
            url: &input.url,
            username: input.username.trim(),
            password: input.password.as_deref(),
        };
        let id = match self.store().add_provider(&write).await? {
            Written::Done(id) => id,
            _ => return Err(name_taken(&input.name)),
        };
        self.provider_event(
            &actor,
            "provider_added",
            format!(
                "Content provider {} ({}) was added.",
                write.name,
                input.kind.label()
            ),
        )
        .await?;
        self.provider_by_id(&id).await
    }

    /// `PUT /api/providers/{id}`: no password keeps the stored one.
    pub async fn update_provider(
        &self,
        actor: Actor<'_>,
        id: &str,
        input: ProviderInput,
    ) -> ServiceResult<Provider> {
        actor.require_admin()?;
        let before = self.provider_row(id).await?;
        validate(&input, before.password.is_empty())?;
        let write = ProviderWrite {
            name: input.name.trim(),
            kind: input.kind.as_str(),
            url: &input.url,
            username: input.username.trim(),
            password: input.password.as_deref(),
        };
        match self.store().update_provider(id, &write).await? {
            Written::Done(_) => {}
            Written::NameTaken => return Err(name_taken(&input.name)),
            Written::Missing => {
                return Err(ServiceError::NotFound(format!(
                    "There is no provider with id {id}."
                )))
            }
        }
        let password = if input.password.is_some() {
            "; its password was replaced"
        } else {
            ""
        };
        self.provider_event(
            &actor,
            "provider_changed",
            format!("Content provider {} was changed{password}.", write.name),
        )
        .await?;
        self.provider_by_id(id).await
    }

    /// `DELETE /api/providers/{id}`: its hosts lose their link.
    pub async fn delete_provider(&self, actor: Actor<'_>, id: &str) -> ServiceResult<()> {
        actor.require_admin()?;
        let row = self.provider_row(id).await?;
        if !self.store().delete_provider(id).await? {
            return Err(ServiceError::NotFound(format!(
                "There is no provider with id {id}."
            )));
        }
        self.provider_event(
            &actor,
            "provider_removed",
            format!(
                "Content provider {} was removed; its hosts are no longer linked to it.",
                row.name
            ),
        )
        .await
    }

    /// `POST /api/providers/{id}/test`: whether it answers and accepts its credentials.
    pub async fn test_provider(&self, actor: Actor<'_>, id: &str) -> ServiceResult<ProviderTest> {
        actor.require_admin()?;
        let row = self.provider_row(id).await?;
        let outcome = match self.provider_client(&row) {
            Ok(client) => client.test().await.map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        Ok(match outcome {
            Ok(message) => ProviderTest { ok: true, message },
            Err(message) => ProviderTest { ok: false, message },
        })
    }

    /// A host's link and what its provider says of it (`GET /api/hosts/{id}/content`).
    pub async fn host_content(&self, host_id: &str) -> ServiceResult<HostContent> {
        let host = self.host_by_id(host_id).await?;
        let Some(link) = self.store().content_link(&host.id).await? else {
            return Ok(HostContent {
                reason: Some(format!(
                    "Host {} is not linked to a content provider.",
                    host.name
                )),
                ..HostContent::default()
            });
        };
        let row = self.provider_row(&link.provider_id).await?;
        let provider = Some(Ref {
            id: row.id.clone(),
            name: row.name.clone(),
        });
        let found = match self.provider_client(&row) {
            Ok(client) => self.find_content_host(client.as_ref(), &host, &link).await,
            Err(error) => Err(error),
        };
        Ok(match found {
            Ok(content_host) => HostContent {
                provider,
                content_host: Some(content_host.id),
                can_install: content_host.cannot_install.is_none(),
                reason: content_host.cannot_install,
            },
            Err(error) => HostContent {
                provider,
                content_host: link.content_host,
                can_install: false,
                reason: Some(format!("{}: {error}", row.name)),
            },
        })
    }

    /// The host's content host: by its stored id, else by the host's name.
    pub(super) async fn find_content_host(
        &self,
        client: &dyn ContentProvider,
        host: &Host,
        link: &ContentLink,
    ) -> ServiceResult<ContentHost> {
        Ok(match &link.content_host {
            Some(id) => client.content_host(id).await?,
            None => client.find_host(&host.name).await?,
        })
    }

    /// `PUT /api/hosts/{id}/content`: links the host to a provider's content host (checked
    /// with the provider, found by the host's name when no id is given), or unlinks it.
    pub async fn link_host_content(
        &self,
        actor: Actor<'_>,
        host_id: &str,
        request: HostContentLink,
    ) -> ServiceResult<HostContent> {
        actor.require_admin()?;
        let host = self.host_by_id(host_id).await?;
        let Some(provider_id) = request.provider else {
            self.store().set_content_link(&host.id, None).await?;
            self.emit(
                self.host_event(&host, "host_content_unlinked", Severity::Normal)
                    .message(format!(
                        "Host {} is no longer linked to a content provider.",
                        host.name
                    ))
                    .user(Some(&actor.name())),
            )
            .await?;
            return self.host_content(&host.id).await;
        };
        let row = self.store().provider(&provider_id).await?.ok_or_else(|| {
            ServiceError::invalid(
                "invalid_provider",
                format!("There is no provider with id {provider_id}."),
            )
        })?;
        let client = self.provider_client(&row)?;
        let asked = ContentLink {
            provider_id: row.id.clone(),
            content_host: request.content_host.filter(|id| !id.trim().is_empty()),
        };
        let found = self
            .find_content_host(client.as_ref(), &host, &asked)
            .await?;
        let link = ContentLink {
            provider_id: row.id.clone(),
            content_host: Some(found.id.clone()),
        };
        if !self.store().set_content_link(&host.id, Some(&link)).await? {
            return Err(ServiceError::Conflict(format!(
                "Provider {} was removed meanwhile; nothing was linked.",
                row.name
            )));
        }
        self.emit(
            self.host_event(&host, "host_content_linked", Severity::Normal)
                .message(format!(
                    "Host {} is linked to content host {} ({}) of provider {}.",
                    host.name, found.name, found.id, row.name
                ))
                .user(Some(&actor.name())),
        )
        .await?;
        // Counted now, so the clusters list shows the host's security errata at once (best
        // effort: the link stands even if the list cannot be read yet).
        let _ = self
            .host_errata(&host.id, &crate::domain::errata::ErrataFilter::default())
            .await;
        self.host_content(&host.id).await
    }
}

fn name_taken(name: &str) -> ServiceError {
    ServiceError::Conflict(format!("A provider named {} exists already.", name.trim()))
}
