//! `/model` text matched under OpenClaw 2026.9.6's rules (`resolveModelDirectiveSelection`).

use crate::config::Config;

use super::models::{Catalogue, ModelMatch, builtin_alias, found, normalise_ref, split_ref};

/// [`super::models::match_model`] under OpenClaw 2026.9.6's rules (`resolveModelDirectiveSelection`): an alias
/// (configured, or a built-in one active for this config); a listed or explicit `provider/model`; then
/// OpenClaw's fuzzy match (within the typed provider first); then the text taken as typed (a bare id
/// is of the default model's provider) when it may be selected.
pub fn match_model_2026_9(
    raw: &str,
    catalogue: &Catalogue,
    config: &Config,
    default_ref: &str,
) -> ModelMatch {
    if let Some((alias, r)) = config.aliases().find(|(a, _)| a.eq_ignore_ascii_case(raw)) {
        return found(normalise_ref(r), Some(alias.to_owned()));
    }
    if let Some((alias, r)) = builtin_alias(raw, config, catalogue) {
        return found(r.to_owned(), Some(alias.to_owned()));
    }
    let default_provider = split_ref(default_ref).map_or("anthropic".to_owned(), |(p, _)| p.to_string());
    let explicit = raw.contains('/');
    let typed_ref = if explicit { normalise_ref(raw) } else { format!("{default_provider}/{raw}") };
    // The provider's short names (`opus` for anthropic), as OpenClaw's plugins normalise them.
    let model_ref = match split_ref(&typed_ref) {
        Some((p, m)) => match super::model_ids::normalised(p.as_str(), m) {
            Some(id) => format!("{p}/{id}"),
            None => typed_ref.clone(),
        },
        None => typed_ref.clone(),
    };
    let normalised = model_ref != typed_ref;
    let allowed = catalogue.allows(&model_ref);
    if allowed && (explicit || normalised || catalogue.refs().any(|r| *r == model_ref)) {
        return found(model_ref, None);
    }
    let in_provider = split_ref(&model_ref)
        .filter(|_| explicit)
        .and_then(|(p, m)| super::fuzzy::best_match(m, Some(p.as_str()), catalogue, default_ref));
    let hit = in_provider.or_else(|| super::fuzzy::best_match(raw, None, catalogue, default_ref));
    if let Some(hit) = hit {
        let alias = catalogue.aliases.get(&hit).and_then(|a| a.first()).cloned();
        return found(hit, alias);
    }
    if allowed {
        return found(model_ref, None);
    }
    ModelMatch::NotAllowed {
        model_ref,
        suggestion: None,
    }
}
