//! Which providers an agent knows, and the did-you-mean for a provider id that matches none of them.

use std::collections::BTreeSet;

use super::agent::{Agent, AgentError};
use crate::interpreter::models::edit_distance;
use crate::oauth;

impl Agent {
    /// The providers this agent knows: the well-known ones, the OAuth providers, and every provider of
    /// its stored profiles and of config (`auth.profiles`, `auth.order`, models).
    pub fn known_providers(&self) -> Result<BTreeSet<String>, AgentError> {
        let mut known: BTreeSet<String> = crate::interpreter::models::WELL_KNOWN
            .iter()
            .chain(oauth::PROVIDERS.iter().map(|p| &p.id))
            .map(|p| (*p).to_owned())
            .collect();
        let store = self.store()?;
        known.extend(store.profiles.values().map(|p| p.provider.to_string()));
        let config = self.config()?;
        known.extend(
            config
                .auth_profiles
                .values()
                .map(|m| m.provider.to_string()),
        );
        known.extend(config.auth_order.keys().map(ToString::to_string));
        known.extend(config.providers.keys().map(ToString::to_string));
        known.extend(self.models(None)?.models.into_iter().map(|(p, _)| p));
        Ok(known)
    }

    /// For a provider id that matches nothing known, the known one it is probably a typo of
    /// (`anthropc` → `anthropic`); `None` when `provider` is known or nothing is close.
    pub fn provider_suggestion(&self, provider: &str) -> Result<Option<String>, AgentError> {
        let known = self.known_providers()?;
        if known.contains(provider) || provider.len() < 4 {
            return Ok(None);
        }
        Ok(known
            .into_iter()
            .map(|k| (edit_distance(provider, &k), k))
            .filter(|(d, _)| *d <= 2)
            .min()
            .map(|(_, k)| k))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(
            crate::interpreter::models::edit_distance("anthropc", "anthropic"),
            1
        );
        assert_eq!(
            crate::interpreter::models::edit_distance("antropic", "anthropic"),
            1
        );
        assert_eq!(
            crate::interpreter::models::edit_distance("openia", "openai"),
            2
        );
        assert_eq!(
            crate::interpreter::models::edit_distance("fireworks", "mistral"),
            7
        );
    }
}
