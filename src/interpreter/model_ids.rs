//! OpenClaw 2026.9.6's per-provider model-id normalisation, copied as data from its bundled plugins'
//! manifests (`modelIdNormalization.providers.<p>.aliases`): under its rules a typed id such as `opus`
//! (for anthropic) names `claude-opus-5`.

/// OpenClaw 2026.9.6's per-provider model-id normalisation (`modelIdNormalization` in its bundled
/// plugins' manifests): `(provider, typed id, model id)`.
pub const MODEL_ID_ALIASES: [(&str, &str, &str); 41] = [
    ("anthropic", "fable", "claude-fable-5-1"),
    ("anthropic", "fable-5", "claude-fable-5"),
    ("anthropic", "fable-5-1", "claude-fable-5-1"),
    ("anthropic", "fable-5.1", "claude-fable-5-1"),
    ("anthropic", "haiku", "claude-haiku-4-5"),
    ("anthropic", "mythos-5", "claude-mythos-5"),
    ("anthropic", "opus", "claude-opus-5"),
    ("anthropic", "opus-4.6", "claude-opus-4-6"),
    ("anthropic", "opus-4.7", "claude-opus-4-7"),
    ("anthropic", "opus-4.8", "claude-opus-4-8"),
    ("anthropic", "opus-5", "claude-opus-5"),
    ("anthropic", "opus-5-5", "claude-opus-5-5"),
    ("anthropic", "opus-5.5", "claude-opus-5-5"),
    ("anthropic", "sonnet", "claude-sonnet-5"),
    ("anthropic", "sonnet-4.6", "claude-sonnet-4-6"),
    ("anthropic", "sonnet-5", "claude-sonnet-5"),
    ("google", "gemini-3-flash", "gemini-3-flash-preview"),
    ("google", "gemini-3-pro", "gemini-3.1-pro-preview"),
    ("google", "gemini-3-pro-preview", "gemini-3.1-pro-preview"),
    ("google", "gemini-3.1-flash", "gemini-3-flash-preview"),
    ("google", "gemini-3.1-flash-lite-preview", "gemini-3.1-flash-lite"),
    ("google", "gemini-3.1-flash-preview", "gemini-3-flash-preview"),
    ("google", "gemini-3.1-pro", "gemini-3.1-pro-preview"),
    ("google-gemini-cli", "gemini-3-flash", "gemini-3-flash-preview"),
    ("google-gemini-cli", "gemini-3-pro", "gemini-3.1-pro-preview"),
    ("google-gemini-cli", "gemini-3-pro-preview", "gemini-3.1-pro-preview"),
    ("google-gemini-cli", "gemini-3.1-flash", "gemini-3-flash-preview"),
    ("google-gemini-cli", "gemini-3.1-flash-lite-preview", "gemini-3.1-flash-lite"),
    ("google-gemini-cli", "gemini-3.1-flash-preview", "gemini-3-flash-preview"),
    ("google-gemini-cli", "gemini-3.1-pro", "gemini-3.1-pro-preview"),
    ("google-vertex", "gemini-3-flash", "gemini-3-flash-preview"),
    ("google-vertex", "gemini-3-pro", "gemini-3.1-pro-preview"),
    ("google-vertex", "gemini-3-pro-preview", "gemini-3.1-pro-preview"),
    ("google-vertex", "gemini-3.1-flash", "gemini-3-flash-preview"),
    ("google-vertex", "gemini-3.1-flash-lite-preview", "gemini-3.1-flash-lite"),
    ("google-vertex", "gemini-3.1-flash-preview", "gemini-3-flash-preview"),
    ("google-vertex", "gemini-3.1-pro", "gemini-3.1-pro-preview"),
    ("xai", "grok-4.3-latest", "grok-4.3"),
    ("xai", "grok-4.5-latest", "grok-4.5"),
    ("xai", "grok-4.7-latest", "grok-4.7"),
    ("xai", "grok-build-latest", "grok-4.5"),
];

/// The model id `model` names for `provider` under OpenClaw 2026.9.6's normalisation, if it is one of
/// its short names (case-insensitive).
pub fn normalised(provider: &str, model: &str) -> Option<&'static str> {
    MODEL_ID_ALIASES
        .iter()
        .find(|(p, typed, _)| *p == provider && typed.eq_ignore_ascii_case(model))
        .map(|(_, _, id)| *id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_names_per_provider() {
        assert_eq!(super::normalised("anthropic", "Opus"), Some("claude-opus-5"));
        assert_eq!(super::normalised("google", "gemini-3-pro"), Some("gemini-3.1-pro-preview"));
        assert_eq!(super::normalised("openai", "opus"), None);
    }
}
