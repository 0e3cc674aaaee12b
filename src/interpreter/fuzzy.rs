//! OpenClaw 2026.9.6's fuzzy model match (`scoreFuzzyMatch` in its directive handling): the best
//! scored candidate among the selectable models and the aliases whose name contains the fragment,
//! when it scores at least 120 (90 within one provider). Used under OpenClaw 2026.9.6's rules, where a
//! `/model` text that is no alias and no listed model is matched this way before it is taken as typed.

use super::models::{Catalogue, split_ref};

/// Tokens that mark a variant of a model (a fragment without them prefers the plain model).
const VARIANT_TOKENS: [&str; 9] = [
    "lightning", "preview", "mini", "fast", "turbo", "lite", "beta", "small", "nano",
];

/// One scored candidate, with OpenClaw's tie-breakers.
struct Scored<'a> {
    score: i64,
    is_default: bool,
    variant_match_count: usize,
    variant_count: usize,
    model_length: usize,
    key: &'a str,
}

/// The best candidate for `fragment` (within `provider` when given), as `provider/model`.
pub fn best_match(
    fragment: &str,
    provider: Option<&str>,
    catalogue: &Catalogue,
    default_ref: &str,
) -> Option<String> {
    let fragment = fragment.trim().to_ascii_lowercase();
    if fragment.is_empty() {
        return None;
    }
    let mut candidates: Vec<&str> = catalogue
        .refs()
        .map(String::as_str)
        .filter(|r| !r.ends_with('*') && catalogue.allows(r))
        .filter(|r| provider.is_none_or(|p| split_ref(r).is_some_and(|(rp, _)| rp.as_str() == p)))
        .collect();
    if provider.is_none() {
        for (target, aliases) in &catalogue.aliases {
            let named = aliases.iter().any(|a| a.to_ascii_lowercase().contains(&fragment));
            if named && catalogue.allows(target) && !candidates.contains(&target.as_str()) {
                candidates.push(target);
            }
        }
    }
    let best = candidates
        .into_iter()
        .map(|key| score(key, &fragment, catalogue, default_ref))
        .min_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then(b.is_default.cmp(&a.is_default))
                .then(b.variant_match_count.cmp(&a.variant_match_count))
                .then(a.variant_count.cmp(&b.variant_count))
                .then(a.model_length.cmp(&b.model_length))
                .then(a.key.cmp(b.key))
        })?;
    let min = if provider.is_some() { 90 } else { 120 };
    (best.score >= min).then(|| best.key.to_owned())
}

/// OpenClaw's score of `key` for `fragment` (lower-case).
fn score<'a>(key: &'a str, fragment: &str, catalogue: &Catalogue, default_ref: &str) -> Scored<'a> {
    let (provider, model) = key.split_once('/').unwrap_or(("", key));
    let (provider, model) = (provider.to_ascii_lowercase(), model.to_ascii_lowercase());
    let part = |value: &str, exact: i64, starts: i64, includes: i64| {
        if value == fragment {
            exact
        } else if value.starts_with(fragment) {
            starts
        } else if value.contains(fragment) {
            includes
        } else {
            0
        }
    };
    let mut s = part(&format!("{provider}/{model}"), 220, 140, 110)
        + part(&provider, 180, 120, 90)
        + part(&model, 160, 110, 80);
    if let Some(d) = bounded_distance(fragment, &model, 3) {
        s += (3 - d as i64) * 70;
    }
    for alias in catalogue.aliases.get(key).into_iter().flatten() {
        s += part(&alias.to_ascii_lowercase(), 140, 90, 60);
    }
    if model.starts_with(&provider) {
        s += 30;
    }
    let fragment_variants = VARIANT_TOKENS.iter().filter(|t| fragment.contains(*t)).count();
    let variant_count = VARIANT_TOKENS.iter().filter(|t| model.contains(*t)).count();
    let variant_match_count = VARIANT_TOKENS
        .iter()
        .filter(|t| fragment.contains(*t) && model.contains(*t))
        .count();
    if fragment_variants == 0 && variant_count > 0 {
        s -= variant_count as i64 * 30;
    } else if fragment_variants > 0 {
        s += variant_match_count as i64 * 40;
        if variant_match_count == 0 {
            s -= 20;
        }
    }
    let is_default = key == default_ref;
    if is_default {
        s += 20;
    }
    Scored {
        score: s,
        is_default,
        variant_match_count,
        variant_count,
        model_length: model.chars().count(),
        key,
    }
}

/// The edit distance of `a` and `b` when it is at most `max` (OpenClaw's bounded Levenshtein).
fn bounded_distance(a: &str, b: &str, max: usize) -> Option<usize> {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let d = super::models::edit_distance(&a.iter().collect::<String>(), &b.iter().collect::<String>());
    (d <= max).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue(refs: &[&str]) -> Catalogue {
        let mut c = Catalogue::default();
        for r in refs {
            let (p, _) = r.split_once('/').unwrap();
            c.by_provider.entry(p.to_owned()).or_default().insert((*r).to_owned());
            c.known_providers.insert(p.to_owned());
        }
        c
    }

    #[test]
    fn openclaws_tie_breakers() {
        let c = catalogue(&["anthropic/claude-sonnet-4-5", "anthropic/claude-sonnet-5", "openai/gpt-5.4-mini", "openai/gpt-5.4"]);
        // Equal scores: the shorter model id wins.
        assert_eq!(best_match("sonnet", None, &c, "anthropic/claude-opus-4-6").as_deref(), Some("anthropic/claude-sonnet-5"));
        // A fragment without a variant token prefers the plain model; with one, the variant.
        assert_eq!(best_match("gpt-5.4", None, &c, "x/y").as_deref(), Some("openai/gpt-5.4"));
        assert_eq!(best_match("gpt mini", None, &c, "x/y"), None);
        assert_eq!(best_match("5.4-mini", None, &c, "x/y").as_deref(), Some("openai/gpt-5.4-mini"));
        assert_eq!(best_match("zzz", None, &c, "x/y"), None);
    }
}
